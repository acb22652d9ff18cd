"""Every resource the code location's assets use, made from one `Settings` object.

The code location (`definitions.py`), the CLI's runner, the benchmark and the tests all call
`resources_for`, so a resource is added or changed here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from orchestration.defs.dbt.project import dbt_resource
from orchestration.defs.exotel.resources import ExotelApi
from orchestration.defs.warehouse.resources import warehouse_resource
from orchestration.lib.settings import Settings


def resources_for(settings: Settings) -> dict[str, Any]:
    return {
        "exotel": ExotelApi(settings),
        "warehouse": warehouse_resource(settings),
        "dbt": dbt_resource(),
    }
