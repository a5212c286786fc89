"""A warm dbt: one process that has imported dbt forks a child for each dbt command.

dagster-dbt runs every dbt command as a new process (DbtCliResource has no in-process mode). A new dbt
process spends ~1.5 s importing dbt (mashumaro compiling its dataclasses; `python -X importtime`) and
~0.4 s freeing it all at exit, while a daily run's models and tests take ~0.8 s: most of the run
(benchmark figure 3). Here dbt is imported once, by a server; each command runs in a fork of it, so it
starts with dbt already imported and ends without tearing it down. A fork of a process that has only
imported dbt carries no state from one command to the next, unlike dbt's in-process `dbtRunner`.

Run as a script (the client must import nothing but the standard library), in two halves:

- `serve SOCKET`: listens on a Unix socket in a private folder, imports dbt, then for each connection
  forks a child that takes the client's stdin/stdout/stderr (passed over the socket), environment,
  working directory and arguments, and runs dbt's CLI exactly as the `dbt` executable would. It ends
  when its owner ends: its stdin is a pipe from the owner (`ensure_running`, called by pipeline/lib/dbt/cli.py
  when a process runs its first dbt command, so the later ones and its step processes use it).
- `run [NAME=VALUE ...] -- ARGS...`: what dagster-dbt starts instead of `dbt` (client_command()), with the
  variables dbt reads for this command (the platform's resolved settings, the partition window), which the
  definitions hold as values and never put in their own process's environment. Sends the request, passes
  SIGINT/SIGTERM on to dbt's process (a run being stopped), and exits with dbt's status. With no server
  (none started, gone, or it failed before starting dbt) it becomes the real dbt instead (exec): the
  result is the same either way, only slower.

Interpreter options given by PYTHON* variables are the server's, not the command's; everything dbt reads
(its flags, DBT_* and profile variables, the partition window) comes from the command's environment.
"""

import atexit
import gc
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

SOCKET_VARIABLE = "DBT_WARM_SOCKET"  # the server's socket, for every process below its owner
# The dbt of this environment, beside this Python (whether or not the virtualenv is on PATH). Defined
# here, where the client needs it without importing the package, and used from here everywhere else.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# -I: the client ignores PYTHONPATH and the script's folder (pipeline/ must not shadow the standard library).
SCRIPT = ["-I", str(Path(__file__).resolve())]
# The server's grace after a client vanished (its run worker killed) before dbt's process ends itself.
_ORPHAN_GRACE_SECONDS = 10.0
_INT = struct.Struct("!i")  # the request's length; then the child's pid, then dbt's exit status
_server: subprocess.Popen | None = None


def client_command(variables: dict[str, str]) -> list[str]:
    """What follows Python (sys.executable) in the command dagster-dbt runs as dbt: [dbt_executable,
    *global_config_flags, *args]; the variables are set in dbt's environment, over the inherited ones."""
    return [*SCRIPT, "run", *(f"{name}={value}" for name, value in sorted(variables.items())), "--"]


def ensure_running() -> None:
    """This process and its children run dbt through a warm dbt: one inherited from a parent, else one started here."""
    global _server
    if os.environ.get(SOCKET_VARIABLE) and (_server is None or _server.poll() is None):
        return
    _server, os.environ[SOCKET_VARIABLE] = start_server()


def start_server() -> tuple[subprocess.Popen, str]:
    """A server owned by this process, and its socket's path, once bound (or after 5 s without)."""
    path = os.path.join(tempfile.mkdtemp(prefix="dbt-warm-"), "socket")  # mode 0700: this user only
    server = subprocess.Popen(
        [sys.executable, *SCRIPT, "serve", path], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 5
    while not os.path.exists(path) and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # bound before dbt is imported: commands queue until it is
    return server, path


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the other end closed the connection")
        data += chunk
    return data


# --- the client: what dagster-dbt runs as dbt --------------------------------------------------------


def _become_dbt(args: list[str], env: dict[str, str]) -> NoReturn:
    os.execve(DBT_EXECUTABLE, [DBT_EXECUTABLE, *args], env)


def run(argv: list[str]) -> int:
    split = argv.index("--")
    env = {**os.environ, **dict(pair.split("=", 1) for pair in argv[:split])}
    args = argv[split + 1 :]
    path = env.get(SOCKET_VARIABLE)
    if not path:
        _become_dbt(args, env)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0)
    os.umask(mask)
    request = json.dumps({"args": args, "env": env, "cwd": os.getcwd(), "umask": mask}).encode()
    try:
        conn.connect(path)
        socket.send_fds(conn, [_INT.pack(len(request))], [0, 1, 2])
        conn.sendall(request)
        (pid,) = _INT.unpack(_read(conn, _INT.size))
    except (OSError, EOFError):  # no server, or it ended before starting dbt: nothing has run yet
        _become_dbt(args, env)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    try:
        (status,) = _INT.unpack(_read(conn, _INT.size))
    except (OSError, EOFError):
        print(f"dbt's process {pid} ended without an exit status (killed?)", file=sys.stderr)
        return 1
    return status


# --- the server ----------------------------------------------------------------------------------------


def serve(path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    gc.disable()  # ~0.2 s of collections while importing objects that all live until the end
    from dbt.cli.main import cli

    gc.enable()
    gc.freeze()  # nor do the children scan them again
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    owner = sys.stdin.fileno()
    try:
        while True:
            ready, _, _ = select.select([listener, owner], [], [])
            if owner in ready and not os.read(owner, 1024):
                return  # the owner ended
            if listener in ready:
                conn, _ = listener.accept()
                try:
                    if os.fork() == 0:
                        listener.close()
                        _child(conn, cli)
                except OSError as exc:  # out of processes or memory: this client runs the real dbt instead
                    print(f"warm dbt: cannot fork ({exc})", file=sys.stderr)
                conn.close()
    finally:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _child(conn: socket.socket, cli) -> None:
    """Runs one dbt command as the client's process would have, then ends; never returns."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        header, fds, _, _ = socket.recv_fds(conn, _INT.size, 3)
        request = json.loads(_read(conn, _INT.unpack(header)[0]))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", buffering=1 if unbuffered else -1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        sys.argv = ["dbt", *request["args"]]
        conn.sendall(_INT.pack(os.getpid()))
        finished = threading.Event()
        threading.Thread(target=_end_if_orphaned, args=(conn, finished), daemon=True).start()
        try:
            cli.main(args=request["args"], prog_name="dbt")  # standalone: ends in SystemExit
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finished.set()
        # What a normal exit runs (logging's flush, multiprocessing releasing dbt's semaphores, which its
        # resource tracker would otherwise report as leaked), without the interpreter's teardown.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(_INT.pack(status))
    finally:
        os._exit(status)


def _end_if_orphaned(conn: socket.socket, finished: threading.Event) -> None:
    """The client sends nothing more: its end closing means it is gone, so dbt stops as it would on Ctrl-C."""
    try:
        conn.recv(1)
    except OSError:
        pass
    if finished.is_set():
        return
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(_ORPHAN_GRACE_SECONDS)
    os._exit(1)


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "serve":
        serve(rest[0])
    else:
        sys.exit(run(rest))
