"""Bulk-load a batch of API records into `raw`, validated, with failures quarantined.

The path is chosen for speed on one machine (docs/measurements.md): records go to a newline-
delimited JSON file (writing is ~7M rows/s), DuckDB reads and types them in C++ (`read_json`
with VARCHAR columns for the fields, `read_ndjson_objects` for the record as sent, joined by
position), the Pandera contract validates the batch as one frame (it costs ~7 ms per call, so
batches are large), and valid and rejected rows are staged for the lake with one
`INSERT ... SELECT` each (defs/warehouse/raw_writer.py). No Python loop over records and no
row-by-row inserts. """

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa

from orchestration.defs.exotel.entities import Entity
from orchestration.defs.exotel.schemas import failure_reasons
from orchestration.defs.warehouse.raw_writer import RawWriter
from orchestration.lib.exotel.client import UNREADABLE_KEY
from orchestration.lib.warehouse import sql_string


@dataclass
class BatchResult:
    loaded: int = 0
    rejected: int = 0

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.loaded += other.loaded
        self.rejected += other.rejected
        return self


class BatchLoader:
    """Loads batches of one entity for one campaign pull, inside the caller's transaction."""

    def __init__(
        self,
        raw: RawWriter,
        entity: Entity,
        *,
        campaign_id: str,
        run_id: str,
        loaded_at: dt.datetime,
        workdir: Path,
        unit_column: str | None = None,
        pending_statuses: tuple[str, ...] = (),
    ) -> None:
        self.raw = raw
        self.con = raw.con
        # What the campaign's stats count (messages, or contacts): collected batch by batch,
        # loaded and quarantined alike, so reconciling never scans the whole raw table.
        self.unit_column = unit_column
        # A unit whose last record here has one of these statuses still waits on its outcome.
        self.pending_statuses = pending_statuses
        self.units_table = f"_units_{entity.name}"
        self.entity = entity
        self.campaign_id = campaign_id
        self.run_id = run_id
        self.loaded_at = loaded_at
        self.path = workdir / f"{entity.name}.ndjson"
        self.next_seq = 0

    def load(self, lines: list[bytes], *, checked: bool = False) -> BatchResult:
        """Load NDJSON chunks (each one or more records, newline-separated, no trailing newline).
        `checked`: the records already passed their contract (check_records), skip it."""
        if not lines:
            return BatchResult()
        entity = self.entity
        stage_records(self.con, entity, lines, self.path)
        reasons = (_no_reasons() if checked
                   else validate_staged(self.con, entity, marked=_marked(lines)))
        self.con.register("_reasons", reasons)
        try:
            rejected = len(reasons)
            if rejected:
                self.con.execute(
                    f"""
                    INSERT INTO {self.raw.table("rejected_records")}
                    SELECT ?, ?, b.{entity.key}, x.failed_checks, b.record_json, ?, ?
                    FROM _batch AS b JOIN _reasons AS x USING (batch_pos)
                    """,
                    [entity.name, self.campaign_id, self.run_id, self.loaded_at],
                )
            # Campaign records carry their own id; details get the campaign's id added.
            columns = [c for c in entity.columns if c != "campaign_id"]
            column_list = ", ".join(["campaign_id", *columns])
            inserted = self.con.execute(
                f"""
                INSERT INTO {self.raw.table(entity.table)}
                    ({column_list}, record_json, record_seq, run_id, loaded_at)
                SELECT ? AS campaign_id, {", ".join(columns)}, record_json, ? + batch_pos, ?, ?
                FROM _batch AS b ANTI JOIN _reasons AS x USING (batch_pos)
                """,
                [self.campaign_id, self.next_seq, self.run_id, self.loaded_at],
            ).fetchall()[0][0]
        finally:
            # After a failed statement the transaction is aborted and DuckDB refuses even this;
            # the original error is the one worth seeing.
            with contextlib.suppress(duckdb.Error):
                self.con.unregister("_reasons")
        total = self.con.execute("SELECT count(*) FROM _batch").fetchall()[0][0]
        if self.unit_column:
            pending = (f"status IN ({', '.join(map(sql_string, self.pending_statuses))})"
                       if self.pending_statuses else "false")
            select = (f"SELECT {self.unit_column} AS unit, {self.next_seq} + batch_pos AS seq, "
                      f"coalesce({pending}, false) AS pending FROM _batch")
            self.con.execute(
                f"INSERT INTO {self.units_table} {select}" if self.next_seq else
                f"CREATE OR REPLACE TEMP TABLE {self.units_table} AS {select}"
            )
        self.next_seq += total
        return BatchResult(loaded=int(inserted), rejected=rejected)

    def distinct_units(self) -> int:
        """Distinct units seen so far (a missing unit counts once per record)."""
        if not self.unit_column or not self.next_seq:
            return 0
        return int(self.con.execute(
            f"SELECT count(DISTINCT unit) + count(*) FILTER (WHERE unit IS NULL) "
            f"FROM {self.units_table}").fetchall()[0][0])


    def pending_units(self) -> int:
        """Units whose last record seen so far is still pending."""
        if not self.unit_column or not self.next_seq:
            return 0
        return int(self.con.execute(
            f"SELECT count(*) FROM (SELECT arg_max(pending, seq) AS pending "
            f"FROM {self.units_table} GROUP BY unit) WHERE pending").fetchall()[0][0])


