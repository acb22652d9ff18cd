"""The warehouse as a resource: the DuckDB file of this run's settings, opened with its raw
schema in place, and held by one run at a time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.brevo.raw import BREVO_RAW_DDL
from orchestration.defs.warehouse.lake_binding import bind
from orchestration.defs.warehouse.lake_tables import LAYOUT_SCHEMA
from orchestration.defs.warehouse.raw import RAW_DDL
from orchestration.defs.warehouse.raw_writer import (
    RawWriter,
    layout_ddl,
    legacy_ddl,
    legacy_tables,
    migrate,
    refresh_summary,
    refresh_views,
)
from orchestration.lib import warehouse
from orchestration.lib.lake import Lake
from orchestration.lib.run_lock import run_lock
from orchestration.lib.settings import Settings

# DuckDB allows one writer per file: every step that opens the warehouse is in this pool, which
# dagster.yaml limits to one op at a time across all runs.
WRITER_POOL = "duckdb_writer"

# Measured with bench/ingest_scale: at 256MB peak RSS of an ingest is flat from 100k- to
# 500k-message campaigns (532 -> 590 MiB); at DuckDB's default it grows (624 -> 1036 MiB).
WRITER_MEMORY_LIMIT = "256MB"

log = logging.getLogger("campaign_analytics.warehouse")


@dataclass(frozen=True)
class Warehouse:
    """The warehouse file (WAREHOUSE_PATH) and the settings its outputs follow.

    Handed to assets as `dg.ResourceParam[Warehouse]` by `warehouse_resource`, not as a
    ConfigurableResource: those store their fields in Dagster's run storage, and the settings
    carry the API credentials."""

    settings: Settings

    @property
    def path(self) -> Path:
        return self.settings.warehouse_path

    @property
    def lake(self) -> Lake:
        """The raw lake (LAKE_PATH) this warehouse's `raw` views read."""
        return open_lake(self.settings)

    def raw_writer(self, con: duckdb.DuckDBPyConnection) -> RawWriter:
        return RawWriter(con, self.lake)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse; a writer also holds the lake's writer lock, and finds `raw` ready:
        the lake recovered from any killed commit, raw tables of an older version moved into
        it, every view pointing at the committed files."""
        con = warehouse.connect(self.path, read_only=read_only,
                                memory_limit=None if read_only else WRITER_MEMORY_LIMIT)
        try:
            if read_only:
                yield con
                return
            lake = self.lake
            with lake.writing():
                prepare_raw(con, lake, self.path.resolve())
                yield con
        finally:
            con.close()


def open_lake(settings: Settings) -> Lake:
    return Lake(settings.lake_root, local_dir=settings.warehouse_path.resolve().parent)


def prepare_raw(con: duckdb.DuckDBPyConnection, lake: Lake, warehouse_file: Path) -> None:
    """The raw schema of this version, over the lake."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAYOUT_SCHEMA}")
    bind(con, lake, warehouse_file)
    legacy = legacy_tables(con)
    # Each provider's own tables (Ops registers the providers): present before its first run,
    # so the dbt models read them whatever ran.
    ddls = (RAW_DDL, BREVO_RAW_DDL)
    if legacy:  # bring an older version's tables to this version's columns, then move them
        for ddl in ddls:
            con.execute(legacy_ddl(ddl, legacy))
    for ddl in ddls:
        con.execute(layout_ddl(ddl))
    finished = lake.recover()
    if finished:
        log.warning("the lake finished %d commit(s) a killed run had recorded", finished)
    migrate(con, lake, legacy, log.warning)
    refresh_views(con, lake)
    refresh_summary(con, lake)


def warehouse_resource(settings: Settings) -> dg.ResourceDefinition:
    """The warehouse for a run: the run lock (`lib/run_lock.py`) is taken when the run sets up its
    resources, before any step writes, and released when the run ends, whichever entry point
    started it (CLI, Dagster UI, schedule). A run that finds it held waits RUN_LOCK_WAIT_SECONDS,
    then fails naming the holder."""

    @dg.resource(description="The DuckDB warehouse (WAREHOUSE_PATH), locked for the run.")
    def _warehouse(_: dg.InitResourceContext) -> Iterator[Warehouse]:
        with run_lock(settings.warehouse_path, wait_seconds=settings.run_lock_wait_seconds):
            yield Warehouse(settings)

    return _warehouse
