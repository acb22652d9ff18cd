"""Resources bound for the whole code location (settings come from the environment)."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.exotel.resources import ExotelApiResource, WarehouseResource
from orchestration.defs.warehouse_models.project import DBT_EXECUTABLE, dbt_project


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "exotel": ExotelApiResource(),
            "warehouse": WarehouseResource(),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        }
    )
