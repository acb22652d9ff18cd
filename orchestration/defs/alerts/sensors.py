"""The run_failed alert for runs launched from the Dagster UI or a schedule: a failed run never
reaches its alerts step, so this sensor (run by the Dagster daemon, which `dagster dev` starts)
raises it. The CLI raises it itself (orchestration/runner.py); both keep one alert open, so a
run seen by both is told once."""

from __future__ import annotations

import dagster as dg

from orchestration.lib.alerts.run_failure import failure_cause, record_run_failure
from orchestration.lib.settings import Settings


def run_failure_alert_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Raises the run_failed alert (kept in marts.alerts, sent to the configured "
        "webhook and email) when a run of this code location fails.",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        events = [record.dagster_event for record in context.instance.all_logs(run.run_id)
                  if record.dagster_event is not None]
        cause = failure_cause(events, default=context.failure_event.message
                              or "see the run's log in the Dagster UI")
        outcomes = record_run_failure(settings, run.job_name, run.run_id, cause)
        for outcome in outcomes:
            if not outcome.sent:
                context.log.warning("run_failed alert not sent by %s: %s", outcome.channel,
                                    outcome.error)

    return run_failure_alert
