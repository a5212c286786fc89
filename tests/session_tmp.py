"""Each pytest session's own temporary root, so two sessions on one machine never share or clean up each other's.

pytest's default root is /tmp/pytest-of-<user>/pytest-N: one folder for every session of the user, which each
new session tidies (it keeps the last `tmp_path_retention_count` and resets the folder's permissions), while the
sessions' servers (Postgres, run as the `postgres` user when the suite runs as root) live inside it. Here a
session given no --basetemp gets a fresh folder of its own under the system's temporary directory instead, and
at its end it is removed or kept exactly as pytest's `tmp_path_retention_policy` says for its own root: "none"
removes it, "failed" removes it after a session that passed, "all" keeps it. A kept root is named in the
summary. tests/conftest.py calls these from its hooks.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

PREFIX = "pytest-session-"
_OWN_ROOT = pytest.StashKey[Path]()
_KEEP = pytest.StashKey[bool]()


def give_own_root(config: pytest.Config) -> None:
    """Unless --basetemp was given, point it at a new folder of this session's (before pytest reads it)."""
    if config.option.basetemp is None:
        root = Path(tempfile.mkdtemp(prefix=PREFIX))
        config.option.basetemp = str(root)
        config.stash[_OWN_ROOT] = root


def decide(session: pytest.Session, exitstatus: int) -> None:
    """Whether the session's own root stays, as pytest decides for its default root (tmpdir.py's sessionfinish)."""
    config = session.config
    if _OWN_ROOT in config.stash:
        policy = config.getini("tmp_path_retention_policy")
        config.stash[_KEEP] = policy == "all" or (policy == "failed" and exitstatus != 0)


def summary(terminalreporter, config: pytest.Config) -> None:
    """Name the root when it is kept, so a failure's files can be found."""
    if config.stash.get(_KEEP, False):
        terminalreporter.write_sep("-", f"this session's temporary files are kept in {config.stash[_OWN_ROOT]}")


def clean_up(config: pytest.Config) -> None:
    """Remove the session's own root unless it is kept (a session that never ran, `--help`, leaves it empty)."""
    root = config.stash.get(_OWN_ROOT, None)
    if root is not None and not config.stash.get(_KEEP, False):
        shutil.rmtree(root, ignore_errors=True)  # what pytest does with its own: best effort
