"""Ingest at scale: records/second and peak memory of the SMS ingest asset, against its ceiling.

    .venv/bin/python -m bench.ingest_scale [--messages 1000000] [--campaign-size 250000]

1. ceiling: the client fetches and JSON-parses every page, nothing else;
2. ingest: `dg.materialize(sms_ingest)` into a fresh DuckDB file (fetch, validate, load).
Each runs in a fresh child process so that its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SANDBOX_CREDENTIALS, bench_resources, peak_rss_mib, sandbox_process


def ceiling(url: str) -> dict[str, float]:
    from bench.walk import walk_account
    from orchestration.lib.exotel import ExotelClient

    with ExotelClient(url, **SANDBOX_CREDENTIALS, rate_limit_per_minute=0) as client:
        walk = walk_account(client)
    return {"records": walk.records, "seconds": walk.seconds, "peak_rss_mib": peak_rss_mib()}


def ingest(url: str, warehouse: str) -> dict[str, float]:
    import dagster as dg

    from orchestration.defs.exotel.assets import sms_ingest

    resources = bench_resources(url, warehouse)
    started = time.perf_counter()
    import os

    pages = int(os.environ.get("BENCH_BATCH_PAGES", "50"))
    result = dg.materialize([sms_ingest], resources=resources, run_config={
        "ops": {"sms_ingest": {"config": {"batch_pages": pages}}}})
    seconds = time.perf_counter() - started
    assert result.success
    meta = next(
        e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path[-1] == "sms_messages"
    )
    return {"records": meta["records"].value, "seconds": seconds,
            "peak_rss_mib": peak_rss_mib()}


def _child(stage: str, url: str, warehouse: str) -> dict[str, float]:
    output = subprocess.run(  # noqa: S603 - this very script
        [sys.executable, "-m", "bench.ingest_scale", "--stage", stage, "--url", url,
         "--warehouse", warehouse], check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaign-size", type=int, default=250_000)
    parser.add_argument("--stage", choices=["ceiling", "ingest"])
    parser.add_argument("--url")
    parser.add_argument("--warehouse")
    args = parser.parse_args()
    if args.stage:
        stage = ceiling(args.url) if args.stage == "ceiling" else ingest(args.url, args.warehouse)
        print(json.dumps(stage))
        return
    campaigns = max(1, args.messages // args.campaign_size)
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(
        "--seed", "1", "--sms-campaigns", str(campaigns), "--voice-campaigns", "0",
        "--sms-messages", f"{args.campaign_size}:{args.campaign_size}",
        "--from", "2026-01-01", "--to", "2026-01-20", "--now", "2026-02-01T00:00:00+00:00",
    ) as url:
        warehouse = str(Path(tmp) / "warehouse.duckdb")
        top = _child("ceiling", url, warehouse)
        run = _child("ingest", url, warehouse)
    for name, stage in (("ceiling", top), ("ingest", run)):
        print(f"{name:8} {stage['records']:>10,} records {stage['seconds']:7.1f}s "
              f"{stage['records'] / stage['seconds']:>9,.0f} records/s "
              f"peak RSS {stage['peak_rss_mib']:,.0f} MiB")
    ratio = (run["records"] / run["seconds"]) / (top["records"] / top["seconds"])
    print(f"ingest / ceiling = {ratio:.0%}")


if __name__ == "__main__":
    main()
