"""Shared benchmark plumbing: a sandbox API in its own process, and resource measurements."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

SANDBOX_CREDENTIALS = {"account_sid": "sandbox_account", "api_key": "sandbox_key",
                       "api_token": "sandbox_token"}


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
