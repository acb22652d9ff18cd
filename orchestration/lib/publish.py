"""Publish a read-only copy of the marts for BI tools and analysts.

Why a separate DuckDB file, swapped in atomically: DuckDB lets one process hold a file read-
write, and while it does, no other process can open that file even read-only
(docs/measurements.md, "Locks"). BI tools keep connections open for hours, so they must never
hold the warehouse. The copy is built beside the published file under a temporary name,
checkpointed, and moved over it with `os.replace`, an atomic rename: a reader that has the old
file open keeps reading its old, complete snapshot (it holds the old inode); new connections see
the new file. A reader never sees a half-built state and never blocks a run. (Parquet plus a
views file was the alternative; it would publish many files, which cannot be swapped in one
atomic step.)

Phone numbers are masked by default (PUBLISH_PHONE_NUMBERS=masked) everywhere except
`failed_recipients`, the follow-up list whose purpose is to contact those numbers.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.audience.lookup import KEY_COLUMN, fingerprint
from orchestration.lib.rules import changed_campaigns_sql
from orchestration.lib.warehouse import sql_string

PHONE_COLUMNS = frozenset({"recipient_number", "contact_number"})
# Free text that may quote a number (the provider's error messages, our rejection reasons): any
# phone-like run of digits in it is masked too (orchestration/lib/phone.py does the same).
TEXT_COLUMNS = frozenset({"error_message", "fail_reason", "failed_checks"})
UNMASKED_TABLES = frozenset({"failed_recipients"})

# Operational summaries copied next to the marts, so `campaign-analytics status` never needs
# the (possibly locked) warehouse.
OPS_QUERIES = {
    "ingest_runs": "SELECT * FROM src.raw.ingest_runs",
    "rejected_records_summary": """
        SELECT entity, campaign_id, failed_checks, count(*) AS records, max(loaded_at) AS last_seen
        FROM src.raw.rejected_records GROUP BY ALL""",
    # Contact and conversion files loaded (contacts load, conversions load), newest first.
    "file_loads": """
        SELECT 'contacts' AS kind, source_file, loaded_at, rows_read,
               new_contacts + changed_contacts AS stored, rejected FROM src.raw.contact_loads
        UNION ALL
        SELECT 'conversions', source_file, loaded_at, rows_read, loaded, rejected
        FROM src.raw.conversion_loads""",
    # Rows of those files that could not be stored: each with its line in the file, its
    # reason and the whole row as read (numbers in it masked with the rest).
    "rejected_file_rows": """
        SELECT 'contacts' AS kind, source_file, row_number + 1 AS line, reason,
               CAST(record AS VARCHAR) AS record, loaded_at FROM src.raw.rejected_contacts
        UNION ALL
        SELECT 'conversions', source_file, row_number + 1, reason, CAST(record AS VARCHAR),
               loaded_at FROM src.raw.rejected_conversions""",
    "campaign_pull_failures": "SELECT * FROM src.raw.campaign_pull_failures",
    # The raw lake's size by provider and table (defs/warehouse/raw_writer.py keeps it).
    "lake": "SELECT * FROM src.raw_layout.lake_summary",
    "raw_row_counts": """
        SELECT 'sms_messages' AS table_name, count(*) AS row_count FROM src.raw.sms_messages
        UNION ALL SELECT 'call_attempts', count(*) FROM src.raw.call_attempts
        UNION ALL SELECT 'rejected_records', count(*) FROM src.raw.rejected_records""",
}


# Alert notifications given up on (lib/alerts/engine.py), for `campaign-analytics alerts`.
DEAD_NOTIFICATIONS = """
    SELECT rule, channel, state, queued_at, runs_tried, last_error, dead_at
    FROM src.alerting.notifications WHERE dead_at IS NOT NULL"""


# Big tables keyed by campaign are refreshed in place of the previous copy, campaign by
# campaign; everything else is copied whole (small marts are cheaper to copy than to diff).
# A campaign changed when one of the WATERMARK_TABLES has rows of it loaded after the copy's
# newest (the status histories too: a late callback that loses to a newer status moves no fact).
WATERMARK_TABLES = ("fct_sms_messages", "fct_call_attempts", "sms_status_history",
                    "call_status_history")
BY_CAMPAIGN_TABLES = (*WATERMARK_TABLES, "failed_recipients", "voice_contacts",
                      "sms_recipients", "recipient_history")


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]
    published_at: dt.datetime
    phone_numbers: str
    refreshed_campaigns: int | None = None  # None: a full copy


def _masked(column: str) -> str:
    """+919876543210 -> +91******3210: country code and last four digits stay readable."""
    return (
        f"CASE WHEN length({column}) > 7 THEN left({column}, 3) || "
        f"repeat('*', length({column}) - 7) || right({column}, 4) ELSE {column} END"
    )


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
        [catalog, table]).fetchall()


def _masked_text(column: str) -> str:
    """Phone-like digit runs (8-15 digits, with or without '+') inside free text, masked as
    orchestration/lib/phone.py masks them; longer runs (template ids) and ids are left alone."""
    pattern = r"(^|[^0-9A-Za-z_+])(\+\d{2}|\d{3})\d{1,8}(\d{4})([^0-9]|$)"
    return f"regexp_replace({column}, '{pattern}', '\\1\\2******\\3\\4', 'g')"


def _keyed(columns: list[tuple[str, str]], select: str, keyed: bool) -> str:
    """Beside a table's number, the person look-up's keyed hash of it (lib/audience/lookup.py):
    the same person is found, and joined to their contact, in a copy whose numbers are
    masked."""
    number = next((c for c, _ in columns if c in PHONE_COLUMNS), None)
    if not keyed or number is None:
        return select
    return f"{select}, sha256(getvariable('lookup_key') || src_row.{number}) AS {KEY_COLUMN}"


def _select(table: str, columns: list[tuple[str, str]], phone_numbers: str) -> str:
    def published(column: str) -> str:
        if phone_numbers != "masked" or table in UNMASKED_TABLES:
            return column
        if column in PHONE_COLUMNS:
            return f"{_masked(column)} AS {column}"
        if column in TEXT_COLUMNS:
            return f"{_masked_text(column)} AS {column}"
        return column

    return ", ".join(published(c) for c, _ in columns)


def _previous_copy_usable(con: duckdb.DuckDBPyConnection, phone_numbers: str,
                          key_print: str | None) -> bool:
    """The previous copy can be refreshed in place when it masks (and keys numbers) as this
    publish does and every by-campaign table has the warehouse's columns (a model change means
    a full copy)."""
    try:
        mode = con.execute("SELECT phone_numbers, lookup_key_fingerprint FROM ops.publish"
                           ).fetchall()
    except duckdb.Error:
        return False
    if mode != [(phone_numbers, key_print)]:
        return False
    published = con.execute("SELECT current_database()").fetchall()[0][0]
    return all(
        [c for c in _columns(con, published, t) if c[0] != KEY_COLUMN]
        == _columns(con, "src", t) and _columns(con, "src", t)
        for t in BY_CAMPAIGN_TABLES
    )


def _changed_campaigns(con: duckdb.DuckDBPyConnection) -> None:
    """Campaigns whose facts or statuses were loaded after the previous copy's newest row (the
    same watermark rule as the incremental models)."""
    union = " UNION ".join(changed_campaigns_sql(f"src.marts.{t}", f"marts.{t}")
                           for t in WATERMARK_TABLES)
    con.execute(f"CREATE TEMP TABLE _changed AS {union}")


def _open_staging(staging: Path, warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(staging))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH {sql_string(str(warehouse.resolve()))} AS src (READ_ONLY)")
    return con


def publish(
    warehouse: Path, published: Path, *, phone_numbers: str = "masked", run_id: str = "",
    account_timezone: str = "Asia/Kolkata", finalization_hours: int = 72,
    incremental: bool = True, lookup_key: str | None = None,
) -> PublishResult:
    """Copy the warehouse's marts (and operational summaries) to `published`, atomically.

    With `incremental` (the default) and a previous copy made the same way, that copy is the
    starting point: its by-campaign tables get the changed campaigns' rows replaced, and the
    rest is copied anew. A daily publish then costs the day's campaigns plus one file copy,
    not a re-copy of every fact of the history (at 10M messages: 9 s for the full copy).
    With `lookup_key`, the look-up tables get recipient_key (lib/audience/lookup.py)."""
    if phone_numbers not in ("masked", "full"):
        raise ValueError(f"PUBLISH_PHONE_NUMBERS must be 'masked' or 'full', got {phone_numbers!r}")
    published.parent.mkdir(parents=True, exist_ok=True)
    staging = published.with_name(f".{published.name}.building")
    staging.unlink(missing_ok=True)
    in_place = incremental and published.exists()
    if in_place:
        shutil.copyfile(published, staging)
    published_at = dt.datetime.now(dt.UTC)
    tables: dict[str, int] = {}
    refreshed: int | None = None
    con = _open_staging(staging, warehouse)
    try:
        key_print = fingerprint(lookup_key) if lookup_key else None
        if lookup_key:
            con.execute("SET VARIABLE lookup_key = ?", [lookup_key])
        if in_place and not _previous_copy_usable(con, phone_numbers, key_print):
            # Start from an empty file: dropping everything from the copy costs more.
            con.close()
            staging.unlink()
            in_place = False
            con = _open_staging(staging, warehouse)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        if in_place:
            _changed_campaigns(con)
            refreshed = con.execute("SELECT count(*) FROM _changed").fetchall()[0][0]
        mart_tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'src' AND table_schema = 'marts' ORDER BY 1"
        ).fetchall()]
        for table in mart_tables:
            columns = _columns(con, "src", table)
            select = _keyed(columns, _select(table, columns, phone_numbers),
                            lookup_key is not None)
            if in_place and table in BY_CAMPAIGN_TABLES:
                con.execute(f"DELETE FROM marts.{table} WHERE campaign_id IN "
                            "(SELECT campaign_id FROM _changed)")
                con.execute(f"INSERT INTO marts.{table} SELECT {select} "
                            f"FROM src.marts.{table} AS src_row "
                            "WHERE campaign_id IN (SELECT campaign_id FROM _changed)")
            else:
                con.execute(f"CREATE OR REPLACE TABLE marts.{table} AS "
                            f"SELECT {select} FROM src.marts.{table} AS src_row")
            tables[f"marts.{table}"] = con.execute(
                f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
        stale = {t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'marts'").fetchall()} - set(mart_tables)
        for table in stale:  # a mart the warehouse no longer has
            con.execute(f"DROP TABLE marts.{table}")
        notifications = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'src' AND "
            "schema_name = 'alerting' AND table_name = 'notifications'").fetchone()[0]
        queries = {**OPS_QUERIES, **({"dead_notifications": DEAD_NOTIFICATIONS}
                                     if notifications else {})}
        for name, query in queries.items():
            con.execute(f"CREATE OR REPLACE TABLE ops.{name} AS {query}")
            if phone_numbers == "masked" and name == "rejected_records_summary":
                con.execute(f"UPDATE ops.{name} SET failed_checks = "
                            f"{_masked_text('failed_checks')}")
            if phone_numbers == "masked" and name == "rejected_file_rows":
                con.execute(f"UPDATE ops.{name} SET record = {_masked_text('record')}, "
                            f"reason = {_masked_text('reason')}")
        con.execute(
            # Readers (reports) need the zone and receipt window the marts were built with.
            "CREATE OR REPLACE TABLE ops.publish AS SELECT ?::TIMESTAMPTZ AS published_at, "
            "? AS run_id, ? AS phone_numbers, ? AS account_timezone, "
            "?::INTEGER AS dlr_finalization_hours, ?::VARCHAR AS lookup_key_fingerprint",
            [published_at, run_id, phone_numbers, account_timezone, finalization_hours,
             key_print],
        )
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(staging, published)  # atomic: readers see the old copy or the new, never a mix
    return PublishResult(published, tables, published_at, phone_numbers, refreshed)
