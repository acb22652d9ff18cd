"""Run the daily pipeline (ingest -> dbt build -> publish) from the CLI, outside `dagster dev`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from orchestration.defs.warehouse.lake_binding import check_binding, warehouse_lake
from orchestration.defs.warehouse.resources import open_lake
from orchestration.lib.alerts.run_failure import failure_cause, record_run_failure
from orchestration.lib.exotel import (
    AuthenticationError,
    ExotelClient,
    ExotelError,
    RetryPolicy,
    TransientApiError,
)
from orchestration.lib.lake import LakeError
from orchestration.lib.run_lock import WarehouseBusyError, run_lock
from orchestration.lib.settings import ConfigError, Settings
from orchestration.run_output import QUIET_LOGGER

# A quick look before a long run: wrong credentials or an unreachable host fail in seconds.
PREFLIGHT_RETRY = RetryPolicy(max_attempts=2, base_delay_seconds=0.5, max_elapsed_seconds=15)


class PipelineError(RuntimeError):
    """The run could not start or did not finish; the message says what to fix."""


class WarehouseBusy(PipelineError):
    """Another run holds the warehouse (the CLI exits 3)."""


@dataclass(frozen=True)
class Campaigns:
    voice: list[dict[str, Any]]
    sms: list[dict[str, Any]]

    @property
    def ids(self) -> set[str]:
        return {str(c.get("id")) for c in [*self.voice, *self.sms]}


@contextmanager
def exclusive_run(settings: Settings) -> Iterator[None]:
    """Hold the warehouse for a whole CLI run, found busy or unwritable before the API is
    called. The run's own resources take the same lock again (it is re-entrant)."""
    path = settings.warehouse_path
    if path.is_dir():
        raise ConfigError(f"WAREHOUSE_PATH {path} is a folder: give the path of a .duckdb file")
    with ExitStack() as stack:
        try:
            stack.enter_context(run_lock(path, wait_seconds=settings.run_lock_wait_seconds))
        except WarehouseBusyError as error:
            raise WarehouseBusy(str(error)) from None
        except OSError as error:
            raise ConfigError(f"WAREHOUSE_PATH {path} cannot be written ({error.strerror}): "
                              "choose a folder this user can write to") from None
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"WAREHOUSE_PATH {path} is read-only for this user")
        try:  # one writer per lake too, and the lake this warehouse's own
            lake = open_lake(settings)
            stack.enter_context(lake.writing(wait_seconds=settings.run_lock_wait_seconds))
            check_binding(_bound_lake(path), lake, path.resolve())
        except WarehouseBusyError as error:
            raise WarehouseBusy(str(error)) from None
        except LakeError as error:
            raise ConfigError(str(error)) from None
        except OSError as error:
            raise ConfigError(f"LAKE_PATH {settings.lake_root} cannot be written "
                              f"({error.strerror}): choose a folder this user can write to"
                              ) from None
        yield


def _bound_lake(warehouse: Path) -> tuple[str, str] | None:
    """The lake the warehouse file was last bound to (read while the run lock is held)."""
    if not warehouse.exists():
        return None
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return warehouse_lake(con)
    finally:
        con.close()


def preflight(settings: Settings) -> Campaigns:
    """List the account's campaigns with a fast-failing client; raise PipelineError if we can't.
    Exotel only: Brevo's list is its ingest's change detector, and at 100 requests an hour a
    listing to check the key would cost one every run (a wrong key stops its step in one line)."""
    settings.require_credentials()
    if not settings.exotel_configured:
        return Campaigns([], [])
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
    settings: Settings, *, ingest_config: dict[str, Any] | None = None, log_level: str = "INFO",
    refresh: bool = False, step_lines: bool = False, downstream_of: Sequence[dg.AssetKey] = (),
) -> dg.ExecuteInProcessResult:
    """Run the daily job of the code location (or, with `refresh`, the intraday refresh), bound
    to `settings`: every asset and check under defs/ that the job selects, so a new asset needs
    no change here. `step_lines`: print the run's own messages as plain lines (the CLI without
    -v) instead of Dagster's log format. `downstream_of`: run only those assets and everything
    downstream of them (dagster-dbt then builds the selected models alone)."""
    from orchestration.definitions import build_definitions
    from orchestration.defs.operations.jobs import DAILY_JOB, REFRESH_JOB

    definitions = build_definitions(settings)
    job = definitions.resolve_job_def(REFRESH_JOB if refresh else DAILY_JOB)
    selection = None
    if downstream_of:
        graph = definitions.resolve_asset_graph()
        chosen = dg.AssetSelection.assets(*downstream_of).downstream().resolve(graph)
        selection = sorted(chosen & set(job.asset_layer.asset_graph.get_all_asset_keys()))
    logger = QUIET_LOGGER if step_lines else "console"
    run_config: dict[str, Any] = {"loggers": {logger: {"config": {"log_level": log_level}}}}
    if not refresh:
        config = ingest_config or {}
        run_config["ops"] = {name: {"config": config} for name in ("voice_ingest", "sms_ingest")}
    home = os.environ.get("DAGSTER_HOME")
    if home and not os.path.isdir(home):
        raise ConfigError(f"DAGSTER_HOME {home} is not a folder: create it (mkdir -p {home}) "
                          "or unset DAGSTER_HOME to keep runs in memory")
    instance = dg.DagsterInstance.get() if home else None
    result = job.execute_in_process(run_config=run_config, instance=instance,
                                    raise_on_error=False, asset_selection=selection)
    if not result.success:
        published = any(event.asset_key == PUBLISHED_MARTS
                        for event in result.get_asset_materialization_events())
        cause = failure_cause(result.all_events)
        # A failed run never reaches its alerts step: people are told from here.
        record_run_failure(settings, job.name, result.run_id, cause)
        raise PipelineError(
            f"the run failed: {cause}. "
            + ("The published copy was updated before the failure."
               if published else "Nothing new was published.")
        )
    return result


PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])
