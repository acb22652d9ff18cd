"""Brevo's ingest: campaigns, their recipients and transactional SMS into raw (pull.py decides
what is read). Runs when BREVO_API_KEY is set; without it the asset says so and reads nothing."""

import datetime as dt

import dagster as dg

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
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.brevo import (
    BrevoClient,
    BrevoTransientError,
    ExportFailedError,
    ExportNotReadyError,
)
from orchestration.lib.retry import RetryPolicy

BREVO_KEY = dg.AssetKey(["raw", "brevo_sms"])
# Its runs in raw.ingest_runs (Exotel's are sms and voice).
BREVO_CHANNEL = "brevo_sms"
# Transactional days read again on each run (events arrive late: soft bounces for 72 hours), and
# how far back a first run reads.
LOOKBACK_DAYS = 3
FIRST_RUN_DAYS = 30
# Polls of an export: few and spaced, each one is a request out of 100 an hour.
EXPORT_POLL = RetryPolicy(base_delay_seconds=2.0, max_delay_seconds=30.0)


@dg.asset(
    key=BREVO_KEY, group_name="raw", kinds={"duckdb", "python"}, pool=WRITER_POOL,
    tags={"pull": "api"},
    description="Brevo SMS: campaigns with their statistics, each changed campaign's recipients "
    "(the export), transactional events by day; the pull ledger (raw.brevo_campaign_pulls).",
)
def brevo_ingest(context: dg.AssetExecutionContext,
                 warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    settings = warehouse.settings
    if not settings.brevo_api_key:
        context.log.info("no BREVO_API_KEY: Brevo not read")
        return dg.MaterializeResult(metadata={"requests": 0, "configured": False})
    run_id, now = context.run.run_id, dt.datetime.now(dt.UTC)
    with warehouse.connect() as con, BrevoClient.from_settings(settings) as client:
        listed = list(client.iter_sms_campaigns())
        changed = changed_campaigns(con, listed)
        land_campaigns(con, changed, run_id, now)
        plans = plan_exports(listed, read_seen(con), now)
        exported = incomplete = recipients = rejected = 0
        for plan in plans:
            campaign = plan.campaign
            try:
                process = client.request_recipients_export(campaign["id"])
                url = client.wait_for_export(process, poll=EXPORT_POLL,
                                             max_wait_seconds=settings.brevo_export_wait_seconds)
                rows = client.download_recipients(url)
            except (ExportNotReadyError, ExportFailedError, BrevoTransientError) as error:
                incomplete += 1
                record_pull(con, campaign, run_id, now, outcome="incomplete", detail=str(error))
                context.log.warning("brevo campaign %s: %s", campaign["id"], error)
                continue
            con.execute("BEGIN")
            kept, bad = land_recipients(con, str(campaign["id"]), process, rows, run_id, now)
            record_pull(con, campaign, run_id, now, outcome="complete", process_id=process,
                        recipients=kept, rejected=bad, is_final=plan.final)
            con.execute("COMMIT")
            exported, recipients, rejected = exported + 1, recipients + kept, rejected + bad
        events = event_rejects = 0
        first = con.execute("SELECT count(*) = 0 FROM raw.brevo_transactional_days").fetchone()[0]
        start = now.date() - dt.timedelta(days=(FIRST_RUN_DAYS if first else LOOKBACK_DAYS) - 1)
        in_transaction = False
        try:
            for day, counts in days_to_read(con, client.transactional_reports(start, now.date())):
                con.execute("BEGIN")
                in_transaction = True
                added, bad = land_events(con, day, counts,
                                         client.iter_transactional_events(day, day), run_id, now)
                con.execute("COMMIT")
                in_transaction = False
                events, event_rejects = events + added, event_rejects + bad
        except BrevoTransientError as error:
            if in_transaction:  # the day's events and counts go together, or not at all
                con.execute("ROLLBACK")
            context.log.warning("brevo transactional events: %s (read again next run)", error)
        spent = client.stats.requests
        left = client.budget.remaining
        kinds = client.stats.by_kind
        # The run in the shared run log (status, freshness, the rejected-share rule), its
        # channel brevo_sms: list requests are the change detector, the rest follow changes.
        con.execute(
            """
            INSERT INTO raw.ingest_runs (
                channel, run_id, started_at, finished_at, campaigns_listed, campaigns_pulled,
                campaigns_not_found, records, rejected, requests, list_requests,
                campaign_requests, detail_requests, message_requests, retries,
                campaigns_skipped, campaigns_failed, provider, budget_remaining, budget_limit)
            VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'brevo', ?, ?)
            """,
            [BREVO_CHANNEL, run_id, now, dt.datetime.now(dt.UTC), len(listed), exported,
             recipients + rejected + events + event_rejects, rejected + event_rejects, spent,
             kinds["list"], kinds["campaign"],
             kinds["export"] + kinds["process"] + kinds["file"], kinds["events"] + kinds["reports"],
             client.stats.retries, len(listed) - len(plans), incomplete, left,
             client.budget.limit])
    context.log.info(
        "%d campaigns listed, %d changed, %d exported (%d incomplete: next run), %d recipient "
        "rows, %d transactional events new; %d requests%s", len(listed), len(changed),
        exported, incomplete, recipients, events, spent,
        f", {left} left in Brevo's window" if left is not None else "")
    return dg.MaterializeResult(metadata={
        "requests": spent, "requests_by_kind": dg.MetadataValue.json(client.stats.by_kind),
        "campaigns_listed": len(listed), "campaigns_exported": exported,
        "exports_incomplete": incomplete, "recipients": recipients,
        "rejected": rejected + event_rejects, "transactional_events": events,
        "budget_remaining": -1 if left is None else left})

