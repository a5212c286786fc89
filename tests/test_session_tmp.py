"""Two pytest sessions at once keep each other's temporary folders intact (tests/session_tmp.py).

Two real sessions of this suite's conftest run a tiny test each, which holds a file in its tmp_path. The
first holds it as the Postgres fixture holds its data directory: run as root, the file is the `postgres`
user's to read, through ancestors made traversable for it (tests/postgres_server.py does the same for its
server). It waits while the second session, a plain one, starts and ends, then reads its file again, as
itself and as `postgres`.
With pytest's shared root (/tmp/pytest-of-<user>), the second session's start takes that traversal away:
each session resets the shared folder's permissions to its owner's only. Both sessions use a temporary
directory of this test's own (TMPDIR), so nobody else's folders are touched either way. A passed session's
root is gone after it (tmp_path_retention_policy "failed").
"""

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60

TINY_TEST = """
import os
import pwd
import subprocess
import time
from pathlib import Path

from tests.postgres_server import make_parents_traversable

SIGNALS, ME = Path(os.environ["SESSION_TMP_SIGNALS"]), os.environ["SESSION_TMP_NAME"]
AS_POSTGRES = os.geteuid() == 0 and ME == "first"  # a server running as `postgres` reads it


def _wait_for(path):
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def test_a_file_in_tmp_path_outlives_the_other_session(tmp_path):
    held = tmp_path / "held"
    held.write_text(ME)
    if AS_POSTGRES:
        postgres = pwd.getpwnam("postgres")
        os.chown(held, postgres.pw_uid, postgres.pw_gid)
        make_parents_traversable(held, postgres)
    (SIGNALS / f"{ME}.started").write_text(str(tmp_path))
    _wait_for(SIGNALS / f"{ME}.go")
    assert held.read_text() == ME, f"{held} changed"
    if AS_POSTGRES:
        read = subprocess.run(["runuser", "-u", "postgres", "--", "cat", str(held)], capture_output=True, text=True)
        assert read.stdout == ME, f"the postgres user cannot read {held} any more: {read.stderr}"
"""


def _session(name: str, test_file: Path, signals: Path, temp: Path) -> subprocess.Popen:
    """A pytest session of this repository's configuration and conftest on the tiny test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(TMPDIR=str(temp), SESSION_TMP_SIGNALS=str(signals), SESSION_TMP_NAME=name)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
        + ["--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), str(test_file)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(path: Path, sessions: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not path.exists():
        for session in sessions:
            if session.poll() is not None:
                raise AssertionError(f"a session ended before {path.name}:\n{session.stdout.read()}")
        assert time.monotonic() < deadline, f"{path.name} did not appear in {TIMEOUT_S} s"
        time.sleep(0.05)


def test_two_sessions_at_once_leave_each_others_temporary_folders_alone(tmp_path):
    test_file, signals, temp = tmp_path / "tiny" / "test_tiny.py", tmp_path / "signals", tmp_path / "tmp"
    for folder in (test_file.parent, signals, temp):
        folder.mkdir()
    test_file.write_text(TINY_TEST)
    if os.geteuid() == 0:  # the sessions' own folders hand out traversal from here down
        os.chmod(tmp_path, 0o711)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise AssertionError("running as root needs the `postgres` user (tests/install_servers.sh)") from None

    first = _session("first", test_file, signals, temp)
    sessions = [first]
    try:
        _wait_for(signals / "first.started", sessions)
        second = _session("second", test_file, signals, temp)
        sessions.append(second)
        _wait_for(signals / "second.started", sessions)
        (signals / "second.go").touch()
        second_output, _ = second.communicate(timeout=TIMEOUT_S)
        (signals / "first.go").touch()
        first_output, _ = first.communicate(timeout=TIMEOUT_S)
    finally:
        for session in sessions:
            if session.poll() is None:
                session.kill()
                session.wait()

    assert second.returncode == 0, second_output
    assert first.returncode == 0, first_output
    roots = [Path((signals / f"{name}.started").read_text()).parent for name in ("first", "second")]
    assert roots[0] != roots[1], roots
    assert not [root for root in roots if root.exists()], f"a passed session's root was kept: {roots}"
