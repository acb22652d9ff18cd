"""Publish a read-only copy of the marts for BI tools and analysts.

Why a separate DuckDB file, swapped in atomically: DuckDB lets one process hold a file
read-write, and while it does, no other process can open that file even read-only (MEASURED.md,
"Locks"). BI tools keep connections open for hours, so they must never hold the warehouse. The
copy is built beside the published file under a temporary name, checkpointed, and moved over it
with `os.replace`, an atomic rename: a reader that has the old file open keeps reading its old,
complete snapshot (it holds the old inode); new connections see the new file. A reader never sees
a half-built state and never blocks a run. (Parquet plus a views file was the alternative; it
would publish many files, which cannot be swapped in one atomic step.)

Phone numbers are masked by default (PUBLISH_PHONE_NUMBERS=masked) everywhere except
`failed_recipients`, the follow-up list whose purpose is to contact those numbers.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.warehouse import sql_string

PHONE_COLUMNS = frozenset({"recipient_number", "contact_number"})
UNMASKED_TABLES = frozenset({"failed_recipients"})

# Operational summaries copied next to the marts, so `campaign-analytics status` never needs
# the (possibly locked) warehouse.
OPS_QUERIES = {
    "ingest_runs": "SELECT * FROM src.raw.ingest_runs",
    "rejected_records_summary": """
        SELECT entity, campaign_id, failed_checks, count(*) AS records, max(loaded_at) AS last_seen
        FROM src.raw.rejected_records GROUP BY ALL""",
    "raw_row_counts": """
        SELECT 'sms_messages' AS table_name, count(*) AS row_count FROM src.raw.sms_messages
        UNION ALL SELECT 'call_attempts', count(*) FROM src.raw.call_attempts
        UNION ALL SELECT 'rejected_records', count(*) FROM src.raw.rejected_records""",
}


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]
    published_at: dt.datetime
    phone_numbers: str


def _masked(column: str) -> str:
    """+919876543210 -> +91******3210: country code and last four digits stay readable."""
    return (
        f"CASE WHEN length({column}) > 7 THEN left({column}, 3) || "
        f"repeat('*', length({column}) - 7) || right({column}, 4) ELSE {column} END"
    )


def publish(
    warehouse: Path, published: Path, *, phone_numbers: str = "masked", run_id: str = "",
    account_timezone: str = "Asia/Kolkata", finalization_hours: int = 72,
) -> PublishResult:
    """Copy the warehouse's marts (and operational summaries) to `published`, atomically."""
    if phone_numbers not in ("masked", "full"):
        raise ValueError(f"PUBLISH_PHONE_NUMBERS must be 'masked' or 'full', got {phone_numbers!r}")
    published.parent.mkdir(parents=True, exist_ok=True)
    staging = published.with_name(f".{published.name}.building")
    staging.unlink(missing_ok=True)
    published_at = dt.datetime.now(dt.UTC)
    tables: dict[str, int] = {}
    con = duckdb.connect(str(staging))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {sql_string(str(warehouse.resolve()))} AS src (READ_ONLY)")
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA ops")
        mart_tables = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'src' AND table_schema = 'marts' ORDER BY 1"
        ).fetchall()
        for (table,) in mart_tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'src' "
                "AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()]
            select = ", ".join(
                f"{_masked(c)} AS {c}"
                if phone_numbers == "masked" and c in PHONE_COLUMNS
                and table not in UNMASKED_TABLES else c
                for c in columns
            )
            con.execute(f"CREATE TABLE marts.{table} AS SELECT {select} FROM src.marts.{table}")
            tables[f"marts.{table}"] = con.execute(
                f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
        for name, query in OPS_QUERIES.items():
            con.execute(f"CREATE TABLE ops.{name} AS {query}")
        con.execute(
            # Readers (reports) need the zone and receipt window the marts were built with.
            "CREATE TABLE ops.publish AS SELECT ?::TIMESTAMPTZ AS published_at, ? AS run_id, "
            "? AS phone_numbers, ? AS account_timezone, ?::INTEGER AS dlr_finalization_hours",
            [published_at, run_id, phone_numbers, account_timezone, finalization_hours],
        )
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(staging, published)  # atomic: readers see the old copy or the new, never a mix
    return PublishResult(published, tables, published_at, phone_numbers)
