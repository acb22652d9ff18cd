"""Our ingest against dlt's best configuration (bench/dlt_peer.py) on the same sandbox process,
alternating, and the bytes each keeps per record.

    python -m bench.lake                 # quick scale (~1M records), 2 rounds of each
    python -m bench.lake --rounds 3

Ours: the `ingest` stage of bench.run (fetch, Pandera validation with quarantine, the lake's
Parquet commits, the warehouse views), into an empty warehouse. dlt: fetch and load, nothing
validated, no record kept as sent. Bytes: our lake's Parquet files (typed columns and the record
as sent, every entity and ledger) and dlt's DuckDB file, each divided by the detail records.
Results: bench/results-lake.json and the "Lake" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import sandbox_process
from bench.report import replace_section
from bench.run import DAYS, ROOT, _day_end, child, log, machine, sandbox_arguments

START, END = "<!-- lake:start -->", "<!-- lake:end -->"
GOAL = 1.25  # the bar: ours at least 1.25x dlt's records per second


def _lake_bytes(lake: Path) -> int:
    return sum(p.stat().st_size for p in lake.glob("provider=*/entity=*/*/*.parquet"))


def _dlt(url: str, folder: Path) -> dict[str, Any]:
    output = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.dlt_peer", url, str(folder)], check=True,
        capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def benchmark(scale: str, rounds: int) -> dict[str, Any]:
    ours, peer = [], []
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as tmp, sandbox_process(
            *sandbox_arguments(scale), "--now", _day_end(DAYS - 1)) as url:
        for number in range(1, rounds + 1):
            for who in ("ours", "dlt") if number % 2 else ("dlt", "ours"):
                folder = Path(tmp) / f"{who}{number}"
                folder.mkdir()
                log(f"round {number}/{rounds}: {who}")
                if who == "ours":
                    result = child("ingest", url=url, warehouse=str(folder / "warehouse.duckdb"))
                    result["bytes"] = _lake_bytes(folder / "lake")
                    ours.append(result)
                else:
                    peer.append(_dlt(url, folder))
                log(f"  {(ours if who == 'ours' else peer)[-1]}")
    rate = statistics.median(r["records"] / r["seconds"] for r in ours)
    peer_rate = statistics.median(r["records"] / r["seconds"] for r in peer)
    summary = {
        "records": ours[0]["records"],
        "ours_records_per_second": rate, "dlt_records_per_second": peer_rate,
        "ratio_to_dlt": rate / peer_rate,
        "ours_bytes_per_record": ours[0]["bytes"] / ours[0]["records"],
        "dlt_bytes_per_record": peer[0]["bytes"] / peer[0]["records"],
    }
    return {"scale": scale, "rounds": rounds, "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "machine": machine(), "summary": summary, "ours": ours, "dlt": peer}


def write_section(result: dict[str, Any]) -> None:
    s = result["summary"]
    met = "yes" if s["ratio_to_dlt"] >= GOAL else "NO"
    section = "\n".join([
        START,
        "## Ingest against dlt, and raw bytes (`python -m bench.lake`, part of `make bench`)",
        "",
        f"{result['scale']} scale, {s['records']:,} records; {result['rounds']} rounds of each, "
        "alternating, on one sandbox process; finished " + result["finished_at"] + ".",
        "Ours: fetch, Pandera validation with quarantine, one lake commit per campaign (zstd "
        "Parquet, typed columns plus the record as sent). dlt 1.31's best configuration "
        "(`bench/dlt_peer.py`): a resource per entity yielding one Arrow table per page, the "
        "parquet loader into DuckDB, 2 normalize workers, 100k-item files; no validation, no "
        "record kept as sent.",
        "",
        "| | records/s (median) | raw bytes per record |",
        "| --- | --- | --- |",
        f"| ours | {s['ours_records_per_second']:,.0f} | {s['ours_bytes_per_record']:,.1f} |",
        f"| dlt | {s['dlt_records_per_second']:,.0f} | {s['dlt_bytes_per_record']:,.1f} |",
        "",
        f"Ours / dlt: **{s['ratio_to_dlt']:.2f}x** (goal >= {GOAL}x: {met}); bytes per record "
        f"{s['ours_bytes_per_record'] / s['dlt_bytes_per_record']:.2f}x dlt's (goal <= 1: "
        f"{'yes' if s['ours_bytes_per_record'] <= s['dlt_bytes_per_record'] else 'NO'}).",
        END,
    ])
    replace_section(START, END, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="quick", choices=("quick", "full", "tiny"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result = benchmark(args.scale, args.rounds)
    (ROOT / "bench" / "results-lake.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.scale != "tiny":
        write_section(result)
    log(json.dumps(result["summary"]))


if __name__ == "__main__":
    main()
