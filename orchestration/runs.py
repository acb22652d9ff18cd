"""The CLI's runs: the daily run and the refresh under the warehouse's lock, with what a person
reads before and after (the run's own lines come from run_output.py)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import dagster as dg

from orchestration.lib.alerts.run_failure import record_run_failure
from orchestration.lib.published_state import read_alerts
from orchestration.lib.rules import alert_thresholds
from orchestration.lib.settings import PROVIDER_NAMES, Settings
from orchestration.lib.summaries import kpi_summary, quality_summary
from orchestration.runner import (
    PUBLISHED_MARTS,
    PipelineError,
    exclusive_run,
    preflight,
    run_pipeline,
)


def run_refresh(settings: Settings, *, verbose: bool,
                downstream_of: Sequence[dg.AssetKey] = ()) -> int:
    """The intraday refresh under the run lock; the number of callbacks it loaded. With
    `downstream_of`, only those assets and what depends on them (a contacts file rebuilds the
    audience models and the marts they feed, not the facts)."""
    with exclusive_run(settings):
        quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
        with quiet:
            result = run_pipeline(settings, refresh=True, step_lines=not verbose,
                                  log_level="DEBUG" if verbose else "INFO",
                                  downstream_of=downstream_of)
    loaded = 0
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.path == ["raw", "callbacks"]:
            loaded = int(materialization.metadata["callbacks"].value)
    return loaded


def run_daily(settings: Settings, ingest_config: dict | None, *, verbose: bool) -> None:
    with exclusive_run(settings):
        settings.require_credentials()
        if settings.exotel_configured:
            print(f"Checking the API at {settings.base_url} ...")
        try:
            campaigns = preflight(settings)
        except PipelineError as error:  # a scheduled run that cannot start: people are told
            from orchestration.defs.operations.jobs import DAILY_JOB

            record_run_failure(settings, DAILY_JOB, None, str(error))
            raise
        if settings.exotel_configured:
            print(f"  {len(campaigns.voice)} voice and {len(campaigns.sms)} SMS campaigns "
                  "listed.")
        print(f"Providers: {', '.join(PROVIDER_NAMES[p] for p in settings.providers)} "
              "(those whose credentials are set).")
        print(f"Running ingest -> dbt build -> publish into {settings.warehouse_path} "
              f"(progress below{'' if verbose else '; dbt per model with -v'}) ...", flush=True)
        # dagster-dbt echoes every dbt line to stdout; without -v only what goes wrong is shown
        # (a failed run's message carries the dbt error).
        quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
        with quiet:
            result = run_pipeline(settings, ingest_config=ingest_config, step_lines=not verbose,
                                  log_level="DEBUG" if verbose else "INFO")
    published = any(event.asset_key == PUBLISHED_MARTS
                    for event in result.get_asset_materialization_events())
    if published:
        print(f"\nPublished a read-only copy for BI tools and queries: {settings.published_path}\n")
    else:
        print(f"\nNothing new to build: the published copy {settings.published_path} is current."
              "\n")
    print(kpi_summary(settings.published_path))
    # Alert rules are checks too, but about campaigns, not data quality: counted apart.
    rules = {row.alert_rule for row in alert_thresholds()}
    evaluations = result.get_asset_check_evaluations()
    failed = [f"{e.asset_key.to_user_string()} {e.check_name} ({e.severity.value.lower()})"
              for e in evaluations if not e.passed and e.check_name not in rules]
    print("\n" + quality_summary(settings.published_path, result.run_id, failed))
    # Every open alert the copy holds: the rules' (their asset checks failed) and those with no
    # check of their own (another provider's, a suspended campaign's).
    raised = sorted({row[0] for row in read_alerts(settings.published_path, open_only=True)})
    print(f"  open alerts: {', '.join(raised) if raised else 'none'}"
          + (" (campaign-analytics alerts --open)" if raised else ""))


