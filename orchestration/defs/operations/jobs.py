"""The daily run and the intraday refresh, and their schedules.

daily_pipeline (DAILY_RUN_CRON, default 02:00 in ACCOUNT_TIMEZONE): load landed callbacks, pull
new and not-yet-final campaigns, build the models, publish. intraday_refresh (every
REFRESH_INTERVAL_MINUTES, default 15): load landed callbacks, rebuild the campaigns they touched
(the incremental models' watermark), republish; no API requests.

Both share the one writer. The refresh is skipped, not queued, when a run holds the warehouse
or no callbacks are waiting: the callbacks stay on disk, and the next refresh or the daily run
loads them, so skipping loses nothing and never piles runs up behind a long daily run.
In-process executor: every step writes the same DuckDB file, so they run one after another
anyway, and the multiprocess executor costs ~5x more overhead per run (docs/measurements.md).
"""

import dagster as dg

from orchestration.defs.brevo.assets import brevo_ingest
from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
from orchestration.lib.callbacks.landing import has_unpublished, waiting_segments
from orchestration.lib.run_lock import holder_if_busy
from orchestration.lib.settings import Settings

DAILY_JOB = "daily_pipeline"
REFRESH_JOB = "intraday_refresh"

daily_pipeline = dg.define_asset_job(
    name=DAILY_JOB,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load callbacks, ingest new and not-yet-final campaigns, dbt build, publish.",
)

intraday_refresh = dg.define_asset_job(
    name=REFRESH_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(voice_ingest, sms_ingest,
                                                                  brevo_ingest),
    executor_def=dg.in_process_executor,
    description="Load landed callbacks, rebuild the campaigns they touched, publish (no API "
    "requests).",
)


def daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="daily_pipeline_schedule",
        job=daily_pipeline,
        cron_schedule=settings.daily_run_cron,
        execution_timezone=settings.account_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def refresh_cron(minutes: int) -> str:
    """Every `minutes` (REFRESH_INTERVAL_MINUTES) as a cron expression."""
    if minutes < 60:
        return f"*/{minutes} * * * *"
    return f"0 */{minutes // 60} * * *"  # whole hours (settings check it)


def refresh_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(name="intraday_refresh_schedule", job=intraday_refresh,
                 cron_schedule=refresh_cron(settings.refresh_interval_minutes),
                 execution_timezone=settings.account_timezone,
                 default_status=dg.DefaultScheduleStatus.RUNNING)
    def _refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        busy = holder_if_busy(settings.warehouse_path)
        if busy:
            return dg.SkipReason(f"{busy} holds the warehouse; the callbacks wait on disk")
        landing = settings.callback_landing_dir
        if not waiting_segments(landing) and not has_unpublished(landing):
            return dg.SkipReason("no callbacks waiting to be loaded")
        return dg.RunRequest()

    return _refresh
