"""Whether the warehouse's derived tables (dbt's intermediate and marts) have this version's
layout, so a build may update them in place.

Incremental models append a new column to their existing rows as NULL (dbt's
append_new_columns): a change that keys every row anew (issue 27's `provider` on every fact and
mart) must rebuild them from raw once instead. LAYOUT_VERSION counts those changes; the
warehouse remembers the version its derived tables were built with.
"""

from __future__ import annotations

import duckdb

# 2: every derived table carries `provider` (a campaign is keyed by provider and campaign_id).
LAYOUT_VERSION = 2
STATE_TABLE = "pipeline_state.derived_layout"


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS pipeline_state")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (version INTEGER NOT NULL)")


def needs_full_rebuild(con: duckdb.DuckDBPyConnection) -> bool:
    """True when derived tables exist from a version with an older layout (a warehouse that
    has none yet builds them whole anyway)."""
    _ensure(con)
    derived = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name IN ('intermediate', 'marts')"
    ).fetchone()[0]
    stored = con.execute(f"SELECT max(version) FROM {STATE_TABLE}").fetchone()[0]
    return bool(derived) and (stored or 1) < LAYOUT_VERSION


def record_layout(con: duckdb.DuckDBPyConnection) -> None:
    """After a build that succeeded: the derived tables have this version's layout."""
    _ensure(con)
    con.execute(f"DELETE FROM {STATE_TABLE}")
    con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?)", [LAYOUT_VERSION])
