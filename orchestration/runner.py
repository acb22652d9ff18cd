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
    """Run the daily job of the code location, bound to `settings`: every asset and check under
    defs/ that the job selects, so a new asset needs no change here."""
    from orchestration.definitions import build_definitions
    from orchestration.defs.operations.jobs import DAILY_JOB

    job = build_definitions(settings).resolve_job_def(DAILY_JOB)
    config = ingest_config or {}
    run_config = {
        "ops": {name: {"config": config} for name in ("voice_ingest", "sms_ingest")},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = job.execute_in_process(run_config=run_config, instance=instance,
                                    raise_on_error=False)
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
