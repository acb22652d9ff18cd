"""What the CLI reads: always the published copy, never the warehouse a run may be writing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.cells import safe_cell, terminal_text
from orchestration.lib.settings import (
    DEFAULT_QUERY_MEMORY_LIMIT,
    DEFAULT_QUERY_TIMEOUT_SECONDS,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
)


class ReadError(RuntimeError):
    """The published copy is missing, or a query against it failed; the message says why."""


# What an ad-hoc query may do: read the published copy, nothing else. With external access off,
# DuckDB refuses COPY ... TO, ATTACH, EXPORT, INSTALL/LOAD and reading any other file (so
# `read_csv` of a local file is refused too: analysts do that in the duckdb CLI or a notebook,
# against the copy read-only); the configuration is then locked so a query cannot undo it.
# The copy itself is opened read-only, so no statement can change it.
QUERY_SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_persistent_secrets": False,
}


def open_published(path: Path, *, sandboxed: bool = False,
                   memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """The published copy, read-only; `sandboxed` for SQL a person typed (see QUERY_SANDBOX)."""
    if not path.exists():
        raise ReadError(
            f"no published copy at {path}: run `campaign-analytics sync` (or `demo`) first, "
            "or set PUBLISHED_PATH"
        )
    if path.is_dir():
        raise ReadError(f"{path} is a folder, not a published copy: point --published or "
                        "PUBLISHED_PATH at the published .duckdb file")
    try:
        # No Python replacement scans: a table missing from the copy must be an error, not a
        # lookup among this module's Python variables.
        con = duckdb.connect(str(path), read_only=True,
                             config={"python_enable_replacements": False,
                                     **(QUERY_SANDBOX if sandboxed else {}),
                                     **({"memory_limit": memory_limit} if memory_limit else {})})
        con.execute("SET TimeZone = 'UTC'")
        if sandboxed:
            con.execute("SET lock_configuration = true")  # no query can switch it back
    except duckdb.Error as error:
        raise ReadError(f"{path} is not a DuckDB file this version can read "
                        f"({_first_line(error)}): point --published or PUBLISHED_PATH at the "
                        "published copy") from None
    return con


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def run_query(path: Path, sql: str, *, memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT,
              timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One reading statement against the published copy, within a memory limit and a time
    limit (QUERY_MEMORY_LIMIT, QUERY_TIMEOUT_SECONDS): a runaway query stops with a line that
    says which limit it hit, not when the machine runs out."""
    if not sql.strip().strip(";").strip():
        raise ReadError("the query is empty: give a SQL statement, e.g. "
                        "\"SELECT * FROM marts.dim_campaigns\"")
    con = open_published(path, sandboxed=True, memory_limit=memory_limit)
    timer = threading.Timer(timeout_seconds, con.interrupt)
    timer.start()
    try:
        return _run_one(con, sql)
    except duckdb.InterruptException:
        raise ReadError(f"query stopped after {timeout_seconds:g} s (QUERY_TIMEOUT_SECONDS): "
                        "narrow it (a WHERE, a LIMIT) or raise the limit") from None
    except duckdb.OutOfMemoryException:
        raise ReadError(f"query needed more than {memory_limit} of memory (QUERY_MEMORY_LIMIT): "
                        "narrow it (a WHERE, a LIMIT) or raise the limit") from None
    finally:
        timer.cancel()
        con.close()


def _run_one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as error:
            raise ReadError(f"query failed: {_with_hints(error)}") from None
        if len(statements) != 1:
            raise ReadError(f"give one statement per query, not {len(statements)}: run each "
                            "on its own")
        if statements[0].type not in READ_STATEMENTS:
            kind = statements[0].type.name
            raise ReadError(f"query runs reading statements only (SELECT, WITH, FROM, DESCRIBE, "
                            f"SHOW, SUMMARIZE, EXPLAIN), not {kind}: the published copy is "
                            "read-only")
        cursor = con.execute(statements[0])
        headers = [d[0] for d in cursor.description or []]
        return headers, cursor.fetchall()
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error as error:
        raise ReadError(f"query failed: {_with_hints(error)}") from None


READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# DuckDB's own help after an error's first line: kept, on the same line.
_HINTS = ("Did you mean", "Candidate bindings", "Candidate tables")


def _with_hints(error: BaseException) -> str:
    """An error's first line and DuckDB's hints ("Did you mean ...?"), as one line."""
    lines = [line.strip() for line in str(error).splitlines()]
    hints = [line for line in lines[1:] if line.startswith(_HINTS)]
    return " ".join([_first_line(error), *hints])


@dataclass(frozen=True)
class Status:
    """What `campaign-analytics status` shows, read from the published copy."""

    published_at: dt.datetime
    run_id: str
    phone_numbers: str
    runs: list[tuple[Any, ...]]  # channel, finished_at, campaigns pulled, records, rejected
    row_counts: list[tuple[str, int]]
    rejected_total: int
    rejected_top: list[tuple[Any, ...]]  # entity, failed checks, records
    unreconciled: list[tuple[Any, ...]]  # channel, campaign, name, in warehouse, reported
    # channel, finished_at, requests (all, list, campaign, detail, message), retries, campaigns
    # pulled, of which skipped, messages polled, minutes at the provider's documented rate
    requests: list[tuple[Any, ...]]
    # kind (contacts, conversions), file, loaded_at, rows read, stored, rejected; newest first
    file_loads: list[tuple[Any, ...]] = field(default_factory=list)


def read_status(path: Path) -> Status:
    con = open_published(path)
    try:
        published_at, run_id, phones = con.execute(
            "SELECT published_at, run_id, phone_numbers FROM ops.publish").fetchall()[0]
        runs = con.execute("""
            SELECT channel, max(finished_at), arg_max(campaigns_pulled, finished_at),
                   arg_max(records, finished_at), arg_max(rejected, finished_at)
            FROM ops.ingest_runs GROUP BY channel ORDER BY channel""").fetchall()
        requests = con.execute("""
            SELECT channel, finished_at, requests, list_requests, campaign_requests,
                   detail_requests, message_requests, retries, campaigns_pulled,
                   campaigns_skipped, messages_polled,
                   round(requests / $rate, 1) AS minutes_at_rate
            FROM ops.ingest_runs WHERE requests IS NOT NULL
            ORDER BY finished_at DESC LIMIT 10""",
            {"rate": DEFAULT_RATE_LIMIT_PER_MINUTE}).fetchall()
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
        unreconciled = con.execute("""
            SELECT 'sms', p.campaign_id, p.campaign_name, p.messages_total, p.reported_total
            FROM marts.sms_campaign_performance p JOIN marts.dim_campaigns d USING (campaign_id)
            WHERE d.is_receipt_window_closed AND NOT p.is_reconciled
            UNION ALL
            SELECT 'voice', p.campaign_id, p.campaign_name, p.contacts, p.reported_created
            FROM marts.voice_campaign_performance p JOIN marts.dim_campaigns d USING (campaign_id)
            WHERE d.is_receipt_window_closed AND NOT p.is_reconciled ORDER BY 1, 2""").fetchall()
        loads = con.execute("""
            SELECT kind, source_file, loaded_at, rows_read, stored, rejected FROM ops.file_loads
            ORDER BY loaded_at DESC LIMIT 10""").fetchall() if _has_table(
            con, "ops", "file_loads") else []
    finally:
        con.close()
    return Status(published_at, run_id, phones, runs, counts, int(rejected_total), rejected,
                  unreconciled, requests, loads)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
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
        if not _has_table(con, "ops", "dead_notifications"):
            return []
        return [(rule, channel, state, f"{queued:%Y-%m-%d %H:%M}", runs, error)
                for rule, channel, state, queued, runs, error in con.execute(
                    "SELECT rule, channel, state, queued_at AT TIME ZONE 'UTC', runs_tried, "
                    "last_error FROM ops.dead_notifications ORDER BY queued_at").fetchall()]
    finally:
        con.close()


