"""The published read-only copy of the marts (why a file swap: orchestration/lib/publish.py)."""

import datetime as dt

import dagster as dg

from orchestration.defs.alerts.assets import ALERTS_KEY  # published with the marts it judges
from orchestration.defs.dbt.assets import warehouse_models
from orchestration.defs.dbt.project import build_fingerprint
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.alerts.engine import deliver
from orchestration.lib.alerts.run_failure import end_run_failure, reopen_run_failure
from orchestration.lib.audience.lookup import lookup_key
from orchestration.lib.build_inputs import forget_published, record_published
from orchestration.lib.callbacks.landing import clear_unpublished
from orchestration.lib.publish import publish
from orchestration.lib.reports import write_finalized_reports

MART_KEYS = [key for key in warehouse_models.keys if key.path[0] == "marts"]


@dg.asset(
    key=dg.AssetKey(["published", "marts"]),
    deps=[*MART_KEYS, ALERTS_KEY],
    group_name="published",
    kinds={"duckdb"},
    pool=WRITER_POOL,  # reads the warehouse file, which a writer would hold locked
    description="A read-only copy of every mart for BI tools, swapped in atomically after each "
    "successful build. Phone numbers masked unless PUBLISH_PHONE_NUMBERS=full.",
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    settings = warehouse.settings
    now = dt.datetime.now(dt.UTC)
    # A run that publishes ends a failure before it (run_failed): resolved in the copy it
    # publishes, told once the copy is out, reopened if publishing fails.
    with warehouse.connect() as con:
        ended = end_run_failure(con, settings.alert_delivery, now)
    try:
        result = publish(settings.warehouse_path, settings.published_path,
                         phone_numbers=settings.publish_phone_numbers,
                         run_id=context.run.run_id, account_timezone=settings.account_timezone,
                         finalization_hours=settings.dlr_finalization_hours,
                         lookup_key=lookup_key(settings))
    except BaseException:
        if ended:
            with warehouse.connect() as con:
                reopen_run_failure(con, now)
        raise
    clear_unpublished(settings.callback_landing_dir)  # every callback loaded is published now
    with warehouse.connect() as con:  # what the next run compares its inputs with
        if context.run.asset_selection:
            # A part of the models was rebuilt (contacts load): what else changed since the
            # last whole build is not in this copy, so the next run builds everything.
            forget_published(con)
        else:
            record_published(con, build_fingerprint(con, settings), now)
    if ended:
        context.log.info("alert run_failed resolved: this run published")
        with warehouse.connect() as con:
            deliver(con, settings.alert_delivery, now)
    context.log.info("published %d tables to %s", len(result.tables), result.path)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.path.resolve())),
        "phone_numbers": result.phone_numbers,
        "row_counts": dg.MetadataValue.json(result.tables),
        # How many campaigns' facts were refreshed in place of the previous copy (-1: the
        # whole copy was rebuilt).
        "refreshed_campaigns": -1 if result.refreshed_campaigns is None
        else result.refreshed_campaigns,
    })


@dg.asset(
    key=dg.AssetKey(["published", "reports"]),
    deps=[published_marts],
    group_name="published",
    kinds={"html"},
    description="Offline HTML reports beside the published copy (reports/): one per campaign "
    "that became final (written once, its figures can no longer change) and a fresh account "
    "overview linking to them.",
)
def campaign_reports(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    settings = warehouse.settings
    written = write_finalized_reports(settings.published_path)
    context.log.info("wrote %d campaign reports and the overview %s", len(written.campaigns),
                     written.overview)
    return dg.MaterializeResult(metadata={
        "overview": dg.MetadataValue.path(str(written.overview.resolve()))
        if written.overview else "",
        "campaign_reports_written": len(written.campaigns),
        "campaigns": dg.MetadataValue.json(sorted(written.campaigns)),
    })
