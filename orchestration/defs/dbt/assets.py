"""dbt models and seeds as assets downstream of the raw ingest assets; dbt tests as checks.

dbt's sources are `raw.<table>`, which dagster-dbt maps to the asset keys `raw/<table>` that the
ingest assets materialize, so the lineage raw -> staging -> marts is one graph. Models get their
schema as a key prefix (`marts/fct_sms_messages`), the name BI tools use.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.dbt.project import dbt_project, dbt_vars
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
    yield from dbt.cli(["build", *dbt_vars(warehouse.settings)], context=context).stream()
