"""The campaign-analytics command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from orchestration.lib.exotel import ExotelClient

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "orchestration.cli"]


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_runs_the_pipeline_and_ends_with_a_kpi_summary(demo_run) -> None:
    out = demo_run["result"].stdout
    assert "Started the bundled sandbox API" in out
    assert "Published a read-only copy for BI tools and queries: data/demo/published.duckdb" in out
    summary = out.split("Published a read-only copy", 1)[1]
    assert "SMS campaigns" in summary and "Voice campaigns" in summary
    assert summary.count("Completed") + summary.count("In-Progress") == 12  # 8 SMS, 4 voice
    assert "All SMS:" in summary
    assert demo_run["published"].exists()


def test_sandbox_command_serves_the_contract() -> None:
    port = _free_port()
    process = subprocess.Popen([*CLI, "sandbox", "--port", str(port), "--sms-campaigns", "2",
                                "--voice-campaigns", "1"], stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "sandbox did not come up"
                time.sleep(0.1)
        with ExotelClient(f"http://127.0.0.1:{port}", "sandbox_account", "sandbox_key",
                          "sandbox_token", rate_limit_per_minute=0) as client:
            assert len(list(client.iter_sms_campaigns())) == 2
            assert len(list(client.iter_voice_campaigns())) == 1
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_bad_arguments_exit_non_zero_with_a_readable_message() -> None:
    result = _run("demo", "--sms-messages", "900:100")
    assert result.returncode == 2
    assert "MIN <= MAX" in result.stderr
    result = _run("demo", "--from", "2026-02-01", "--to", "2026-01-01")
    assert result.returncode == 2
    assert "--to must be after --from" in result.stderr
