"""The code location `data_platform` (workspace.yaml, `dg`, the code server): the definitions built from the
settings of the process that loads it. pipeline/code_location.py builds them; any other configuration is
`build_definitions(Settings.from_env(environ))`."""

from pipeline.code_location import build_definitions
from pipeline.lib.settings import Settings

defs = build_definitions(Settings.from_env())
