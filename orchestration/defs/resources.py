"""Resources bound for the whole code location (settings come from the environment)."""

import dagster as dg

from orchestration.defs.exotel.resources import ExotelApiResource, WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"exotel": ExotelApiResource(), "warehouse": WarehouseResource()}
    )
