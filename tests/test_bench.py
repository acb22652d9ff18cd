"""The benchmark still runs end to end (at a tiny scale: a smoke test, not a measurement)."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_benchmark_runs_and_writes_its_results(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "tiny", "--runs", "1", "--out-dir",
         str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "results-tiny.json").read_text())["summary"]
    assert summary["records"] > 10_000
    assert summary["ingest_records_per_second"] > 0 and summary["daily_growth_ratio"] > 0
    assert set(summary["peak_rss_mib"]) == {"ceiling", "ingest", "transform", "publish",
                                            "reports", "readers"}
    assert summary["campaign_reports"] > 0 and summary["reports_seconds"] > 0
