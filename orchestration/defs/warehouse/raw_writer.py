"""Writing the lake's raw tables from a DuckDB connection, and the views that read them.

A writer stages rows in this connection's temp tables (`table()` names the one standing for a
raw table), inside the caller's transaction when it has one: a rollback discards them with the
rest. `commit()` then writes each table's rows as zstd Parquet, one file per partition, sorted,
and commits them to the lake as one commit; the warehouse's `raw.<table>` views are then
re-pointed at the committed files. The caller commits its DuckDB transaction first: a crash
before the lake commit loses the staged rows with the process, as a rollback would (nothing of
that pull is anywhere), and a crash after it leaves the lake committed and the views pointing at
the old files until the next writer opens the warehouse and re-points them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import duckdb

from orchestration.defs.warehouse.lake_tables import LAKE_TABLES, LAYOUT_SCHEMA, table_name
from orchestration.lib.lake import Lake, LakeFile
from orchestration.lib.warehouse import sql_string

STAGE_PREFIX = "_lake_stage_"


class RawWriter:
    def __init__(self, con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
        self.con = con
        self.lake = lake
        self._touched: set[str] = set()

    def table(self, name: str) -> str:
        """The temp table rows for `raw.<name>` are inserted into until the next commit."""
        short = table_name(name)
        stage = STAGE_PREFIX + short
        self.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "
                         f"SELECT * FROM {LAYOUT_SCHEMA}.{short} LIMIT 0")
        self._touched.add(short)
        return stage

    def insert(self, name: str, sql: str, params: Iterable[object] | dict | None = None) -> int:
        """`INSERT INTO <stage> <sql>`: the rows it adds."""
        cursor = self.con.execute(f"INSERT INTO {self.table(name)} {sql}", params)
        return int(cursor.fetchall()[0][0])

    def insert_row(self, name: str, row: dict[str, object]) -> None:
        """One row by column name (the columns it leaves out are NULL)."""
        columns = ", ".join(row)
        self.insert(name, f"({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))

    def commit(self, note: str) -> list[LakeFile]:
        """Everything staged since the last commit, into the lake in one commit."""
        touched, self._touched = sorted(self._touched), set()
        commit_id = self.lake.new_commit()
        files: list[LakeFile] = []
        try:
            for short in touched:
                stage = STAGE_PREFIX + short
                if _exists(self.con, stage):  # gone when its transaction rolled back
                    files += write_files(self.con, self.lake, stage, short, commit_id)
            if files:
                self.lake.commit(commit_id, files, note)
        except BaseException:
            self.lake.discard(commit_id)
            raise
        finally:
            for short in touched:
                self.con.execute(f"DROP TABLE IF EXISTS temp.{STAGE_PREFIX}{short}")
        if files:
            refresh_views(self.con, self.lake, {f.entity for f in files})
        return files

    def discard(self) -> None:
        for short in self._touched:
            self.con.execute(f"DROP TABLE IF EXISTS temp.{STAGE_PREFIX}{short}")
        self._touched.clear()


def write_files(con: duckdb.DuckDBPyConnection, lake: Lake, source: str, short: str,
                commit_id: str) -> list[LakeFile]:
    """The rows of `source` (a relation shaped like raw.<short>) as staged Parquet files of
    `commit_id`, one per (provider, partition)."""
    spec = LAKE_TABLES[short]
    parts = con.execute(f"""
        SELECT {spec.provider} AS provider, {spec.partition} AS part, count(*) AS n
        FROM {source} GROUP BY ALL ORDER BY ALL""").fetchall()
    files = []
    for number, (provider, part, rows) in enumerate(parts):
        relative = lake.relative_path(provider, short, spec.partition_key, part, commit_id,
                                      number)
        target = lake.staged(commit_id) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            COPY (SELECT * FROM {source}
                  WHERE {spec.provider} = {sql_string(provider)}
                    AND {spec.partition} = {sql_string(part)}
                  ORDER BY {spec.order_by})
            TO {sql_string(str(target))} (FORMAT parquet, COMPRESSION zstd)""")
        files.append(LakeFile(relative, provider, short, part, int(rows),
                              target.stat().st_size))
    return files


