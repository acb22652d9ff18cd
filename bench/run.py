"""The project's benchmark: speed, memory and growth of the pipeline against its ceiling.

    python -m bench.run              # full: ~10M SMS messages, ~2M call attempts over 30 days
    python -m bench.run --quick      # ~1M SMS messages, ~200k call attempts, for development
    python -m bench.run --history    # 365 days at the quick scale's daily volume: a daily run
                                     # against the same day into an empty warehouse

Stages, each in a child process of its own (so its peak resident memory is its own), repeated
`--runs` times; the report gives medians:
  ceiling    the client fetching and JSON-parsing every page, nothing else
  ingest     fetch + validate + load into `raw`, into an empty warehouse
  transform  a full `dbt build` over that raw data (marts dropped first)
  publish    the read-only copy for readers
  readers    each README example query on the published copy (median of 20)
  daily      day 31's run on a warehouse holding 30 days, versus the same campaigns into an
             empty warehouse: the ratio shows whether a daily run grows with history
Results go to BENCHMARKS.md and bench/results-<scale>.json (machine-readable, comparable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.common import SANDBOX_CREDENTIALS, bench_resources, peak_rss_mib, sandbox_process

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2026, 1, 1)
DAYS = 31  # 30 days of history, and day 31 for the daily-growth stage
SCALES = {
    # Sizes are log-uniform between min and max (mean (max-min)/ln(max/min)).
    "full": {"sms_campaigns": 66, "sms_messages": "20000:500000",
             "voice_campaigns": 20, "voice_contacts": "10000:200000"},
    "quick": {"sms_campaigns": 31, "sms_messages": "5000:100000",
              "voice_campaigns": 10, "voice_contacts": "2000:40000"},
    # A smoke test of the benchmark itself (tests/test_bench.py), not a measurement.
    "tiny": {"sms_campaigns": 8, "sms_messages": "500:3000",
             "voice_campaigns": 3, "voice_contacts": "200:600"},
}


def _day_end(day: int) -> str:
    """The instant day `day` of the account (1-based) ends, in IST, for the sandbox's clock."""
    moment = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(0, 0),
                                 tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    return moment.isoformat()


# ---- stages (each runs in its own process) ----------------------------------------------

def stage_ceiling(url: str) -> dict[str, Any]:
    from bench.walk import walk_account
    from orchestration.lib.exotel import ExotelClient

    with ExotelClient(url, **SANDBOX_CREDENTIALS, rate_limit_per_minute=0) as client:
        walk = walk_account(client)
    return {"seconds": walk.seconds, "records": walk.records}


def _materialize(assets: list, url: str, warehouse: Path, config: dict | None = None) -> Any:
    import dagster as dg

    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if config is not None:
        run_config["ops"] = {n: {"config": config} for n in ("voice_ingest", "sms_ingest")}
    result = dg.materialize(assets, resources=bench_resources(url, warehouse),
                            run_config=run_config, raise_on_error=False)
    if not result.success:
        raise SystemExit(f"the run failed: {[e.message for e in result.all_events][-5:]}")
    return result


def stage_ingest(url: str, warehouse: Path) -> dict[str, Any]:
    from orchestration.defs.exotel.assets import sms_ingest, voice_ingest

    # The ceiling's clock starts after its imports; so does this one (dagster-dbt's import,
    # a second or two, is not ingest work).
    bench_resources(url, warehouse)
    started = time.perf_counter()
    result = _materialize([voice_ingest, sms_ingest], url, warehouse)
    seconds = time.perf_counter() - started
    records = sum(
        e.event_specific_data.materialization.metadata["records"].value
        for e in result.get_asset_materialization_events()
        if "records" in e.event_specific_data.materialization.metadata
    )
    return {"seconds": seconds, "records": records}


def stage_transform(url: str, warehouse: Path) -> dict[str, Any]:
    import duckdb

    from orchestration.defs.dbt.assets import warehouse_models

    con = duckdb.connect(str(warehouse))  # a full build: drop what an earlier build made
    for schema in ("marts", "intermediate", "staging"):
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    con.close()
    started = time.perf_counter()
    _materialize([warehouse_models], url, warehouse)
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse), read_only=True)
    messages = con.execute("SELECT count(*) FROM marts.fct_sms_messages").fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "messages": messages}


def stage_publish(warehouse: Path) -> dict[str, Any]:
    from orchestration.lib.audience.lookup import lookup_key
    from orchestration.lib.publish import publish
    from orchestration.lib.settings import load_settings

    # As the daily job publishes (its recipient look-up key too), so the daily stage finds
    # yesterday's copy usable and refreshes it in place, as it would in production.
    settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                             require_credentials=False)
    started = time.perf_counter()
    publish(warehouse, warehouse.with_name("published.duckdb"), lookup_key=lookup_key(settings))
    return {"seconds": time.perf_counter() - started}


