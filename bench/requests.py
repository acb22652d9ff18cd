"""Request economy: API requests a run makes, against the fewest the data allows.

    python -m bench.requests            # full scale (as bench.run): a load, then 7 daily runs
    python -m bench.requests --quick    # the quick scale

On a real account the provider's rate limit (200 requests a minute, api-contract.md) is the
clock, so requests are what a run costs. The sandbox counts each request it serves; the
minimum is worked out from the sandbox's own data (its generator, not the pipeline):

  list pages        one per page of each campaign list
  campaign records  one per campaign not settled at the previous run (new, running, or with
                    messages still pending): a client has to look at those to know
  new records       per campaign, the pages needed to read once what appeared since the last run
  changed messages  per campaign, the cheaper of one request per message that changed since the
                    last run and re-reading the campaign's pages (the issue counts one per
                    changed message; the cheaper one is the stricter minimum)

Each run's time at the documented rate is computed from its request count (R / 200 minutes),
and one small run is made for real with the client's limiter at 200 a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import sandbox_process
from bench.report import replace_section
from bench.run import DAYS, ROOT, SCALES, START, _day_end, log
from orchestration.sandbox.server import sandbox_environment

SEQUENCE_DAYS = 7
RATE_PER_MINUTE = 200
DETAIL_LIMIT = 1000
LIST_LIMIT = 500
RESULTS = ROOT / "bench"


def _epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


# ---- the minimum, from the sandbox's generator --------------------------------------------

class Truth:
    """What the sandbox serves at a given clock, computed from its generator directly."""

    def __init__(self, scale: dict[str, Any]) -> None:
        from orchestration.sandbox.generator import AccountConfig, plan_account

        def span(text: str) -> tuple[int, int]:
            low, high = text.split(":")
            return int(low), int(high)

        self.config = AccountConfig(
            seed=2026, sms_campaigns=scale["sms_campaigns"],
            sms_messages=span(scale["sms_messages"]),
            voice_campaigns=scale["voice_campaigns"], voice_contacts=span(scale["voice_contacts"]),
            start=dt.datetime.combine(START, dt.time(), dt.UTC),
            end=dt.datetime.combine(START + dt.timedelta(days=DAYS), dt.time(), dt.UTC))
        self.plans = plan_account(self.config)
        self._details: dict[str, Any] = {}

    def details(self, plan: Any) -> Any:
        from orchestration.sandbox.generator import generate_calls, generate_sms

        if plan.campaign_id not in self._details:
            make = generate_sms if plan.channel == "sms" else generate_calls
            self._details[plan.campaign_id] = make(plan, self.config)
        return self._details[plan.campaign_id]

    def settled(self, plan: Any, now: int) -> bool:
        """Terminal, with nothing pending: what a client can see from the campaign's stats."""
        from orchestration.sandbox.render import sms_campaign_object, voice_campaign_object

        render = voice_campaign_object if plan.channel == "voice" else sms_campaign_object
        if render(plan, now)["status"] not in {"Completed", "Failed", "Canceled"}:
            return False
        stats = self.details(plan).stats_at(now)
        return stats["pending"] == 0 and stats.get("in_progress", 0) == 0

    def minimum(self, before: int | None, now: int) -> dict[str, int]:
        """The fewest requests a run at `now` needs after one at `before` (None: the first)."""
        visible = {channel: [p for p in self.plans if p.channel == channel and p.created_at <= now]
                   for channel in ("voice", "sms")}
        lists = sum(max(1, math.ceil((len(plans) + 1) / LIST_LIMIT)) for plans in visible.values())
        records = new_pages = changed = 0
        for plan in visible["voice"] + visible["sms"]:
            known = before is not None and plan.created_at <= before
            if known and self.settled(plan, before):
                continue
            records += 1
            details = self.details(plan)
            if plan.channel == "voice":
                seen = details.visible_rows(before).size if known else 0
                new = details.visible_rows(now).size - seen
                new_pages += math.ceil(new / DETAIL_LIMIT) if new else 0
                if not known:
                    new_pages += 1 if new % DETAIL_LIMIT == 0 else 0  # the empty/short last page
                continue
            pages = plan.size // DETAIL_LIMIT + 1  # paging ends on a short (maybe empty) page
            if not known:
                new_pages += pages
                continue
            moved = int(np.count_nonzero(details.stages_at(before) != details.stages_at(now)))
            changed += min(moved, pages)
        return {"list_pages": lists, "campaign_records": records, "new_record_pages": new_pages,
                "changed_messages": changed,
                "total": lists + records + new_pages + changed}


# ---- the pipeline's runs (each in a child process) ---------------------------------------

