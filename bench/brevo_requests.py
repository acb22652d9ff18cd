"""Brevo's request economy: what a first load and each of 7 daily runs cost, against the fewest
requests the data allows (issue 27), and what an account can hold within 100 requests an hour.

    python -m bench.brevo_requests

At 100 requests an hour (../shared/brevo-contract.md) requests are Brevo's clock. The bundled
Brevo sandbox serves one account; each run is the real ingest (`defs/brevo/run.py`) at the
sandbox's clock, a day apart. The minimum is worked out from the sandbox's own model, not from
the pipeline's state:

  list       one page of the campaign list per run (up to 1,000 campaigns a page)
  exports    per campaign whose status or statistics changed since its last export, and once
             more after its 72-hour retry window closed: 3 requests (ask, one poll, the file)
  reports    one request per run for the transactional days' counts (the change detector)
  events     per day whose counts changed: its event pages, read until a short one
             (floor(N / 100) + 1 for N events)
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.run import ROOT, log

RESULTS = ROOT / "bench" / "results-brevo-requests.json"
DAILY_RUNS = 7
EXPORT_REQUESTS = 3  # ask for the file, poll it once, download it
EVENT_PAGE = 100
BUDGET_PER_HOUR = 100
FIRST_RUN_DAYS, LOOKBACK_DAYS = 30, 3


def _account(start: dt.datetime):
    from orchestration.sandbox.brevo import BrevoAccountConfig

    return BrevoAccountConfig(seed=27, campaigns=12, recipients=(200, 1_500),
                              transactional_per_day=(50, 300), start=start,
                              end=start + dt.timedelta(days=21))


class Minimum:
    """The fewest requests each run needs, from the sandbox's account model."""

    def __init__(self, account: Any) -> None:
        self.account = account
        self.exported: dict[int, tuple[str, str, str]] = {}  # campaign -> version exported
        self.final: set[int] = set()
        self.days: dict[dt.date, str] = {}  # day -> counts last read

    def run(self, now: dt.datetime) -> dict[str, int]:
        from orchestration.defs.brevo.pull import campaign_key, window_closed

        epoch = int(now.timestamp())
        exports = 0
        for campaign in self.account.campaigns.values():
            if self.account.status(campaign, epoch) in ("absent", "queued"):
                continue
            record = self.account.campaign_json(campaign, epoch)
            if campaign.id in self.final:
                continue
            closed = window_closed(record, now)
            if self.exported.get(campaign.id) != campaign_key(record) or closed:
                exports += 1
                self.exported[campaign.id] = campaign_key(record)
                if closed:
                    self.final.add(campaign.id)
        first = not self.days
        start = now.date() - dt.timedelta(days=(FIRST_RUN_DAYS if first else LOOKBACK_DAYS) - 1)
        pages = 0
        for report in self.account.reports(epoch, start, now.date()):
            day = dt.date.fromisoformat(report["date"])
            counts = json.dumps({k: v for k, v in report.items() if k != "date"}, sort_keys=True)
            events = sum(report.get(k, 0) for k in ("requests", "delivered", "hardBounces",
                                                    "softBounces", "blocked", "unsubscribed",
                                                    "replied", "accepted", "rejected",
                                                    "skipped"))
            if self.days.get(day) != counts and events:
                listed = len(self.account.events(epoch, day, day))
                pages += listed // EVENT_PAGE + 1
            self.days[day] = counts
        return {"list": 1, "exports": exports * EXPORT_REQUESTS, "reports": 1, "events": pages}


def _run(server: Any, warehouse: Path, run_id: str) -> dict[str, Any]:
    from orchestration.defs.brevo.run import ingest_account
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.brevo import BrevoClient
    from orchestration.lib.retry import RetryPolicy
    from orchestration.lib.settings import load_settings
    from orchestration.sandbox.brevo import SANDBOX_BREVO_KEY

    settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                             require_credentials=False)
    started = dt.datetime.now(dt.UTC)
    # Waits move the sandbox's clock, so a run costs its requests, not wall-clock time.
    client = BrevoClient(SANDBOX_BREVO_KEY, base_url=server.url, sleep=server.advance,
                         retry=RetryPolicy(max_attempts=8),
                         clock=lambda: (server.now - started).total_seconds())
    with Warehouse(settings).connect() as con, client:
        run = ingest_account(Warehouse(settings).raw_writer(con), client, run_id=run_id,
                             now=server.now,
                             export_wait_seconds=120, warn=lambda *a: None)
    return {"requests": run.requests, "by_kind": run.by_kind, "exported": run.exported,
            "incomplete": run.incomplete, "events": run.events, "recipients": run.recipients}