def stage_records(con: duckdb.DuckDBPyConnection, entity: Entity, lines: list[bytes],
                  path: Path) -> None:
    """Type the records into the temp table `_batch`: the contract's fields as text and typed,
    the record as sent, and each record's position in the batch."""
    path.write_bytes(b"\n".join(lines))
    source = sql_string(str(path))
    columns = "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}"
                              for k, v in entity.read_columns.items()) + "}"
    typed = ", ".join(field.select_sql() for field in entity.fields)
    # Both readers scan the same file in order (DuckDB preserves insertion order), so the
    # positional join pairs each typed row with the record exactly as it was sent.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _batch AS
        SELECT (row_number() OVER ()) - 1 AS batch_pos, o.json AS record_json, {typed}
        FROM read_json({source}, format = 'newline_delimited', columns = {columns}) AS r
        POSITIONAL JOIN read_ndjson_objects({source}) AS o
    """)


def validate_staged(con: duckdb.DuckDBPyConnection, entity: Entity, *,
                    marked: bool = True) -> pd.DataFrame:
    """The staged batch against its Pandera contract: `(batch_pos, failed_checks)` for each
    failing record. `marked`: some record may carry UNREADABLE_KEY (else that scan is
    skipped)."""
    frame = (
        con.sql("SELECT * EXCLUDE (record_json) FROM _batch ORDER BY batch_pos")
        .to_arrow_table()
        .to_pandas(types_mapper=pd.ArrowDtype)
        .set_index("batch_pos", drop=False)
    )
    frame.index.name = None
    try:
        entity.contract.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        reasons = failure_reasons(errors.failure_cases)
    else:
        reasons = _no_reasons()
    return _with_unreadable(con, reasons) if marked else reasons


def _marked(lines: list[bytes]) -> bool:
    """Whether any record of these NDJSON chunks may carry UNREADABLE_KEY: a byte search, so
    the batch's records are not scanned again as text in SQL (0.6 s a million records) when
    none can."""
    key = f'"{UNREADABLE_KEY}"'.encode()
    return any(key in chunk for chunk in lines)


def _with_unreadable(con: duckdb.DuckDBPyConnection, reasons: pd.DataFrame) -> pd.DataFrame:
    """`reasons` plus the records the client could only read leniently (a value like 1e400:
    lib/exotel/client.py UNREADABLE_KEY), each with what could not be read."""
    unreadable = con.execute(f"""
        SELECT batch_pos, record_json ->> '{UNREADABLE_KEY}' AS failed_checks FROM _batch
        WHERE contains(CAST(record_json AS VARCHAR), '"{UNREADABLE_KEY}"')
          AND record_json ->> '{UNREADABLE_KEY}' IS NOT NULL""").df()
    if unreadable.empty:
        return reasons
    merged = pd.concat([reasons.astype({"failed_checks": "object"}),
                        unreadable.astype({"batch_pos": "int64"})])
    merged = merged.groupby("batch_pos", as_index=False)["failed_checks"].agg(
        lambda parts: "; ".join(dict.fromkeys(str(p) for p in parts)))
    return merged.astype({"batch_pos": "int64", "failed_checks": "string"})


def check_records(con: duckdb.DuckDBPyConnection, entity: Entity, lines: list[bytes],
                  path: Path) -> pd.DataFrame:
    """Validate records without loading them, on a connection of the caller's: the fetching
    thread checks each campaign record before it fetches that campaign's details."""
    stage_records(con, entity, lines, path)
    return validate_staged(con, entity, marked=_marked(lines))


def _no_reasons() -> pd.DataFrame:
    return pd.DataFrame({"batch_pos": pd.Series([], dtype="int64"),
                         "failed_checks": pd.Series([], dtype="string")})