def view_sql(lake: Lake, short: str, files: list[LakeFile]) -> str:
    layout = f"SELECT * FROM {LAYOUT_SCHEMA}.{short}"
    if not files:
        return layout
    # hive_partitioning off: every column is in the files; the folder names are for readers
    # that prune by them (and `provider` would clash with the column of that name).
    paths = ", ".join(sql_string(lake.location(f.path)) for f in files)
    return (f"{layout} UNION ALL BY NAME SELECT * FROM read_parquet([{paths}], "
            f"union_by_name = true, hive_partitioning = false)")


SUMMARY_TABLE = f"{LAYOUT_SCHEMA}.lake_summary"


def refresh_views(con: duckdb.DuckDBPyConnection, lake: Lake,
                  names: Iterable[str] | None = None) -> None:
    """Point `raw.<table>` at the table's committed files (every lake table by default)."""
    for short in sorted(names or LAKE_TABLES):
        files = lake.manifest.files(short)
        con.execute(f"CREATE OR REPLACE VIEW raw.{short} AS {view_sql(lake, short, files)}")


def refresh_summary(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """The lake's size by table in `raw_layout.lake_summary`, published for `status`: renewed
    whenever a writer opens the warehouse (the publish step does, after the ingest)."""
    con.execute(f"""CREATE OR REPLACE TABLE {SUMMARY_TABLE} (
        lake VARCHAR, provider VARCHAR, entity VARCHAR, files BIGINT, records BIGINT,
        bytes BIGINT)""")
    totals = lake.manifest.totals()
    if totals:
        con.executemany(f"INSERT INTO {SUMMARY_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                        [(lake.root, *row) for row in totals])


def layout_ddl(ddl: str) -> str:
    """The raw DDL with the lake tables declared in `raw_layout` (empty: their types)."""
    def swap(match: re.Match[str]) -> str:
        return f"{LAYOUT_SCHEMA}.{match[1]}" if match[1] in LAKE_TABLES else match[0]

    return (f"CREATE SCHEMA IF NOT EXISTS {LAYOUT_SCHEMA};\n"
            + re.sub(r"\braw\.(\w+)", swap, ddl))


def legacy_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Lake tables this warehouse still holds as tables (written by a version before the lake)."""
    return [name for (name,) in con.execute("""
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'raw' AND table_type = 'BASE TABLE' AND list_contains(?, table_name)
        ORDER BY table_name""", [list(LAKE_TABLES)]).fetchall()]


def legacy_ddl(ddl: str, legacy: Iterable[str]) -> str:
    """The statements of `ddl` that bring the legacy tables to this version's columns."""
    keep = set(legacy)
    statements = [s for s in ddl.split(";") if s.strip()]
    chosen = [s for s in statements
              if (m := re.search(r"\braw\.(\w+)", s)) is not None and m[1] in keep]
    return ";\n".join(chosen) + (";" if chosen else "")


def migrate(con: duckdb.DuckDBPyConnection, lake: Lake, legacy: list[str],
            say: Callable[[str], None]) -> None:
    """Move each legacy raw table's rows into the lake (one commit per table), then replace the
    table by its view. A table whose commit is already in the manifest (a run killed between
    the commit and the swap) is swapped without being copied again."""
    for position, short in enumerate(legacy, start=1):
        note = f"migrate raw.{short}"
        rows = con.execute(f"SELECT count(*) FROM raw.{short}").fetchall()[0][0]
        if not lake.manifest.has_note(note):
            say(f"moving raw.{short} into the lake at {lake.root} "
                f"({position}/{len(legacy)}, {rows:,} rows)")
            commit_id = lake.new_commit()
            try:
                # By name against the layout: a column the old table lacks lands as NULL.
                source = (f"(SELECT * FROM {LAYOUT_SCHEMA}.{short} "
                          f"UNION ALL BY NAME SELECT * FROM raw.{short})")
                files = write_files(con, lake, source, short, commit_id)
                lake.commit(commit_id, files, note)
            except BaseException:
                lake.discard(commit_id)
                raise
        con.execute("BEGIN")
        con.execute(f"DROP TABLE raw.{short}")
        con.execute(f"CREATE VIEW raw.{short} AS "
                    f"{view_sql(lake, short, lake.manifest.files(short))}")
        con.execute("COMMIT")
    if legacy:
        say(f"raw data moved into the lake: {len(legacy)} tables")


def _exists(con: duckdb.DuckDBPyConnection, temp_table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
        [temp_table]).fetchall()[0][0])

