"""The daily run: pull new and not-yet-final campaigns, build the models, publish.

Scheduled at DAILY_RUN_CRON (default 02:00) in ACCOUNT_TIMEZONE. In-process executor: every
step writes the same DuckDB file, so they run one after another anyway, and the multiprocess
executor costs ~5x more overhead per run (docs/measurements.md).
"""

import dagster as dg

from orchestration.lib.settings import Settings

DAILY_JOB = "daily_pipeline"

daily_pipeline = dg.define_asset_job(
    name=DAILY_JOB,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest new and not-yet-final campaigns, dbt build, publish the marts.",
)


def daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="daily_pipeline_schedule",
        job=daily_pipeline,
        cron_schedule=settings.daily_run_cron,
        execution_timezone=settings.account_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