def _cell(value: Any, group_digits: bool = True) -> str:
    if value is None:
        return ""
    comma = "," if group_digits else ""
    if isinstance(value, float):
        return (f"{value:{comma}.4f}".rstrip("0").rstrip(".") if value % 1
                else f"{value:{comma}.0f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:{comma}}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return terminal_text(str(value))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
                 group_digits: bool = True) -> str:
    """A plain-text table: numbers right-aligned (with thousands separators: counts)."""
    cells = [[_cell(v, group_digits) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def format_rows(headers: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, *,
                group_digits: bool = True) -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([safe_cell(h) for h in headers])
        writer.writerows([[("" if v is None else safe_cell(v)) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps([dict(zip(headers, row, strict=True)) for row in rows], default=str,
                          indent=2)
    return format_table(headers, rows, group_digits=group_digits)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def sms_totals(path: Path) -> tuple[int, int, int, int]:
    """All SMS campaigns' messages: (total, delivered, submitted, pending)."""
    con = open_published(path)
    try:
        return con.execute("""
            SELECT coalesce(sum(messages_total), 0)::BIGINT,
                   coalesce(sum(messages_delivered), 0)::BIGINT,
                   coalesce(sum(messages_submitted), 0)::BIGINT,
                   coalesce(sum(messages_pending), 0)::BIGINT
            FROM marts.sms_campaign_performance""").fetchone()
    finally:
        con.close()


def kpi_summary(path: Path) -> str:
    """The campaign KPIs a user sees at the end of `demo` and `sync`."""
    con = open_published(path)
    try:
        sms = con.execute("""
            SELECT campaign_name, campaign_status, messages_total, messages_delivered,
                   delivery_rate, rejection_rate, effective_reach, messages_pending,
                   health_status
            FROM marts.sms_campaign_performance ORDER BY started_at""").fetchall()
        voice = con.execute("""
            SELECT campaign_name, campaign_status, contacts, contacts_connected, connect_rate,
                   answer_rate, failure_rate, retry_success_rate, contacts_pending, health_status
            FROM marts.voice_campaign_performance ORDER BY started_at""").fetchall()
    finally:
        con.close()
    parts = []
    if sms:
        parts.append("SMS campaigns")
        parts.append(format_table(
            ["campaign", "status", "messages", "delivered", "delivery", "rejection", "reach",
             "pending", "health"],
            [(n, s, t, d, _pct(dr), _pct(rr), _pct(er), p, h)
             for n, s, t, d, dr, rr, er, p, h in sms]))
    if voice:
        parts.append("\nVoice campaigns")
        parts.append(format_table(
            ["campaign", "status", "contacts", "connected", "connect", "answer", "failure",
             "retry success", "pending", "health"],
            [(n, s, c, k, _pct(cr), _pct(ar), _pct(fr), _pct(rs), p, h)
             for n, s, c, k, cr, ar, fr, rs, p, h in voice]))
    total, delivered, submitted, pending = sms_totals(path)
    if total:
        rate = delivered / submitted if submitted else None
        parts.append(f"\nAll SMS: {total:,} messages, {delivered:,} delivered "
                     f"({_pct(rate)} of submitted), {pending:,} still awaiting receipts.")
    return "\n".join(parts) if parts else "No campaigns yet."


def audience_summary(path: Path) -> str:
    """Who the campaigns reached, all campaigns together: by contact list (seed 003) and by the
    numbers' original operator (seed 002), as `demo` shows them."""
    con = open_published(path)
    try:
        lists = con.execute("""
            SELECT channel, label, sum(volume), sum(succeeded),
                   sum(succeeded) / nullif(sum(submitted), 0)
            FROM marts.campaign_list_performance WHERE label_kind IN ('list', 'none')
            GROUP BY ALL ORDER BY channel DESC, label""").fetchall()
        revenue = con.execute("""
            SELECT 'sms', campaign_name, conversions, revenue, revenue_per_cost
            FROM marts.sms_campaign_performance WHERE conversions > 0
            UNION ALL
            SELECT 'voice', campaign_name, conversions, revenue, revenue_per_cost
            FROM marts.voice_campaign_performance WHERE conversions > 0
            ORDER BY 1 DESC, 2""").fetchall()
        operators = con.execute("""
            SELECT channel, original_operator, sum(volume), sum(succeeded),
                   sum(succeeded) / nullif(sum(submitted), 0)
            FROM marts.campaign_operator_performance
            GROUP BY ALL ORDER BY channel DESC, sum(volume) DESC""").fetchall()
    finally:
        con.close()
    headers = ["channel", "{}", "reached", "succeeded", "delivery / connect"]
    return "\n".join([
        "By contact list (marts.campaign_list_performance; also by tag)",
        format_table([h.format("list") for h in headers],
                     [(c, n, v, s, _pct(r)) for c, n, v, s, r in lists]),
        "\nBy the numbers' original operator (marts.campaign_operator_performance; also by "
        "region)",
        format_table([h.format("operator") for h in headers],
                     [(c, n, v, s, _pct(r)) for c, n, v, s, r in operators]),
        "\nRevenue credited to campaigns (conversions; the campaign performance marts, "
        "marts.conversion_attribution)",
        format_table(["channel", "campaign", "conversions", "revenue", "revenue / cost"],
                     [(c, n, k, f"{r:,.2f}", "-" if p is None else f"{p:,.1f}x")
                      for c, n, k, r, p in revenue]) if revenue else "  none credited",
        *([UNPRICED_NOTE] if revenue and any(p is None for *_, p in revenue) else [])])


# Costs are the provider's units (SMS credits, voice pulses), revenue is money: no ratio of
# the two until the units have a price.
UNPRICED_NOTE = ("  (revenue / cost: '-' until SMS_CREDIT_PRICE and VOICE_PULSE_PRICE give the "
                 "price of a credit and a pulse in REVENUE_CURRENCY; costs are in those units)")


def _some(items: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def quality_summary(path: Path, run_id: str, failed_checks: Sequence[str]) -> str:
    """What a run's user should know beyond the KPIs: records quarantined, campaigns whose
    details do not add up to their stats, checks that failed."""
    status = read_status(path)
    con = open_published(path)
    try:
        records, rejected = con.execute(
            "SELECT coalesce(sum(records), 0), coalesce(sum(rejected), 0) FROM ops.ingest_runs "
            "WHERE run_id = ?", [run_id]).fetchall()[0]
        skipped = [f"{c} {i}" for c, i in con.execute(
            "SELECT channel, campaign_id FROM ops.campaign_pull_failures WHERE run_id = ? "
            "ORDER BY 1, 2", [run_id]).fetchall()] if _has_table(
            con, "ops", "campaign_pull_failures") else []
    finally:
        con.close()
    share = f" ({rejected / records:.2%} of {records:,})" if records else ""
    lines = ["Data quality",
             f"  rejected records: {rejected:,} in this run{share}, {status.rejected_total:,} "
             "in all (reasons: `campaign-analytics status`)"]
    unreconciled = [f"{channel} {campaign}" for channel, campaign, *_ in status.unreconciled]
    lines.append("  ended campaigns whose details do not reconcile with their stats: "
                 + (_some(unreconciled) if unreconciled else "none"))
    lines.append("  failed checks: " + (_some(list(failed_checks)) if failed_checks else "none"))
    if skipped:
        lines.append("  campaigns the API failed for, left out of this run and tried again on "
                     f"the next: {_some(skipped)}")
    return "\n".join(lines)
