"""What the published copy says about the pipeline: the last runs, row counts, rejects,
unreconciled campaigns, the alerts and the notifications given up on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.published import open_published
from orchestration.lib.settings import BREVO_REQUESTS_PER_HOUR, DEFAULT_RATE_LIMIT_PER_MINUTE


@dataclass(frozen=True)
class Status:
    """What `campaign-analytics status` shows, read from the published copy."""

    published_at: dt.datetime
    run_id: str
    phone_numbers: str
    # provider, channel, finished_at, campaigns pulled, records, rejected
    runs: list[tuple[Any, ...]]
    row_counts: list[tuple[str, int]]
    rejected_total: int
    rejected_top: list[tuple[Any, ...]]  # entity, failed checks, records
    unreconciled: list[tuple[Any, ...]]  # channel, campaign, name, in warehouse, reported
    # provider, channel, finished_at, requests (all, list, campaign, detail, message), retries,
    # campaigns pulled, of which skipped, messages polled, minutes at the provider's own rate
    requests: list[tuple[Any, ...]]
    # kind (contacts, conversions), file, loaded_at, rows read, stored, rejected; newest first
    file_loads: list[tuple[Any, ...]] = field(default_factory=list)
    # provider, last run finished_at, its requests, budget left, budget size
    budgets: list[tuple[Any, ...]] = field(default_factory=list)
    # the raw lake: its location, then (provider, table, files, records, MiB) per table
    lake: str | None = None
    lake_tables: list[tuple[Any, ...]] = field(default_factory=list)


def read_status(path: Path) -> Status:
    con = open_published(path)
    try:
        published_at, run_id, phones = con.execute(
            "SELECT published_at, run_id, phone_numbers FROM ops.publish").fetchall()[0]
        # Copies published before the provider column read as Exotel's.
        provider = ("coalesce(provider, 'exotel')" if has_column(con, "ops", "ingest_runs",
                                                                "provider") else "'exotel'")
        runs = con.execute(f"""
            SELECT {provider} AS provider, channel, max(finished_at),
                   arg_max(campaigns_pulled, finished_at), arg_max(records, finished_at),
                   arg_max(rejected, finished_at)
            FROM ops.ingest_runs GROUP BY ALL ORDER BY 1, 2""").fetchall()
        # Minutes at the provider's own documented rate: Exotel's per minute, Brevo's an hour.
        requests = con.execute(f"""
            SELECT {provider} AS provider, channel, finished_at, requests, list_requests,
                   campaign_requests, detail_requests, message_requests, retries,
                   campaigns_pulled, campaigns_skipped, messages_polled,
                   round(CASE WHEN {provider} = 'brevo' THEN requests * 60.0 / $brevo_rate
                              ELSE requests / $rate END, 1) AS minutes_at_rate
            FROM ops.ingest_runs WHERE requests IS NOT NULL
            ORDER BY finished_at DESC LIMIT 10""",
            {"rate": DEFAULT_RATE_LIMIT_PER_MINUTE,
             "brevo_rate": BREVO_REQUESTS_PER_HOUR}).fetchall()
        # A provider that budgets requests (Brevo: 100 an hour): its last run's spend and what
        # was left of the window when it ended.
        budgets = con.execute("""
            SELECT provider, max(finished_at), arg_max(requests, finished_at),
                   arg_max(budget_remaining, finished_at), arg_max(budget_limit, finished_at)
            FROM ops.ingest_runs WHERE budget_limit IS NOT NULL GROUP BY ALL ORDER BY 1
            """).fetchall() if has_column(con, "ops", "ingest_runs", "budget_limit") else []
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall()]
        counts = [(f"marts.{t}", con.execute(f"SELECT count(*) FROM marts.{t}").fetchall()[0][0])
                  for t in tables]
        rejected = con.execute("""
            SELECT entity, failed_checks, sum(records) FROM ops.rejected_records_summary
            GROUP BY ALL ORDER BY 3 DESC LIMIT 5""").fetchall()
        rejected_total = con.execute(
            "SELECT coalesce(sum(records), 0) FROM ops.rejected_records_summary").fetchall()[0][0]
        key = ("provider, campaign_id" if has_column(con, "marts", "dim_campaigns", "provider")
               else "campaign_id")
        unreconciled = con.execute(f"""
            SELECT 'sms', p.campaign_id, p.campaign_name, p.messages_total, p.reported_total
            FROM marts.sms_campaign_performance p JOIN marts.dim_campaigns d USING ({key})
            WHERE d.is_receipt_window_closed AND NOT p.is_reconciled
            UNION ALL
            SELECT 'voice', p.campaign_id, p.campaign_name, p.contacts, p.reported_created
            FROM marts.voice_campaign_performance p JOIN marts.dim_campaigns d USING ({key})
            WHERE d.is_receipt_window_closed AND NOT p.is_reconciled ORDER BY 1, 2""").fetchall()
        loads = con.execute("""
            SELECT kind, source_file, loaded_at, rows_read, stored, rejected FROM ops.file_loads
            ORDER BY loaded_at DESC LIMIT 10""").fetchall() if has_table(
            con, "ops", "file_loads") else []
        lake_rows = con.execute("""
            SELECT lake, provider, entity, files, records, round(bytes / 1048576, 1)
            FROM ops.lake ORDER BY provider, entity""").fetchall() if has_table(
            con, "ops", "lake") else []
    finally:
        con.close()
    return Status(published_at, run_id, phones, runs, counts, int(rejected_total), rejected,
                  unreconciled, requests, loads, budgets,
                  lake_rows[0][0] if lake_rows else None, [r[1:] for r in lake_rows])


def has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "AND column_name = ?", [schema, table, column]).fetchone()[0])


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? "
                            "AND table_name = ?", [schema, table]).fetchone()[0])


def load_alerts(con: duckdb.DuckDBPyConnection, *, open_only: bool,
                campaign_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Alerts from the published copy, open ones first (none from a copy made before alerts
    existed)."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' "
                         "AND table_name = 'alerts'").fetchone()[0]
    if not exists:
        return []
    where = ["resolved_at IS NULL"] if open_only else []
    if campaign_ids:
        where.append("list_contains(?, campaign_id)")
    cursor = con.execute(f"""
        SELECT * FROM marts.alerts WHERE {' AND '.join(where) or 'true'}
        ORDER BY resolved_at IS NOT NULL, severity = 'warn', last_seen DESC, rule""",
                         [list(campaign_ids)] if campaign_ids else [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]



ALERT_COLUMNS = ["rule", "severity", "campaign", "measured", "threshold", "message",
                 "first seen (UTC)", "last seen (UTC)", "resolved (UTC)"]


def read_alerts(path: Path, *, open_only: bool = False, since: dt.datetime | None = None
                ) -> list[tuple[Any, ...]]:
    """The published alerts, open ones first: only the open ones, or those seen since `since`."""
    def when(moment: dt.datetime | None) -> str | None:
        return None if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M}"

    def share(value: float | None) -> str | None:
        return None if value is None else f"{value:.1%}"

    con = open_published(path)
    try:
        alerts = load_alerts(con, open_only=open_only)
    finally:
        con.close()
    return [(a["rule"], a["severity"],
             f"{a['campaign_name']} ({a['campaign_id']})" if a["campaign_name"]
             else a["campaign_id"], share(a["measured_value"]),
             None if a["threshold"] is None else f"{a['threshold']:.0%}", a["message"],
             when(a["first_seen"]), when(a["last_seen"]), when(a["resolved_at"]))
            for a in alerts if since is None or a["last_seen"] >= since]


DEAD_COLUMNS = ["rule", "channel", "state", "queued (UTC)", "runs tried", "last error"]


def read_dead_notifications(path: Path) -> list[tuple[Any, ...]]:
    """Alert notifications given up on after their runs of retries, oldest first."""
    con = open_published(path)
    try:
        if not has_table(con, "ops", "dead_notifications"):
            return []
        return [(rule, channel, state, f"{queued:%Y-%m-%d %H:%M}", runs, error)
                for rule, channel, state, queued, runs, error in con.execute(
                    "SELECT rule, channel, state, queued_at AT TIME ZONE 'UTC', runs_tried, "
                    "last_error FROM ops.dead_notifications ORDER BY queued_at").fetchall()]
    finally:
        con.close()
