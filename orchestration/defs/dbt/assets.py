"""dbt models and seeds as assets downstream of the raw ingest assets; dbt tests as checks.

dbt's sources are `raw.<table>`, which dagster-dbt maps to the asset keys `raw/<table>` that the
ingest assets materialize, so the lineage raw -> staging -> marts is one graph. Models get their
schema as a key prefix (`marts/fct_sms_messages`), the name BI tools use.
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.dbt.project import (
    build_fingerprint,
    dbt_project,
    dbt_vars,
    keep_last_build,
)
from orchestration.defs.warehouse.resources import WRITER_POOL, Warehouse
from orchestration.lib.build_inputs import unchanged_since
from orchestration.lib.derived_layout import needs_full_rebuild, record_layout


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

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        # Not blocking: an error-severity test already fails `dbt build` and with it the step,
        # so nothing downstream runs; and a build skipped as unchanged emits no check results,
        # which Dagster would otherwise warn about once per test.
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return dg.AssetCheckSpec(name=spec.name, asset=spec.asset_key,
                                 description=spec.description, metadata=spec.metadata,
                                 additional_deps=spec.additional_deps, blocking=False)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SchemaPrefixedTranslator(),
    pool=WRITER_POOL,  # dbt writes the same DuckDB file as the ingest
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: dg.ResourceParam[Warehouse]
) -> Iterator[Any]:
    """`dbt build`: seeds, staging views, incremental facts, marts, and every test; skipped
    (and the alerts and the publish after it) when its inputs are those of the published copy."""
    settings = warehouse.settings
    if settings.published_path.exists():
        with warehouse.connect() as con:
            since = unchanged_since(con, build_fingerprint(con, settings),
                                    dt.datetime.now(dt.UTC))
        if since is not None:
            context.log.info(
                "nothing new since the build published at %s (the same raw records, models and "
                "settings): dbt build, alerts and publish skipped",
                since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
            return
    with warehouse.connect() as con:
        rebuild = needs_full_rebuild(con)
    if rebuild:
        context.log.info("the derived tables were built by an older version (a campaign is now "
                         "keyed by provider and campaign_id): rebuilding them from raw, once")
    started = time.monotonic()
    invocation = dbt.cli(["build", *dbt_vars(settings), *(["--full-refresh"] if rebuild else [])],
                         context=context)
    try:
        yield from invocation.stream()
        with warehouse.connect() as con:
            record_layout(con)
        context.log.info("%s in %.1f s", build_summary(invocation.get_artifact("run_results.json")),
                         time.monotonic() - started)
    finally:
        # Each invocation gets a target folder of its own (~14 MB); only the last build's
        # results are kept (dbt_project/target/last_build/), so the disk does not fill.
        folder = Path(invocation.target_path)  # relative to the project when not absolute
        keep_last_build(folder if folder.is_absolute() else Path(invocation.project_dir) / folder)


def build_summary(run_results: Mapping[str, Any]) -> str:
    """`44 models, 2 seeds built, 161 tests run, all passed` from dbt's run_results."""
    kinds: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for result in run_results.get("results", []):
        kind = str(result.get("unique_id", "")).split(".", 1)[0]
        kinds[kind] += 1
        if result.get("status") in ("error", "fail"):
            failed[kind] += 1
    words = {"model": "models", "seed": "seeds", "snapshot": "snapshots", "test": "tests",
             "unit_test": "unit tests"}

    def listed(kinds_: list[str], counts: Counter[str]) -> str:
        return ", ".join(f"{counts[k]:,} {words[k]}" for k in kinds_ if counts[k])

    built, tested = ["model", "seed", "snapshot"], ["test", "unit_test"]
    text = f"{listed(built, kinds) or 'nothing'} built"
    if any(kinds[k] for k in tested):
        text += f", {listed(tested, kinds)} run"
    failures = listed([*built, *tested], failed)
    return text + (f" ({failures} failed)" if failures else ", all passed")