def stage_reports(published: Path) -> dict[str, Any]:
    """The report of every final campaign and the overview, as a first daily run writes them."""
    from orchestration.lib.reports import write_finalized_reports

    started = time.perf_counter()
    written = write_finalized_reports(published)
    return {"seconds": time.perf_counter() - started, "campaign_reports": len(written.campaigns)}


def readme_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def stage_readers(published: Path, repeats: int = 20) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(published), read_only=True)
    medians = {}
    for number, sql in enumerate(readme_queries(), start=1):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        medians[f"query_{number}"] = statistics.median(times)
    con.close()
    return {"median_ms": medians, "max_median_ms": max(medians.values())}


def stage_daily(url: str, warehouse: Path, mode: str, campaigns: list[str]) -> dict[str, Any]:
    """`history`: a daily run on `warehouse`; `empty`: the same campaigns into an empty one."""
    import duckdb

    from orchestration.defs.dbt.assets import warehouse_models
    from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
    from orchestration.defs.operations.assets import campaign_reports, published_marts

    config = {"campaign_ids": campaigns} if mode == "empty" else {}
    started = time.perf_counter()
    result = _materialize([voice_ingest, sms_ingest, warehouse_models, published_marts,
                           campaign_reports], url, warehouse, config)
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(warehouse), read_only=True)
    pulled = [c for (c,) in con.execute(
        "SELECT campaign_id FROM raw.campaign_pulls WHERE run_id = ?", [result.run_id]
    ).fetchall()]
    records = con.execute("SELECT coalesce(sum(records), 0) FROM raw.campaign_pulls "
                          "WHERE run_id = ?", [result.run_id]).fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "campaigns": pulled, "records": records}


STAGES = {"ceiling", "ingest", "transform", "publish", "reports", "readers", "daily"}


