"""Shared benchmark plumbing: a sandbox API in its own process, and resource measurements."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from orchestration.sandbox.server import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    sandbox_environment,
)

SANDBOX_CREDENTIALS = {"account_sid": SANDBOX_ACCOUNT_SID, "api_key": SANDBOX_API_KEY,
                       "api_token": SANDBOX_API_TOKEN}


def bench_resources(url: str, warehouse: Path | str) -> dict[str, Any]:
    """The pipeline's resources, pointed at the sandbox on `url`, with the warehouse (and its
    published copy beside it) at `warehouse`: the same factory the code location uses."""
    from orchestration.defs.resources import resources_for
    from orchestration.lib.settings import load_settings

    warehouse = Path(warehouse)
    # Tuning a benchmark may set how many campaigns are fetched side by side.
    tuning = {k: os.environ[k] for k in ("EXOTEL_FETCH_WORKERS",) if k in os.environ}
    return resources_for(load_settings(
        {**sandbox_environment(url), "WAREHOUSE_PATH": str(warehouse),
         "PUBLISHED_PATH": str(warehouse.with_name("published.duckdb")), **tuning},
        dotenv_path=None))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(*arguments: str) -> Iterator[str]:
    """Run `campaign-analytics sandbox ARGUMENTS` in a process of its own; yield its URL.

    A separate process, so the server's CPU never competes with the measured client for the GIL.
    """
    port = free_port()
    command = [sys.executable, "-m", "orchestration.cli", "sandbox", "--port", str(port),
               *arguments]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own CLI
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the sandbox did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
