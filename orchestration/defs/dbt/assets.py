"""dbt models and seeds as assets downstream of the raw ingest assets; dbt tests as checks.

dbt's sources are `raw.<table>`, which dagster-dbt maps to the asset keys `raw/<table>` that the
ingest assets materialize, so the lineage raw -> staging -> marts is one graph. Models get their
schema as a key prefix (`marts/fct_sms_messages`), the name BI tools use.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.dbt.project import dbt_project, dbt_vars, keep_last_build
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse


class SchemaPrefixedTranslator(DagsterDbtTranslator):
    """Models and seeds keyed `<schema>/<name>`; sources keep dagster-dbt's `<source>/<table>`."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] in ("model", "seed", "snapshot"):
            return spec.replace_attributes(
                key=dg.AssetKey([props["schema"], props["name"]]), group_name="warehouse"
            )
        return spec


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SchemaPrefixedTranslator(),
    pool=WRITER_POOL,  # dbt writes the same DuckDB file as the ingest
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: dg.ResourceParam[Warehouse]
) -> Iterator[Any]:
    """`dbt build`: seeds, staging views, incremental facts, marts, and every test."""
    invocation = dbt.cli(["build", *dbt_vars(warehouse.settings)], context=context)
    try:
        yield from invocation.stream()
    finally:
        # Each invocation gets a target folder of its own (~14 MB); only the last build's
        # results are kept (dbt_project/target/last_build/), so the disk does not fill.
        folder = Path(invocation.target_path)  # relative to the project when not absolute
        keep_last_build(folder if folder.is_absolute() else Path(invocation.project_dir) / folder)
