"""One Brevo ingest run (pull.py decides what is read): list the campaigns, export those that
changed (and once after their retry window), read the transactional days whose counts changed,
and log the run with its requests and the budget left. The asset runs it at the wall clock;
the request benchmark at the sandbox's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from orchestration.defs.brevo.pull import (
    changed_campaigns,
    days_to_read,
    land_campaigns,
    land_events,
    land_recipients,
    plan_exports,
    read_seen,
    record_pull,
)
from orchestration.defs.warehouse.raw_writer import RawWriter
from orchestration.lib.brevo import (
    BrevoClient,
    BrevoTransientError,
    ExportFailedError,
    ExportNotReadyError,
)
from orchestration.lib.retry import RetryPolicy

# Its runs in raw.ingest_runs (Exotel's are sms and voice).
BREVO_CHANNEL = "brevo_sms"
# Transactional days read again on each run (events arrive late: soft bounces for 72 hours), and
# how far back a first run reads.
LOOKBACK_DAYS = 3
FIRST_RUN_DAYS = 30
# Polls of an export: few and spaced, each one is a request out of 100 an hour.
EXPORT_POLL = RetryPolicy(base_delay_seconds=2.0, max_delay_seconds=30.0)


@dataclass(frozen=True)
class BrevoRun:
    listed: int
    changed: int
    exported: int
    incomplete: int
    recipients: int
    rejected: int
    events: int
    requests: int
    by_kind: dict[str, int]
    budget_remaining: int | None


def ingest_account(raw: RawWriter, client: BrevoClient, *, run_id: str,
                   now: dt.datetime, export_wait_seconds: float,
                   warn: Callable[..., None]) -> BrevoRun:
    """Everything new at Brevo since the last run, into the raw lake (a commit per campaign
    export, per transactional day, and for the list and the run log); `warn` is told what is
    retried on the next run."""
    con = raw.con
    listed = list(client.iter_sms_campaigns())
    changed = changed_campaigns(con, listed)
    land_campaigns(raw, changed, run_id, now)
    raw.commit("brevo campaign versions")
    plans = plan_exports(listed, read_seen(con), now)
    exported = incomplete = recipients = rejected = 0
    for plan in plans:
        campaign = plan.campaign
        try:
            process = client.request_recipients_export(campaign["id"])
            url = client.wait_for_export(process, poll=EXPORT_POLL,
                                         max_wait_seconds=export_wait_seconds)
            rows = client.download_recipients(url)
        except (ExportNotReadyError, ExportFailedError, BrevoTransientError) as error:
            incomplete += 1
            record_pull(raw, campaign, run_id, now, outcome="incomplete", detail=str(error))
            raw.commit(f"brevo campaign {campaign['id']} export incomplete")
            warn("brevo campaign %s: %s", campaign["id"], error)
            continue
        con.execute("BEGIN")
        kept, bad = land_recipients(raw, str(campaign["id"]), process, rows, run_id, now)
        record_pull(raw, campaign, run_id, now, outcome="complete", process_id=process,
                    recipients=kept, rejected=bad, is_final=plan.final)
        con.execute("COMMIT")
        raw.commit(f"brevo campaign {campaign['id']} export")
        exported, recipients, rejected = exported + 1, recipients + kept, rejected + bad
    events = event_rejects = 0
    first = con.execute("SELECT count(*) = 0 FROM raw.brevo_transactional_days").fetchone()[0]
    start = now.date() - dt.timedelta(days=(FIRST_RUN_DAYS if first else LOOKBACK_DAYS) - 1)
    in_transaction = False
    try:
        for day, counts in days_to_read(con, client.transactional_reports(start, now.date())):
            con.execute("BEGIN")
            in_transaction = True
            added, bad = land_events(raw, day, counts,
                                     client.iter_transactional_events(day, day), run_id, now)
            con.execute("COMMIT")
            in_transaction = False
            raw.commit(f"brevo transactional {day}")
            events, event_rejects = events + added, event_rejects + bad
    except BrevoTransientError as error:
        if in_transaction:  # the day's events and counts go together, or not at all
            con.execute("ROLLBACK")
            raw.discard()
        warn("brevo transactional events: %s (read again next run)", error)
    spent = client.stats.requests
    left = client.budget.remaining
    kinds = client.stats.by_kind
    # The run in the shared run log (status, freshness, the rejected-share rule), its
    # channel brevo_sms: list requests are the change detector, the rest follow changes.
    raw.insert_row("ingest_runs", {
        "provider": "brevo", "channel": BREVO_CHANNEL, "run_id": run_id, "started_at": now,
        "finished_at": dt.datetime.now(dt.UTC), "campaigns_listed": len(listed),
        "campaigns_pulled": exported, "campaigns_not_found": 0,
        "records": recipients + rejected + events + event_rejects,
        "rejected": rejected + event_rejects, "requests": spent,
        "list_requests": kinds["list"], "campaign_requests": kinds["campaign"],
        "detail_requests": kinds["export"] + kinds["process"] + kinds["file"],
        "message_requests": kinds["events"] + kinds["reports"],
        "retries": client.stats.retries, "campaigns_skipped": len(listed) - len(plans),
        "campaigns_failed": incomplete, "budget_remaining": left,
        "budget_limit": client.budget.limit})
    raw.commit("brevo run")
    return BrevoRun(len(listed), len(changed), exported, incomplete, recipients,
                    rejected + event_rejects, events, spent, dict(kinds), left)
