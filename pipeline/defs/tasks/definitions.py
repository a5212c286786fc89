"""Every task folder beside this file, built with the tasks' settings; a task's `{{ env.NAME }}` templates read
the platform's resolved settings (every pipeline's variables with their defaults, a sandbox's applied)."""

from pathlib import Path

from pipeline.lib.pipelines import Pipeline
from pipeline.lib.settings import Settings
from pipeline.lib.tasks.folder import task_folder_definitions
from pipeline.lib.tasks.settings import TasksSettings

SETTINGS = TasksSettings
FOLDER = Path(__file__).parent


def build(settings: Settings) -> Pipeline:
    return Pipeline(task_folder_definitions(FOLDER, TasksSettings.resolve(settings), settings.resolved_variables()))
