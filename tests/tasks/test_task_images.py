"""`python -m pipeline task-images --dry-run`: the docker commands that build and push every built task's image
under the tag the ECS engine runs (TASKS_IMAGE_REPOSITORY:<name>), for Fargate's platform. No Docker engine
here: the commands are printed, not run."""

from pipeline.lib.tasks.images import task_images_command
from tests.platform import task_variables, tasks_settings
from tests.tasks.test_container_tasks import GOOD, TASKS, make_task

REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dagster-tasks"


def test_the_shipped_tasks_images_are_built_and_pushed_under_the_ecs_tag(pipeline_env, monkeypatch, capsys):
    monkeypatch.setenv("TASKS_IMAGE_REPOSITORY", REPOSITORY)

    assert (
        task_images_command(TASKS, push=True, dry_run=True, settings=tasks_settings(), variables=task_variables()) == 0
    )

    assert capsys.readouterr().out.splitlines() == [
        f"docker build --platform linux/amd64 --tag {REPOSITORY}:lake_inventory {TASKS / 'lake_inventory'}",
        f"docker push {REPOSITORY}:lake_inventory",
        f"docker build --platform linux/amd64 --tag {REPOSITORY}:top_songs {TASKS / 'top_songs'}",
        f"docker push {REPOSITORY}:top_songs",
    ]


def test_no_image_is_built_for_a_broken_task_or_without_a_repository(tmp_path, pipeline_env, monkeypatch, capsys):
    make_task(
        tmp_path,
        "probe",
        "",
        yaml_text=GOOD.format(name="probe", command='["true"]').replace("image: busybox:1.36", "build: ."),
    )
    assert (
        task_images_command(tmp_path, push=False, dry_run=True, settings=tasks_settings(), variables=task_variables())
        == 1
    )
    assert "set TASKS_IMAGE_REPOSITORY to the repository its image is pushed to" in capsys.readouterr().err

    monkeypatch.setenv("TASKS_IMAGE_REPOSITORY", REPOSITORY)
    (tmp_path / "probe" / "iam_policy.json").write_text("{")
    assert (
        task_images_command(tmp_path, push=False, dry_run=True, settings=tasks_settings(), variables=task_variables())
        == 1
    )
    assert "task probe is broken: " in capsys.readouterr().err