def child(stage: str, **kwargs: Any) -> dict[str, Any]:
    """Run one stage in a fresh process; return its result with its peak memory."""
    output = subprocess.run(  # noqa: S603 - this very module
        [sys.executable, "-m", "bench.run", "--stage", stage, "--args", json.dumps(kwargs)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_stage(stage: str, args: dict[str, Any]) -> dict[str, Any]:
    path = Path(args["warehouse"]) if "warehouse" in args else None
    if stage == "ceiling":
        result = stage_ceiling(args["url"])
    elif stage == "ingest":
        result = stage_ingest(args["url"], path)
    elif stage == "transform":
        result = stage_transform(args["url"], path)
    elif stage == "publish":
        result = stage_publish(path)
    elif stage == "reports":
        result = stage_reports(Path(args["published"]))
    elif stage == "readers":
        result = stage_readers(Path(args["published"]))
    else:
        result = stage_daily(args["url"], path, args["mode"], args.get("campaigns", []))
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # dbt's process
    return {**result, "peak_rss_mib": max(peak_rss_mib(), children)}


# ---- orchestration of a benchmark run ---------------------------------------------------

def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def sandbox_arguments(scale: str) -> list[str]:
    shape = SCALES[scale]
    return [
        "--seed", "2026", "--sms-campaigns", str(shape["sms_campaigns"]),
        "--sms-messages", shape["sms_messages"], "--voice-campaigns",
        str(shape["voice_campaigns"]), "--voice-contacts", shape["voice_contacts"],
        "--from", START.isoformat(), "--to", (START + dt.timedelta(days=DAYS)).isoformat(),
    ]


def benchmark(scale: str, runs: int) -> dict[str, Any]:
    sandbox_args = sandbox_arguments(scale)
    stages: dict[str, list[dict[str, Any]]] = {s: [] for s in STAGES - {"daily"}}
    daily: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, sandbox_process(
        *sandbox_args, "--now", _day_end(DAYS - 1)  # 30 days: day 31's campaigns not yet run
    ) as url:
        for number in range(1, runs + 1):
            warehouse = Path(tmp) / f"run{number}" / "warehouse.duckdb"
            warehouse.parent.mkdir()
            log(f"run {number}/{runs}: ceiling")
            stages["ceiling"].append(child("ceiling", url=url))
            log(f"  {stages['ceiling'][-1]}")
            log(f"run {number}/{runs}: ingest")
            stages["ingest"].append(child("ingest", url=url, warehouse=str(warehouse)))
            log(f"  {stages['ingest'][-1]}")
            log(f"run {number}/{runs}: transform")
            stages["transform"].append(child("transform", url=url, warehouse=str(warehouse)))
            log(f"  {stages['transform'][-1]}")
            stages["publish"].append(child("publish", warehouse=str(warehouse)))
            stages["readers"].append(child(
                "readers", published=str(warehouse.with_name("published.duckdb"))))
            stages["reports"].append(child(
                "reports", published=str(warehouse.with_name("published.duckdb"))))
            log(f"  publish {stages['publish'][-1]}, readers {stages['readers'][-1]}, "
                f"reports {stages['reports'][-1]}")
            # Daily growth: move the clock to the end of day 31 on a copy of this warehouse.
            history = Path(tmp) / f"run{number}" / "history" / "warehouse.duckdb"
            history.parent.mkdir()
            shutil.copy(warehouse, history)
            shutil.copytree(warehouse.with_name("lake"), history.with_name("lake"))  # its raw
            # and its recipient look-up key: yesterday's copy is keyed with it, so today's
            # publish refreshes that copy in place, as in production
            shutil.copy(warehouse.with_name("warehouse.duckdb.lookup-key"),
                        history.with_name("warehouse.duckdb.lookup-key"))
            shutil.copy(warehouse.with_name("published.duckdb"),
                        history.with_name("published.duckdb"))
            # Yesterday's published copy and the 30 days' reports exist, as after yesterday's
            # run: day 31 refreshes the copy and writes only the campaigns it finalizes.
            shutil.copytree(warehouse.with_name("reports"), history.with_name("reports"))
            httpx.post(f"{url}/_sandbox/clock", json={"now": _day_end(DAYS)}).raise_for_status()
            try:
                log(f"run {number}/{runs}: daily run on 30 days of history")
                grown = child("daily", url=url, warehouse=str(history), mode="history")
                empty = Path(tmp) / f"run{number}" / "empty" / "warehouse.duckdb"
                empty.parent.mkdir()
                log(f"run {number}/{runs}: the same campaigns into an empty warehouse")
                fresh = child("daily", url=url, warehouse=str(empty), mode="empty",
                              campaigns=grown["campaigns"])
            finally:
                httpx.post(f"{url}/_sandbox/clock",
                           json={"now": _day_end(DAYS - 1)}).raise_for_status()
            daily.append({"history_seconds": grown["seconds"], "empty_seconds": fresh["seconds"],
                          "ratio": grown["seconds"] / fresh["seconds"],
                          "campaigns": len(grown["campaigns"]), "records": grown["records"],
                          "history_peak_rss_mib": grown["peak_rss_mib"]})
            log(f"  daily {daily[-1]}")
            shutil.rmtree(warehouse.parent)
    ceiling_rate = _median([{"r": r["records"] / r["seconds"]} for r in stages["ceiling"]], "r")
    ingest_rate = _median([{"r": r["records"] / r["seconds"]} for r in stages["ingest"]], "r")
    summary = {
        "records": stages["ingest"][0]["records"],
        "sms_messages": stages["transform"][0]["messages"],
        "ceiling_records_per_second": ceiling_rate,
        "ingest_records_per_second": ingest_rate,
        "ingest_to_ceiling": ingest_rate / ceiling_rate,
        "ingest_seconds": _median(stages["ingest"], "seconds"),
        "transform_seconds": _median(stages["transform"], "seconds"),
        "publish_seconds": _median(stages["publish"], "seconds"),
        "reports_seconds": _median(stages["reports"], "seconds"),
        "campaign_reports": stages["reports"][0]["campaign_reports"],
        "readers_max_median_ms": _median(stages["readers"], "max_median_ms"),
        "daily_history_seconds": _median(daily, "history_seconds"),
        "daily_empty_seconds": _median(daily, "empty_seconds"),
        "daily_growth_ratio": _median(daily, "ratio"),
        "peak_rss_mib": {s: _median(stages[s], "peak_rss_mib") for s in stages},
    }
    return {"scale": scale, "runs": runs, "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "machine": machine(), "summary": summary, "stages": stages, "daily": daily}


def history_arguments(days: int) -> list[str]:
    """The sandbox's account for `days` of history and one day more, at the quick scale's
    daily volume."""
    shape = SCALES["quick"]
    per_day = {k: shape[k] / DAYS for k in ("sms_campaigns", "voice_campaigns")}
    return [
        "--seed", "2026", "--sms-campaigns", str(round(per_day["sms_campaigns"] * (days + 1))),
        "--sms-messages", shape["sms_messages"],
        "--voice-campaigns", str(round(per_day["voice_campaigns"] * (days + 1))),
        "--voice-contacts", shape["voice_contacts"],
        "--from", START.isoformat(), "--to", (START + dt.timedelta(days=days + 1)).isoformat()]


def history_benchmark(days: int) -> dict[str, Any]:
    """A year (`days`) of history at the quick scale's daily volume, built through the API
    (ingest, then a full build, publish and reports, as after yesterday's run), then day
    `days + 1`'s daily run on it against the same campaigns into an empty warehouse."""
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, sandbox_process(
            *history_arguments(days), "--now", _day_end(days)) as url:
        history = Path(tmp) / "history" / "warehouse.duckdb"
        history.parent.mkdir()
        log(f"{days} days of history: ingest")
        ingest = child("ingest", url=url, warehouse=str(history))
        log(f"  {ingest}")
        log(f"{days} days of history: full dbt build")
        transform = child("transform", url=url, warehouse=str(history))
        log(f"  {transform}")
        child("publish", warehouse=str(history))
        child("reports", published=str(history.with_name("published.duckdb")))
        httpx.post(f"{url}/_sandbox/clock", json={"now": _day_end(days + 1)}).raise_for_status()
        log(f"day {days + 1}: the daily run on {days} days of history")
        grown = child("daily", url=url, warehouse=str(history), mode="history")
        empty = Path(tmp) / "empty" / "warehouse.duckdb"
        empty.parent.mkdir()
        log(f"day {days + 1}: the same campaigns into an empty warehouse")
        fresh = child("daily", url=url, warehouse=str(empty), mode="empty",
                      campaigns=grown["campaigns"])
        lake_bytes = sum(p.stat().st_size for p in
                         history.with_name("lake").glob("provider=*/entity=*/*/*.parquet"))
        lake_files = len(list(history.with_name("lake").glob("provider=*/entity=*/*/*.parquet")))
    summary = {
        "history_days": days, "history_records": ingest["records"],
        "history_ingest_seconds": ingest["seconds"], "transform_seconds": transform["seconds"],
        "sms_messages": transform["messages"], "lake_bytes": lake_bytes, "lake_files": lake_files,
        "daily_history_seconds": grown["seconds"], "daily_empty_seconds": fresh["seconds"],
        "daily_growth_ratio": grown["seconds"] / fresh["seconds"],
        "daily_campaigns": len(grown["campaigns"]), "daily_records": grown["records"],
        "daily_peak_rss_mib": grown["peak_rss_mib"],
    }
    return {"scale": "history", "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "machine": machine(), "summary": summary,
            "stages": {"ingest": ingest, "transform": transform, "daily_history": grown,
                       "daily_empty": fresh}}


HISTORY_START, HISTORY_END = "<!-- history:start -->", "<!-- history:end -->"


def write_history_section(result: dict[str, Any]) -> None:
    s = result["summary"]
    section = "\n".join([
        HISTORY_START,
        "## A year of history (`python -m bench.run --history`, part of `make bench`)",
        "",
        f"{s['history_days']} days at the quick scale's daily volume: {s['history_records']:,} "
        f"records ({s['sms_messages']:,} SMS messages), built through the API, then a full "
        f"build ({s['transform_seconds']:,.1f} s); the lake holds {s['lake_files']:,} files, "
        f"{s['lake_bytes'] / 2**20:,.0f} MiB. Then day {s['history_days'] + 1}'s daily run "
        "(ingest + `dbt build` + publish + reports) on that warehouse, and the same campaigns "
        f"into an empty one. Finished {result['finished_at']}.",
        "",
        "| run | seconds |",
        "| --- | --- |",
        f"| daily run on {s['history_days']} days | {s['daily_history_seconds']:,.1f} |",
        f"| same campaigns, empty warehouse | {s['daily_empty_seconds']:,.1f} |",
        "",
        f"Daily growth ratio: **{s['daily_growth_ratio']:.2f}** (goal <= 1.5: "
        f"{'yes' if s['daily_growth_ratio'] <= 1.5 else 'NO'}); "
        f"{s['daily_campaigns']} campaigns, {s['daily_records']:,} records that day.",
        HISTORY_END,
    ])
    from bench.report import replace_section

    replace_section(HISTORY_START, HISTORY_END, section)


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), None)
    import os

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory,
        "python": platform.python_version(),
        "versions": {p: metadata.version(p) for p in
                     ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "pandas", "pandera",
                      "pyarrow", "httpx", "orjson")},
    }


def log(text: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="~1M messages instead of ~10M")
    parser.add_argument("--scale", choices=sorted(SCALES), help="overrides --quick")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench",
                        help="where results-<scale>.json goes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--history", action="store_true",
                        help="a daily run on a year of history against an empty warehouse")
    parser.add_argument("--history-days", type=int, default=365, help=argparse.SUPPRESS)
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, json.loads(args.args))))
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.history:
        result = history_benchmark(args.history_days)
        (args.out_dir / "results-history.json").write_text(json.dumps(result, indent=2) + "\n")
        write_history_section(result)
        log(json.dumps(result["summary"]))
        return
    scale = args.scale or ("quick" if args.quick else "full")
    results = benchmark(scale, args.runs)
    out = args.out_dir / f"results-{scale}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    if scale != "tiny":
        from bench.report import write_report

        write_report()
        log(f"wrote {out} and BENCHMARKS.md")
    else:
        log(f"wrote {out}")


if __name__ == "__main__":
    main()