def capacity(runs: list[dict[str, Any]], events_per_message: float) -> dict[str, Any]:
    """What fits in 100 requests an hour (2,400 a day: a run past its window waits for the
    reset, so a big day's run takes hours, not more requests), from the measured costs: a daily
    run spends its list and reports requests, 2 exports per campaign over its life (changed,
    then final; a campaign sending over several runs costs one more per run) and each
    transactional day's event pages about 3 times (read again while its 72 hours of late events
    change its counts)."""
    budget = BUDGET_PER_HOUR * 24
    fixed = 2  # list + reports, once a day
    per_campaign = 2 * EXPORT_REQUESTS
    per_message_day = 3 * events_per_message / EVENT_PAGE  # pages a message costs, re-reads in
    # Pulls alone: campaigns and transactional messages a day that use the whole day's budget.
    campaigns_only = (budget - fixed) // per_campaign
    messages_only = int((budget - fixed - 3) / per_message_day)
    return {
        "budget_per_day": budget,
        "requests_per_campaign": per_campaign,
        "events_per_transactional_message": round(events_per_message, 2),
        "campaigns_a_day_without_transactional": int(campaigns_only),
        "transactional_messages_a_day_without_campaigns": messages_only,
        "with_20_campaigns_a_day_transactional_messages": int(
            (budget - fixed - 20 * per_campaign - 3) / per_message_day),
        "webhooks": "webhooks cost no request; they do not replace the pulls (the pulls stay "
                    "the record; webhooks make the marts current between runs), so the "
                    "capacity is the same with them on",
        "measured_daily_runs_max_requests": max(r["requests"] for r in runs[1:]),
    }


def main() -> None:
    from orchestration.sandbox.brevo import BrevoAccountConfig, BrevoSandbox

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    config: BrevoAccountConfig = _account(start)
    first = start + dt.timedelta(days=12, hours=6)
    results = []
    with tempfile.TemporaryDirectory(prefix="brevo-bench-") as tmp, \
            BrevoSandbox(config, now=first).start() as server:
        minimum = Minimum(server.account)
        messages = server.account.transactional
        events_per_message = sum(len(m.events) for m in messages) / len(messages)
        warehouse = Path(tmp) / "warehouse.duckdb"
        for day in range(DAILY_RUNS + 1):
            at = first + dt.timedelta(days=day)
            server.now = at
            need = minimum.run(at)
            got = _run(server, warehouse, f"bench-{day}")
            floor = sum(need.values())
            results.append({"run": "first load" if day == 0 else f"day {day}",
                            "at": at.isoformat(), "requests": got["requests"],
                            "minimum": floor, "minimum_by_kind": need,
                            "by_kind": got["by_kind"], "exports": got["exported"],
                            "incomplete": got["incomplete"],
                            "ratio": round(got["requests"] / floor, 3) if floor else None})
            log(f"{results[-1]['run']:>10}: {got['requests']:>4} requests, minimum {floor:>4} "
                f"({need}), ratio {results[-1]['ratio']}")
    total = sum(r["requests"] for r in results)
    floor = sum(r["minimum"] for r in results)
    summary = {"requests": total, "minimum": floor, "ratio": round(total / floor, 3),
               "worst_run_ratio": max(r["ratio"] for r in results if r["ratio"]),
               "capacity": capacity(results, events_per_message)}
    RESULTS.write_text(json.dumps({"runs": results, "summary": summary}, indent=2) + "\n")
    log(f"all runs: {total} requests against a minimum of {floor} ({summary['ratio']}x); "
        f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