def stage_run(url: str, warehouse: str) -> dict[str, Any]:
    import os

    import dagster as dg

    from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
    from orchestration.defs.resources import resources_for
    from orchestration.lib.settings import load_settings

    settings = load_settings(
        {**sandbox_environment(url), "WAREHOUSE_PATH": warehouse,
         "PUBLISHED_PATH": str(Path(warehouse).with_name("published.duckdb")),
         "EXOTEL_RATE_LIMIT_PER_MINUTE": os.environ.get("BENCH_RATE_LIMIT_PER_MINUTE", "0")},
        dotenv_path=None)
    before = httpx.get(f"{url}/_sandbox/stats").json()
    started = time.perf_counter()
    result = dg.materialize(
        [voice_ingest, sms_ingest], resources=resources_for(settings),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False)
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit("the run failed")
    after = httpx.get(f"{url}/_sandbox/stats").json()
    kinds = {kind: after.get("requests_by_kind", {}).get(kind, 0)
             - before.get("requests_by_kind", {}).get(kind, 0)
             for kind in after.get("requests_by_kind", {})}
    return {"seconds": seconds, "requests": after["requests"] - before["requests"],
            "records": after["records"] - before["records"], "by_kind": kinds}


def child(url: str, warehouse: Path, environment: dict[str, str] | None = None
          ) -> dict[str, Any]:
    import os

    output = subprocess.run(  # noqa: S603 - this very module
        [sys.executable, "-m", "bench.requests", "--stage", "run", "--args",
         json.dumps({"url": url, "warehouse": str(warehouse)})],
        check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **(environment or {})},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def sandbox_arguments(scale: dict[str, Any], now: str) -> list[str]:
    return ["--seed", "2026", "--sms-campaigns", str(scale["sms_campaigns"]),
            "--sms-messages", scale["sms_messages"], "--voice-campaigns",
            str(scale["voice_campaigns"]), "--voice-contacts", scale["voice_contacts"],
            "--from", START.isoformat(), "--to", (START + dt.timedelta(days=DAYS)).isoformat(),
            "--now", now]


def sequence(scale_name: str) -> dict[str, Any]:
    """A first load at the end of day 24, then a daily run at the end of each of 7 days; the
    last is day 31 on 30 days of history, the daily-growth run of bench.run."""
    scale = SCALES[scale_name]
    truth = Truth(scale)
    first = DAYS - SEQUENCE_DAYS
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp, \
            sandbox_process(*sandbox_arguments(scale, _day_end(first))) as url:
        warehouse = Path(tmp) / "warehouse.duckdb"
        previous: int | None = None
        for day in range(first, DAYS + 1):
            now = _day_end(day)
            httpx.post(f"{url}/_sandbox/clock", json={"now": now}).raise_for_status()
            run = child(url, warehouse)
            minimum = truth.minimum(previous, _epoch(now))
            run.update(day=day, minimum=minimum, ratio=run["requests"] / minimum["total"],
                       minutes_at_rate=run["requests"] / RATE_PER_MINUTE)
            log(f"day {day}: {run['requests']} requests ({run['by_kind']}), minimum "
                f"{minimum['total']} ({minimum}), ratio {run['ratio']:.2f}, "
                f"{run['seconds']:.1f}s here, {run['minutes_at_rate']:.1f} min at the rate limit")
            runs.append(run)
            previous = _epoch(now)
        shutil.rmtree(Path(tmp), ignore_errors=True)
    daily = runs[1:]
    made = sum(r["requests"] for r in daily)
    least = sum(r["minimum"]["total"] for r in daily)
    return {"scale": scale_name, "runs": runs,
            "daily_growth": {"requests": runs[-1]["requests"],
                             "minimum": runs[-1]["minimum"]["total"],
                             "ratio": runs[-1]["ratio"]},
            "seven_days": {"requests": made, "minimum": least, "ratio": made / least,
                           "minutes_at_rate": made / RATE_PER_MINUTE}}


