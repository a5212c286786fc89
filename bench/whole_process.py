"""`python -m bench.whole_process COMMAND...`: run COMMAND as a child of this small process, as /usr/bin/time does,
and print its wall time and peak RSS on a last line `whole_process: {"seconds": ..., "peak_rss_bytes": ...,
"exit_code": ...}` (COMMAND's own output passes through before it).

The peak is the child's ru_maxrss from os.wait4. It is taken here, not in the benchmark's own process, because
a child's ru_maxrss starts from the memory of the process it was spawned from: Linux keeps the high-water mark
of the address space a process had before exec (a fork's copy of its parent, or under vfork the parent's own),
so a child of the benchmark, which holds the definitions and DuckDB's buffers, would report at least those.
getrusage(RUSAGE_CHILDREN) has the same floor, and is the largest of every child ever waited for besides. This
process imports only the standard library (~10 MB), far below what is measured.
"""

import json
import os
import sys
import time

MARKER = "whole_process: "


def main(command: list[str]) -> None:
    began = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - began
    result = {
        "seconds": seconds,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # kB on Linux
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    print(MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
