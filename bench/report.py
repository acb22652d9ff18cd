"""Write BENCHMARKS.md from bench/results-*.json (the latest full and quick runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [
    # (label, summary key, target text, passes?)
    ("ingest / ceiling", "ingest_to_ceiling", ">= 60%", lambda v: v >= 0.60),
    ("full dbt build (s)", "transform_seconds", "< 60 s at 10M messages", lambda v: v < 60),
    ("daily growth ratio", "daily_growth_ratio", "<= 1.5", lambda v: v <= 1.5),
    ("slowest README query, median (ms)", "readers_max_median_ms", "< 100 ms",
     lambda v: v < 100),
]


def replace_section(start: str, end: str, section: str) -> None:
    """Put `section` (which begins with `start` and ends with `end`) in BENCHMARKS.md in place
    of the one between those markers, or at the end: each benchmark owns its section."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    if start in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _section(result: dict[str, Any]) -> list[str]:
    s = result["summary"]
    lines = [
        f"## {result['scale']} scale: {s['records']:,} records "
        f"({s['sms_messages']:,} SMS messages), medians of {result['runs']} runs",
        "",
        f"Finished {result['finished_at']}.",
        "",
        "| stage | median | peak RSS (MiB) |",
        "| --- | --- | --- |",
        f"| ceiling: fetch + parse every page | {s['ceiling_records_per_second']:,.0f} records/s "
        f"| {s['peak_rss_mib']['ceiling']:,.0f} |",
        f"| ingest: fetch + validate + load | {s['ingest_records_per_second']:,.0f} records/s "
        f"({s['ingest_seconds']:,.1f} s) | {s['peak_rss_mib']['ingest']:,.0f} |",
        f"| transform: full `dbt build` | {s['transform_seconds']:,.1f} s "
        f"| {s['peak_rss_mib']['transform']:,.0f} |",
        f"| publish: read-only copy | {s['publish_seconds']:,.1f} s "
        f"| {s['peak_rss_mib']['publish']:,.0f} |",
        *([f"| reports: {s['campaign_reports']:,} campaign reports + overview "
           f"| {s['reports_seconds']:,.1f} s | {s['peak_rss_mib']['reports']:,.0f} |"]
          if "reports_seconds" in s else []),
        f"| readers: slowest README query | {s['readers_max_median_ms']:,.1f} ms "
        f"| {s['peak_rss_mib']['readers']:,.0f} |",
        f"| daily run, 30 days of history | {s['daily_history_seconds']:,.1f} s | |",
        f"| same campaigns, empty warehouse | {s['daily_empty_seconds']:,.1f} s | |",
        "",
        "| target | measured | goal | met |",
        "| --- | --- | --- | --- |",
    ]
    for label, key, goal, check in TARGETS:
        value = s[key]
        shown = f"{value:.0%}" if key == "ingest_to_ceiling" else _fmt(value)
        lines.append(f"| {label} | {shown} | {goal} | {'yes' if check(value) else 'NO'} |")
    readers = result["stages"]["readers"][0]["median_ms"]
    lines += ["", "README queries, median ms (first run): "
              + ", ".join(f"{k} {v:.1f}" for k, v in readers.items()), ""]
    return lines


def write_report() -> None:
    results = {scale: json.loads(path.read_text())
               for scale in ("full", "quick")
               if (path := ROOT / "bench" / f"results-{scale}.json").exists()}
    any_result = next(iter(results.values()))
    machine = any_result["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` / `make bench-quick` (`python -m bench.run`); the raw figures are",
        "in `bench/results-<scale>.json`, to compare a later run with this one.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + ".",
        "",
        "Method: the bundled sandbox API serves a synthetic 31-day account from its own process",
        "over loopback. Each stage runs in a fresh child process (peak RSS is that process's, with",
        "dbt's subprocess for the transform). Ingest starts from an empty warehouse; transform",
        "drops the dbt schemas first and runs a full `dbt build` (models and every test). Daily",
        "growth: the clock moves to the end of day 31, a daily run goes into a copy of the",
        "30-day warehouse (with the 30 days' reports already written), then the same campaigns",
        "are pulled into an empty warehouse; both runs are the daily job: ingest + `dbt build` +",
        "publish + reports.",
        "",
    ]
    for scale in ("full", "quick"):
        if scale in results:
            lines += _section(results[scale])
    if "full" in results and "quick" in results:
        full = results["full"]["summary"]["peak_rss_mib"]["ingest"]
        quick = results["quick"]["summary"]["peak_rss_mib"]["ingest"]
        lines += [f"Ingest peak memory, full / quick scale: {full:,.0f} / {quick:,.0f} MiB = "
                  f"{full / quick:.2f}x (target <= 1.5x).", ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    write_report()
