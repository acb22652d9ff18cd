"""The Dagster code location: the single `Definitions` entry point.

Everything under `defs/` is found by `load_from_defs_folder`; what depends on the settings (the
resources, the schedule's cron and zone) is bound here, from one `Settings` object, so the CLI
can run the very same definitions with settings of its own.
"""

from pathlib import Path

import dagster as dg

from orchestration.defs.alerts.sensors import run_failure_alert_sensor
from orchestration.defs.operations.jobs import daily_schedule, refresh_schedule
from orchestration.defs.resources import resources_for
from orchestration.lib.settings import Settings, load_settings
from orchestration.run_output import QUIET_LOGGER, step_lines_logger

HERE = Path(__file__).resolve().parent


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=HERE),
        dg.Definitions(resources=resources_for(settings),
                       schedules=[daily_schedule(settings), refresh_schedule(settings)],
                       sensors=[run_failure_alert_sensor(settings)],
                       # Dagster's console logger stays the default (the UI, -v); the CLI
                       # picks the plain one.
                       loggers={"console": dg.colored_console_logger,
                                QUIET_LOGGER: step_lines_logger}),
    )


@dg.definitions
def defs() -> dg.Definitions:
    # Credentials are checked when a run first calls the API, so the UI loads without them.
    return build_definitions(load_settings(require_credentials=False))