def limited_run() -> dict[str, Any]:
    """One real first load with the client's limiter at 200 a minute, at a small scale."""
    arguments = ["--seed", "3", "--sms-campaigns", "150", "--sms-messages", "500:4000",
                 "--voice-campaigns", "20", "--voice-contacts", "100:1500",
                 "--from", "2026-01-01", "--to", "2026-01-15", "--now", "2026-01-16T00:00:00+05:30"]
    with tempfile.TemporaryDirectory(prefix="bench-limited-") as tmp, \
            sandbox_process(*arguments) as url:
        run = child(url, Path(tmp) / "warehouse.duckdb",
                    {"BENCH_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE)})
    # The limiter is a sliding 60 s window: the first 200 requests go at once, then 200 a minute.
    expected = max(0, run["requests"] - RATE_PER_MINUTE) / RATE_PER_MINUTE * 60
    run.update(computed_seconds=run["requests"] / RATE_PER_MINUTE * 60,
               window_seconds=expected)
    log(f"limited: {run['requests']} requests in {run['seconds']:.1f}s; computed "
        f"{run['computed_seconds']:.0f}s at {RATE_PER_MINUTE}/min, {expected:.0f}s after the "
        "first window's burst")
    return run


START_MARK = "<!-- requests:start -->"
END_MARK = "<!-- requests:end -->"


def _runs_table(result: dict[str, Any]) -> list[str]:
    lines = ["| run | requests (list / campaign / detail / message) | minimum | ratio | "
             "minutes at 200/min |", "| --- | --- | --- | --- | --- |"]
    for run in result["runs"]:
        kinds = run.get("by_kind") or {}
        split = (" / ".join(str(kinds.get(k, 0)) for k in ("list", "campaign", "detail",
                                                            "message")) if kinds else "-")
        label = "first load" if run is result["runs"][0] else f"day {run['day']}"
        lines.append(f"| {label} | {run['requests']:,} ({split}) | {run['minimum']['total']:,} | "
                     f"{run['ratio']:.2f} | {run['minutes_at_rate']:.1f} |")
    return lines


def write_section(scale: str) -> None:
    """The "Requests" section of BENCHMARKS.md, from the results of this scale (before/after)."""
    names = {"before": f"results-requests-{scale}-before.json",
             "": f"results-requests-{scale}.json"}
    results = {label: json.loads((RESULTS / name).read_text()) for label, name in names.items()
               if (RESULTS / name).exists()}
    after = results.get("")
    if after is None:
        return
    lines = [START_MARK, "## Requests (`python -m bench.requests`, part of `make bench`)", "",
             f"Measured {after['measured_at']} at the {scale} scale: a first load at the end of "
             f"day {DAYS - SEQUENCE_DAYS}, then a daily run at the end of each of the next "
             f"{SEQUENCE_DAYS} days (the last is day 31 on 30 days of history, the daily-growth "
             "run). The minimum is worked out from the sandbox's generator: one request per "
             "list page, per campaign not settled at the previous run, per page of records new "
             "since then, and per message that changed since then (or the campaign's pages, if "
             "fewer).", ""]
    if "before" in results:
        before = results["before"]
        lines += [f"Before (the code as of this change's parent, {before['measured_at']}): "
                  f"7 days {before['seven_days']['requests']:,} requests against a minimum of "
                  f"{before['seven_days']['minimum']:,} = **{before['seven_days']['ratio']:.2f}x**"
                  f", {before['seven_days']['minutes_at_rate']:.0f} minutes at 200/min; the "
                  f"daily-growth run {before['daily_growth']['ratio']:.2f}x.", ""]
        lines += _runs_table(before) + [""]
    lines += [f"After: 7 days {after['seven_days']['requests']:,} requests against a minimum of "
              f"{after['seven_days']['minimum']:,} = **{after['seven_days']['ratio']:.2f}x** "
              f"(target <= 1.2x), {after['seven_days']['minutes_at_rate']:.0f} minutes at "
              f"200/min; the daily-growth run {after['daily_growth']['ratio']:.2f}x.", ""]
    lines += _runs_table(after) + [""]
    limited = after.get("limited")
    if limited:
        lines += [f"Real run with the client's limiter at 200/min (a first load of a small "
                  f"account): {limited['requests']:,} requests took {limited['seconds']:.0f} s; "
                  f"the computed R/200 minutes says {limited['computed_seconds']:.0f} s, and the "
                  f"limiter's sliding window (the first 200 at once, then 200 a minute) "
                  f"{limited['window_seconds']:.0f} s. The computed figures above are R/200 "
                  "minutes: an upper bound, within one minute of the limiter.", ""]
    lines.append(END_MARK)
    section = "\n".join(lines)
    replace_section(START_MARK, END_MARK, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--label", default="", help="a name for this result (e.g. before)")
    parser.add_argument("--no-limited", action="store_true", help="skip the 200/min real run")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage_run(**json.loads(args.args))))
        return
    scale = "quick" if args.quick else "full"
    result = {"measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "label": args.label, **sequence(scale)}
    if not args.no_limited:
        result["limited"] = limited_run()
    suffix = f"-{args.label}" if args.label else ""
    path = RESULTS / f"results-requests-{scale}{suffix}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    if not args.label:
        write_section(scale)
    log(f"wrote {path.relative_to(ROOT)}" + ("" if args.label else " and BENCHMARKS.md"))


if __name__ == "__main__":
    main()
