"""`raw/callbacks`: the callbacks the receiver landed since the last load, into the warehouse.

Runs first in the daily job and in the intraday refresh; dbt merges what it loads with the pulled
statuses (the newest status time wins, whichever way it came)."""

import dagster as dg

from orchestration.defs.callbacks.loader import load_callbacks
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.callbacks.landing import mark_unpublished, waiting_segments

CALLBACKS_KEY = dg.AssetKey(["raw", "callbacks"])


@dg.asset(
    key=CALLBACKS_KEY,
    group_name="raw",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="Every status callback the receiver stored (CALLBACK_LANDING_DIR), each once, "
    "with rejects kept beside their reasons.",
)
def raw_callbacks(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]
) -> dg.MaterializeResult:
    landing = warehouse.settings.callback_landing_dir
    if waiting_segments(landing):  # before the load: a run killed after it still rebuilds
        mark_unpublished(landing)
    with warehouse.connect() as con:
        loaded = load_callbacks(warehouse.raw_writer(con), landing, context.run.run_id)
    context.log.info("loaded %d callbacks (%d rejected) from %d landing segment(s) in %s",
                     loaded.callbacks, loaded.rejected, loaded.segments, landing)
    if loaded.unreadable:
        context.log.warning("%d landing segment(s) could not be read and were set aside in "
                            "%s (named in raw.rejected_records)", loaded.unreadable,
                            landing / "unreadable")
    return dg.MaterializeResult(metadata={
        "segments": loaded.segments, "callbacks": loaded.callbacks,
        "rejected": loaded.rejected, "unreadable_segments": loaded.unreadable,
        "by_kind": dg.MetadataValue.json(loaded.kinds),
    })
