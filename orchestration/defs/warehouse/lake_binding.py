"""Which lake a warehouse's raw data is in: an id kept in both, so a warehouse never reads or
writes another's lake, and a lake moved or copied together with its warehouse still matches.

- Neither has an id: a new warehouse and a new lake; both get one.
- Only the lake has one: a new warehouse pointed at a lake in use is refused, unless the
  warehouse that lake was last written by no longer exists (rebuilding a warehouse from its lake).
- Only the warehouse has one: its raw data is elsewhere (LAKE_PATH changed): refused, naming it.
- Different ids: refused.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from orchestration.defs.warehouse.lake_tables import LAYOUT_SCHEMA
from orchestration.lib.lake import Lake, LakeError

BINDING_TABLE = f"{LAYOUT_SCHEMA}.lake_binding"


def warehouse_lake(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(lake id, lake root) the warehouse was last bound to; None if never."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = 'lake_binding'", [LAYOUT_SCHEMA]).fetchall()[0][0]
    if not exists:
        return None
    row = con.execute(f"SELECT lake_id, lake_root FROM {BINDING_TABLE}").fetchone()
    return None if row is None else (row[0], row[1])


def check_binding(bound: tuple[str, str] | None, lake: Lake, warehouse: Path) -> None:
    """LakeError when this warehouse must not use this lake; the message names the fix."""
    lake_id = lake.manifest.get("lake_id")
    owner = lake.manifest.get("warehouse")
    if bound is None:
        if lake_id is not None and owner not in (None, str(warehouse)) and Path(owner).exists():
            raise LakeError(
                f"the lake at {lake.root} holds the raw data of the warehouse {owner}; give "
                f"this warehouse ({warehouse}) its own LAKE_PATH")
        return
    bound_id, bound_root = bound
    if lake_id is None:
        raise LakeError(
            f"the raw data of {warehouse} is in the lake at {bound_root}, and LAKE_PATH now "
            f"names {lake.root}, an empty lake: set LAKE_PATH={bound_root} (or move that lake "
            "there)")
    if lake_id != bound_id:
        raise LakeError(
            f"the lake at {lake.root} is not the one {warehouse} was built from (that was at "
            f"{bound_root}): set LAKE_PATH to it, or give this warehouse its own LAKE_PATH")


def bind(con: duckdb.DuckDBPyConnection, lake: Lake, warehouse: Path) -> None:
    """Check the binding, then record it on both sides."""
    bound = warehouse_lake(con)
    check_binding(bound, lake, warehouse)
    lake_id = lake.manifest.get("lake_id")
    if lake_id is None:
        lake_id = uuid.uuid4().hex
        lake.manifest.put("lake_id", lake_id)
    lake.manifest.put("warehouse", str(warehouse))
    if bound != (lake_id, lake.root):
        con.execute(f"CREATE TABLE IF NOT EXISTS {BINDING_TABLE} "
                    "(lake_id VARCHAR, lake_root VARCHAR)")
        con.execute(f"DELETE FROM {BINDING_TABLE}")
        con.execute(f"INSERT INTO {BINDING_TABLE} VALUES (?, ?)", [lake_id, lake.root])
