"""Alert rules about the pipeline itself (their figures are in the message: hours and
campaign counts are not rates), with the limits its own checks use: data older than
the freshness window, a run's rejected share above its limit, and campaigns whose details
never reconciled with their stats (the ingest's stats_reconciliation check gave up on them).
A run that fails before the alerts asset is not covered here: Dagster's run-failure sensors
are the place for that (README, "Alerts")."""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.lib.alerts.engine import Finding
from orchestration.lib.pull_ledger import read_ledger
from orchestration.lib.rules import (
    FRESHNESS_MAX_AGE_HOURS,
    REJECTED_FAIL_SHARE,
    REJECTED_WARN_SHARE,
    UNRECONCILED_PULL_ATTEMPTS,
)


def pipeline_findings(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[Finding]:
    findings = []
    runs = con.execute("""
        SELECT channel, max(finished_at), arg_max(rejected, finished_at),
               arg_max(records, finished_at)
        FROM raw.ingest_runs GROUP BY channel ORDER BY channel""").fetchall()
    if runs:
        newest = max(finished for _, finished, _, _ in runs)
        hours = (now - newest).total_seconds() / 3600
        if hours > FRESHNESS_MAX_AGE_HOURS:
            findings.append(Finding(
                "data_stale", "pipeline", "error", None, None, None, None,
                f"No ingest run finished for {hours:.0f} hours (limit "
                f"{FRESHNESS_MAX_AGE_HOURS:g})",
                "Check that the daily schedule is running and that the last runs succeeded "
                "(Dagster UI, or `campaign-analytics status`)."))
    for channel, _, rejected, records in runs:
        share = rejected / records if records else 0.0
        if share > REJECTED_WARN_SHARE:
            findings.append(Finding(
                f"{channel}_rejected_share_high", "pipeline",
                "error" if share > REJECTED_FAIL_SHARE else "warn", None, None, share,
                REJECTED_FAIL_SHARE if share > REJECTED_FAIL_SHARE else REJECTED_WARN_SHARE,
                f"{share:.2%} of the last {channel} run's records failed their contract "
                f"(warn above {REJECTED_WARN_SHARE:.1%}, error above {REJECTED_FAIL_SHARE:.0%})",
                "Read raw.rejected_records (or `status`): the reasons name the fields; the "
                "provider may have changed a format."))
    for channel in ("sms", "voice"):
        given_up = sorted(cid for cid, state in read_ledger(con, channel).items()
                          if state.given_up)
        if given_up:
            findings.append(Finding(
                f"{channel}_stats_not_reconciled", "pipeline", "error", given_up[0], None,
                None, None,
                f"{len(given_up)} ended {channel} campaign(s) never reconciled with their "
                f"stats after {UNRECONCILED_PULL_ATTEMPTS} pulls: {', '.join(given_up[:5])}",
                "Their figures may be incomplete: re-pull with `campaign-analytics backfill "
                "--campaign ID` once the provider's data is fixed."))
    findings += _failing_campaigns(con)
    return findings


# A campaign that could not be pulled on this many of its channel's latest runs in a row is told.
PULL_FAILURES_TO_ALERT = 2


def _failing_campaigns(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Campaigns skipped (the API failed for them alone) on each of the channel's latest
    PULL_FAILURES_TO_ALERT runs: one skipped run is retried quietly, a second is news."""
    rows = con.execute("""
        WITH latest AS (
            SELECT channel, run_id FROM (
                SELECT channel, run_id, row_number() OVER (
                    PARTITION BY channel ORDER BY finished_at DESC) AS recency
                FROM raw.ingest_runs)
            WHERE recency <= $runs
        )
        SELECT f.channel, f.campaign_id, arg_max(f.error, f.failed_at)
        FROM raw.campaign_pull_failures AS f JOIN latest USING (channel, run_id)
        GROUP BY ALL HAVING count(DISTINCT f.run_id) >= $runs
        ORDER BY 1, 2""", {"runs": PULL_FAILURES_TO_ALERT}).fetchall()
    by_channel: dict[str, list[tuple[str, str]]] = {}
    for channel, campaign_id, error in rows:
        by_channel.setdefault(channel, []).append((campaign_id, error))
    return [Finding(
        f"{channel}_campaign_pull_failing", "pipeline", "error", failing[0][0], None, None, None,
        f"{len(failing)} {channel} campaign(s) could not be pulled on the last "
        f"{PULL_FAILURES_TO_ALERT} runs and are missing from the marts: "
        f"{', '.join(c for c, _ in failing[:5])} (last error: {failing[0][1][:160]})",
        "The provider fails for these campaigns alone: ask its support with the campaign id; "
        "each run tries them again, and the rest of the account is published meanwhile.")
        for channel, failing in by_channel.items()]
