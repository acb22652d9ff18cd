"""Benchmark: `campaign-analytics contacts load` of a large contacts file (issue 18: 1 million
rows in under 30 s, memory flat), as a user runs it, in a process of its own.

    python -m bench.contacts [--rows 1000000] [--build-rows 3 1000000] [--out ...]

The file is the sandbox's kind (numbers written four ways, lists, tags, a custom column) with
0.1% bad rows (no phone, text that is no number). Measured for several sizes, so "flat" can be
read off: peak RSS per size, from the child process's rusage.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LISTS = ("Customers", "Newsletter", "Prospects")
TAGS = ("vip", "new", "dormant", "north", "south")


def write_file(path: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    numbers = 6_000_000_000 + rng.choice(4_000_000_000, size=rows, replace=False)
    lists = rng.integers(0, len(LISTS), rows)
    tags = rng.random((rows, len(TAGS))) < 0.2
    bad = rng.random(rows) < 0.001
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Phone", "External ID", "Name", "Email", "Lists", "Tags", "Plan"])
        for i in range(rows):
            text = str(int(numbers[i]))
            phone = (f"+91{text}", f"0{text}", f"{text[:5]} {text[5:]}",
                     f"+91 {text[:5]}-{text[5:]}")[i % 4]
            if bad[i]:
                phone = ("", "call me")[i % 2]
            writer.writerow([phone, f"CUST-{i:08d}", f"Person {i}", f"person{i}@example.com",
                             LISTS[lists[i]], ";".join(t for t, on in zip(TAGS, tags[i],
                                                                          strict=True) if on),
                             ("basic", "premium")[i % 2]])


def measure(rows: int, folder: Path) -> dict:
    path = folder / f"contacts_{rows}.csv"
    write_file(path, rows)
    env = {**os.environ, "WAREHOUSE_PATH": str(folder / f"w_{rows}.duckdb"),
           "PUBLISHED_PATH": str(folder / f"p_{rows}.duckdb")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "contacts", "load",  # noqa: S603
                           str(path), "--list", "Bench", "--no-build"], env=env,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = next(line for line in done.stdout.splitlines() if "rows read in" in line)
    return {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1),
            "command_seconds": round(seconds, 1),
            "load_seconds": float(summary.split(" in ")[1].split(" s")[0]),
            "peak_rss_mb": round(max(peak, before) / 1024), "summary": summary}


def measure_with_build(rows: int, folder: Path, demo: Path) -> dict:
    """`contacts load FILE` with its rebuild (the audience models and what they feed) and
    publish, on a fresh copy of the demo's warehouse (12 campaigns)."""
    import shutil

    path = folder / f"contacts_{rows}.csv"
    if not path.exists():
        write_file(path, rows, seed=2)
    copy = folder / f"built_{rows}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(demo, copy)
    env = {**os.environ, "WAREHOUSE_PATH": str(copy / "warehouse.duckdb"),
           "PUBLISHED_PATH": str(copy / "published.duckdb"),
           "CALLBACK_LANDING_DIR": str(copy / "callbacks")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "contacts", "load",  # noqa: S603
                           str(path)], env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    build = next((line.strip() for line in done.stderr.splitlines() if "dbt build" in line), "")
    return {"rows": rows, "with_build_seconds": round(seconds, 1), "dbt": build}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--build-rows", type=int, nargs="*", default=[3, 1_000_000],
                        help="sizes loaded with their rebuild into the demo's warehouse")
    parser.add_argument("--out", type=Path, default=Path("bench/results-contacts.json"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            result = measure(rows, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
        if args.build_rows:
            demo = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "orchestration.cli", "demo",  # noqa: S603
                            "--warehouse-dir", str(demo), "--callback-hours", "0"],
                           capture_output=True, text=True, check=True, cwd=tmp)
            for rows in args.build_rows:
                result = measure_with_build(rows, Path(tmp), demo)
                print(json.dumps(result), flush=True)
                results.append(result)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
