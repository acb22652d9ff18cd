"""`campaign-analytics dev` (and `make dev`): the Dagster UI on the bundled sandbox.

Run history goes to the project's .dagster_home/, the warehouse, published copy and callbacks to
data/dev/: never the default paths, nor a real WAREHOUSE_PATH from .env (the environment given
to Dagster wins over .env). The code location has a fixed name (orchestration/workspace.yaml),
not the checkout folder's. Ctrl-C or SIGTERM stops Dagster and everything it started (its own
process group), then the sandbox: what a service manager expects.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from orchestration.sandbox.server import SandboxServer

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKSPACE = Path(__file__).resolve().parent / "workspace.yaml"
STOP_GRACE_SECONDS = 30  # Dagster's own shutdown takes a few; then it is killed


def run_dev(sandbox: SandboxServer, *, ui_port: int, home: Path, data: Path) -> int:
    """Serve the UI until interrupted; Dagster's exit code (0 after a clean stop)."""
    home, data = home.resolve(), data.resolve()
    home.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "dagster.yaml", home / "dagster.yaml")
    with sandbox:
        env = {**os.environ, **sandbox.environment(),
               "WAREHOUSE_PATH": str(data / "warehouse.duckdb"),
               "PUBLISHED_PATH": str(data / "published.duckdb"),
               "CALLBACK_LANDING_DIR": str(data / "callbacks"),
               "DAGSTER_HOME": str(home),
               # `dagster dev` is "superseded by dg dev", which is not installed: not the
               # user's to act on.
               "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded"}
        print(f"Sandbox API on {sandbox.url}; warehouse, published copy and callbacks in {data}; "
              f"run history in {home}.\nDagster UI on http://127.0.0.1:{ui_port} "
              "(Ctrl-C to stop) ...", flush=True)
        stopped_at: list[float] = []
        started: list[subprocess.Popen] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            if not stopped_at:
                stopped_at.append(time.monotonic())
                # To `dagster dev` alone: it stops the webserver, daemon and code server in
                # order (signalling them all at once leaves some of them running).
                for process in started:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGINT)

        # Handled before Dagster starts, so it starts with SIGINT at its default (a launcher
        # started in the background has it ignored, and that would be inherited).
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            dagster = Path(sys.executable).parent / "dagster"
            # Started in .dagster_home, whose dagster.yaml is DAGSTER_HOME's (Dagster warns when
            # the folder it starts in holds another), in a session of its own: a terminal's
            # Ctrl-C reaches us alone, and what is left of its group can be killed at the end.
            process = subprocess.Popen(  # noqa: S603 - our own dagster, fixed arguments
                [str(dagster if dagster.exists() else "dagster"), "dev", "-w", str(WORKSPACE),
                 "-p", str(ui_port)], cwd=home, env=env, start_new_session=True)
            started.append(process)
            while (code := process.poll()) is None:
                if stopped_at and time.monotonic() - stopped_at[0] > STOP_GRACE_SECONDS:
                    _signal_group(process, signal.SIGKILL)
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for process in started:
                _signal_group(process, signal.SIGKILL)  # whatever of its group is still there
    return 0 if stopped_at else (code or 0)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
