"""`campaign-analytics-dbt`: dbt, tied to the process that starts it.

dagster-dbt runs dbt as a child process. If the run is killed outright (`kill -9`), an ordinary
child lives on, holding the warehouse's DuckDB lock, and every later run fails on "Could not set
lock". This launcher asks the kernel to kill it when its parent dies (Linux `PR_SET_PDEATHSIG`,
kept across `exec`), then becomes the dbt installed beside it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def main() -> None:
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: dbt runs as an ordinary child
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(1)
    dbt = Path(sys.executable).parent / "dbt"
    os.execv(dbt, [str(dbt), *sys.argv[1:]])  # noqa: S606 - the dbt beside this Python


if __name__ == "__main__":
    main()
