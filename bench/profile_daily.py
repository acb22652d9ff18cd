"""Where a daily run's time goes: each step of the job, and each dbt node, on 30 days of history
versus the same campaigns in an empty warehouse.

    python -m bench.profile_daily --scale full --work /tmp/profile   # keeps the 30-day warehouse
    python -m bench.profile_daily --history-days 365 --work /tmp/profile   # a year (bench.run
                                                                          # --history's account)

The 30-day warehouse is built once in `--work` (ingest + dbt build + publish + reports) and
reused by later calls (`--rebuild-models` after changing the dbt models); each call profiles
a fresh copy of it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_resources, sandbox_process
from bench.run import (
    DAYS,
    ROOT,
    _day_end,
    history_arguments,
    sandbox_arguments,
    stage_ingest,
    stage_publish,
    stage_reports,
    stage_transform,
)


def _dbt_timings() -> list[dict[str, Any]]:
    """Per-node timings of the latest dbt invocation (dagster-dbt writes one target per run)."""
    results = max((ROOT / "dbt_project" / "target").glob("*/run_results.json"),
                  key=lambda p: p.stat().st_mtime)
    data = json.loads(results.read_text())
    return [{"node": r["unique_id"], "seconds": r["execution_time"]} for r in data["results"]]


def _steps(instance: Any, run_id: str) -> dict[str, float]:
    """Wall seconds per step, from the instance's step stats."""
    return {stat.step_key: (stat.end_time or 0) - (stat.start_time or 0)
            for stat in instance.get_run_step_stats(run_id)}


def daily_profile(url: str, warehouse: Path, campaigns: list[str] | None) -> dict[str, Any]:
    import dagster as dg
    import duckdb

    from orchestration.defs.dbt.assets import warehouse_models
    from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
    from orchestration.defs.operations.assets import campaign_reports, published_marts

    run_config: dict[str, Any] = {
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        "ops": {name: {"config": {"campaign_ids": campaigns} if campaigns is not None else {}}
                for name in ("voice_ingest", "sms_ingest")},
    }
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = dg.materialize(
        [voice_ingest, sms_ingest, warehouse_models, published_marts, campaign_reports],
        resources=bench_resources(url, warehouse), run_config=run_config, instance=instance)
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse), read_only=True)
    pulled = [c for (c,) in con.execute(
        "SELECT campaign_id FROM raw.campaign_pulls WHERE run_id = ?", [result.run_id]
    ).fetchall()]
    con.close()
    return {"seconds": seconds, "steps": _steps(instance, result.run_id), "dbt": _dbt_timings(),
            "campaigns": pulled}


def _print(name: str, profile: dict[str, Any], top: int) -> None:
    print(f"\n== {name}: {profile['seconds']:.1f} s, {len(profile['campaigns'])} campaigns")
    for step, seconds in sorted(profile["steps"].items(), key=lambda kv: -kv[1]):
        print(f"  step {step:40s} {seconds:7.1f} s")
    nodes = profile["dbt"]
    tests = sum(n["seconds"] for n in nodes if n["node"].startswith("test."))
    models = sum(n["seconds"] for n in nodes if n["node"].startswith("model."))
    print(f"  dbt nodes: models {models:.1f} s, tests {tests:.1f} s (sum of node times)")
    for node in sorted(nodes, key=lambda n: -n["seconds"])[:top]:
        print(f"    {node['seconds']:6.2f} s  {node['node']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="full", choices=["full", "quick", "tiny"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--history-days", type=int, default=None,
                        help="profile on this many days of history (quick scale's volume)")
    parser.add_argument("--rebuild-models", action="store_true",
                        help="rebuild the kept warehouse's dbt models first (after model changes)")
    args = parser.parse_args()
    days = args.history_days or DAYS - 1
    name = f"history{days}" if args.history_days else args.scale
    account = history_arguments(days) if args.history_days else sandbox_arguments(args.scale)
    base = args.work / name / "base" / "warehouse.duckdb"
    with sandbox_process(*account, "--now", _day_end(days)) as url:
        if not base.exists():
            base.parent.mkdir(parents=True)
            print("building the 30-day warehouse:", stage_ingest(url, base),
                  stage_transform(url, base), stage_publish(base),
                  stage_reports(base.with_name("published.duckdb")), flush=True)
        elif args.rebuild_models:
            shutil.rmtree(base.with_name("reports"), ignore_errors=True)
            print("rebuilding the models:", stage_transform(url, base), stage_publish(base),
                  stage_reports(base.with_name("published.duckdb")), flush=True)
        runs = {}
        for mode in ("history", "empty"):
            target = args.work / name / mode / "warehouse.duckdb"
            shutil.rmtree(target.parent, ignore_errors=True)
            target.parent.mkdir(parents=True)
            if mode == "history":
                shutil.copy(base, target)
                shutil.copytree(base.with_name("lake"), target.with_name("lake"))  # its raw
                # and the key yesterday's copy was published with (else a full copy)
                shutil.copy(base.with_name("warehouse.duckdb.lookup-key"),
                            target.with_name("warehouse.duckdb.lookup-key"))
                # Yesterday's published copy, which today's publish refreshes in place.
                shutil.copy(base.with_name("published.duckdb"),
                            target.with_name("published.duckdb"))
                shutil.copytree(base.with_name("reports"), target.with_name("reports"))
            httpx.post(f"{url}/_sandbox/clock",
                       json={"now": _day_end(days + 1)}).raise_for_status()
            try:
                runs[mode] = daily_profile(
                    url, target, None if mode == "history" else runs["history"]["campaigns"])
            finally:
                httpx.post(f"{url}/_sandbox/clock", json={"now": _day_end(days)}).raise_for_status()
    for mode, profile in runs.items():
        _print(mode, profile, args.top)
    print(f"\nratio history / empty: {runs['history']['seconds'] / runs['empty']['seconds']:.2f}")


if __name__ == "__main__":
    main()
