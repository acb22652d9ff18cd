"""Run the daily pipeline (ingest -> dbt build -> publish) from the CLI, outside `dagster dev`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dagster as dg

from orchestration.lib.exotel import (
    AuthenticationError,
    ExotelClient,
    ExotelError,
    RetryPolicy,
    TransientApiError,
)
from orchestration.lib.settings import Settings

# A quick look before a long run: wrong credentials or an unreachable host fail in seconds.
PREFLIGHT_RETRY = RetryPolicy(max_attempts=2, base_delay_seconds=0.5, max_elapsed_seconds=15)


class PipelineError(RuntimeError):
    """The run could not start or did not finish; the message says what to fix."""


@dataclass(frozen=True)
class Campaigns:
    voice: list[dict[str, Any]]
    sms: list[dict[str, Any]]

    @property
    def ids(self) -> set[str]:
        return {c["id"] for c in self.voice} | {c["id"] for c in self.sms}


def preflight(settings: Settings) -> Campaigns:
    """List the account's campaigns with a fast-failing client; raise PipelineError if we can't."""
    try:
        with ExotelClient.from_settings(settings, retry=PREFLIGHT_RETRY,
                                        timeout_seconds=15) as client:
            return Campaigns(list(client.iter_voice_campaigns()),
                             list(client.iter_sms_campaigns()))
    except AuthenticationError as error:
        raise PipelineError(str(error)) from None
    except TransientApiError as error:
        raise PipelineError(
            f"cannot reach the API at {settings.base_url}: {error}. "
            "Check EXOTEL_BASE_URL and the network."
        ) from None
    except ExotelError as error:
        raise PipelineError(f"the API at {settings.base_url} answered badly: {error}") from None


def run_pipeline(
    settings: Settings, *, ingest_config: dict[str, Any] | None = None, log_level: str = "INFO"
) -> dg.ExecuteInProcessResult:
    """Materialize the daily job's assets with resources built from `settings`."""
    from dagster_dbt import DbtCliResource

    from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
    from orchestration.defs.exotel.checks import (
        call_attempts_freshness,
        sms_messages_freshness,
    )
    from orchestration.defs.exotel.resources import ExotelApiResource, WarehouseResource
    from orchestration.defs.operations.assets import campaign_reports, published_marts
    from orchestration.defs.warehouse_models.assets import warehouse_models
    from orchestration.defs.warehouse_models.project import DBT_EXECUTABLE, dbt_project

    resources = {
        "exotel": ExotelApiResource(
            base_url=settings.base_url, account_sid=settings.account_sid,
            api_key=settings.api_key, api_token=settings.api_token.reveal(),
            rate_limit_per_minute=settings.rate_limit_per_minute,
            account_timezone=settings.account_timezone,
            dlr_finalization_hours=settings.dlr_finalization_hours,
        ),
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path), published_path=str(settings.published_path),
            publish_phone_numbers=settings.publish_phone_numbers,
        ),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    }
    # dbt reads these from the environment; keep them in step with the settings of this run.
    os.environ["ACCOUNT_TIMEZONE"] = settings.account_timezone
    os.environ["DLR_FINALIZATION_HOURS"] = str(settings.dlr_finalization_hours)
    config = ingest_config or {}
    run_config = {
        "ops": {name: {"config": config} for name in ("voice_ingest", "sms_ingest")},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = dg.materialize(
        [voice_ingest, sms_ingest, warehouse_models, published_marts, campaign_reports,
         call_attempts_freshness,
         sms_messages_freshness],
        resources=resources, run_config=run_config, instance=instance, raise_on_error=False,
    )
    if not result.success:
        failures = [event for event in result.all_events if event.is_step_failure]
        reasons = "; ".join(
            f"{event.step_key}: {event.step_failure_data.error.message.strip().splitlines()[0]}"
            for event in failures if event.step_failure_data and event.step_failure_data.error
        )
        raise PipelineError(
            f"the run failed ({reasons or 'see the log above'}); nothing new was published"
        )
    return result
