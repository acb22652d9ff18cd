"""Brevo's ingest: campaigns, their recipients and transactional SMS into raw (pull.py decides
what is read). Runs when BREVO_API_KEY is set; without it the asset says so and reads nothing."""

import datetime as dt

import dagster as dg

from orchestration.defs.brevo.run import ingest_account
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.brevo import BrevoClient

BREVO_KEY = dg.AssetKey(["raw", "brevo_sms"])


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
        run = ingest_account(warehouse.raw_writer(con), client, run_id=run_id, now=now,
                             export_wait_seconds=settings.brevo_export_wait_seconds,
                             warn=context.log.warning)
    left = run.budget_remaining
    context.log.info(
        "%d campaigns listed, %d changed, %d exported (%d incomplete: next run), %d recipient "
        "rows, %d transactional events new; %d requests%s", run.listed, run.changed,
        run.exported, run.incomplete, run.recipients, run.events, run.requests,
        f", {left} left in Brevo's window" if left is not None else "")
    return dg.MaterializeResult(metadata={
        "requests": run.requests, "requests_by_kind": dg.MetadataValue.json(run.by_kind),
        "campaigns_listed": run.listed, "campaigns_exported": run.exported,
        "exports_incomplete": run.incomplete, "recipients": run.recipients,
        "rejected": run.rejected, "transactional_events": run.events,
        "budget_remaining": -1 if left is None else left})

