"""Whether a dbt build would change anything: the inputs of the last published build.

A daily run on a quiet account pulls nothing new, and rebuilding the same marts from the same
raw records costs 15-30 s of dbt for an identical result. The models read only the raw tables
dbt declares as sources (append-only: a new version is a new row), the dbt project's own files
and its vars; their fingerprint is taken at each publish, and a run whose fingerprint matches
skips the build, the alerts and the publish. It still builds when notifications wait to be
retried, or when the published copy is older than half the freshness limit (its run log must
not look stale to `status`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from orchestration.lib.publish import OPS_QUERIES
from orchestration.lib.rules import FRESHNESS_MAX_AGE_HOURS

STATE_TABLE = "pipeline_state.published_builds"
# Tables that gain a row on every pull of a campaign not yet final, changed or not: there what
# counts is the distinct content, without the pull's own bookkeeping (its run, time, cost).
# The others are deduplicated on load, so their row count is their version.
VERSIONED_PER_PULL = ("raw.campaign_pulls", "raw.sms_campaigns", "raw.voice_campaigns")
BOOKKEEPING = ("run_id", "record_seq", "loaded_at", "pulled_at", "seconds", "requests",
               "messages_polled")


# The run log is published too, but a run that changed nothing has nothing to add to it.
RUN_LOG = "raw.ingest_runs"


def build_sources(manifest: Mapping[str, Any]) -> list[str]:
    """`schema.table` of each raw table a build or a publish reads: the dbt project's sources
    (its manifest) and the raw tables published beside the marts (lib/publish.py)."""
    dbt = {f"{source['schema']}.{source['name']}"
           for source in manifest.get("sources", {}).values()}
    published = {match for query in OPS_QUERIES.values()
                 for match in re.findall(r"src\.(raw\.\w+)", query)}
    return sorted((dbt | published) - {RUN_LOG})


def project_checksum(manifest: Mapping[str, Any]) -> str:
    """The dbt project's code: each model, seed, test and macro's own checksum."""
    digest = hashlib.sha256()
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        digest.update(f"{unique_id}={node.get('checksum', {}).get('checksum', '')};".encode())
    for unique_id, macro in sorted(manifest.get("macros", {}).items()):
        if macro.get("package_name") == manifest.get("metadata", {}).get("project_name"):
            digest.update(f"{unique_id}={hash_text(macro.get('macro_sql', ''))};".encode())
    return digest.hexdigest()


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection, sources: Iterable[str], code: str,
                options: Mapping[str, Any]) -> str:
    """Rows per raw source (distinct contents where a pull re-records the same), the code and
    the options (dbt's vars, the publish's masking). A re-pull that brought nothing new leaves
    it as it was."""
    columns: dict[str, set[str]] = {}
    for schema, name, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns()").fetchall():
        columns.setdefault(f"{schema}.{name}", set()).add(column)
    counts = {}
    for table in sources:
        if table not in columns:
            continue
        schema, name = table.split(".", 1)
        quoted = f'"{schema}"."{name}"'
        skipped = sorted(columns[table] & set(BOOKKEEPING))
        if table in VERSIONED_PER_PULL and skipped:
            exclude = ", ".join(f'"{column}"' for column in skipped)
            sql = (f"SELECT count(DISTINCT hash(content)) FROM "
                   f"(SELECT * EXCLUDE ({exclude}) FROM {quoted}) AS content")
        else:
            sql = f"SELECT count(*) FROM {quoted}"
        counts[table] = con.execute(sql).fetchone()[0]
    return hash_text(json.dumps({"rows": counts, "code": code, "options": options},
                                sort_keys=True, default=str))


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS pipeline_state")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} "
                "(fingerprint VARCHAR NOT NULL, published_at TIMESTAMPTZ NOT NULL)")


def record_published(con: duckdb.DuckDBPyConnection, print_: str, at: dt.datetime) -> None:
    """The inputs the copy just published was built from (one row: the latest)."""
    _ensure(con)
    con.execute(f"DELETE FROM {STATE_TABLE}")
    con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?, ?)", [print_, at])


def forget_published(con: duckdb.DuckDBPyConnection) -> None:
    """The next run builds whatever its inputs (a build that started and did not publish)."""
    _ensure(con)
    con.execute(f"DELETE FROM {STATE_TABLE}")


def unchanged_since(con: duckdb.DuckDBPyConnection, print_: str,
                    now: dt.datetime) -> dt.datetime | None:
    """When the published copy was built from these very inputs, if it still may stand in for
    a build now: else None (build)."""
    _ensure(con)
    row = con.execute(f"SELECT fingerprint, published_at FROM {STATE_TABLE}").fetchone()
    if row is None or row[0] != print_:
        return None
    published_at = row[1]
    if now - published_at > dt.timedelta(hours=FRESHNESS_MAX_AGE_HOURS / 2):
        return None
    waiting = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'alerting' "
        "AND table_name = 'notifications'").fetchone()[0]
    if waiting and con.execute(
            "SELECT count(*) FROM alerting.notifications WHERE sent_at IS NULL "
            "AND dead_at IS NULL").fetchone()[0]:
        return None  # the alerts step retries them
    return published_at
