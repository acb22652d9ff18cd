"""Helpers shared by the ingest tests: resources bound to a sandbox, and the truth to compare to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.exotel.assets import sms_ingest, voice_ingest
from orchestration.defs.exotel.checks import call_attempts_freshness, sms_messages_freshness
from orchestration.defs.resources import resources_for
from orchestration.defs.warehouse.raw_writer import RawWriter
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.lib.settings import Settings, load_settings
from orchestration.lib.warehouse import connect
from orchestration.sandbox import SandboxServer
from orchestration.sandbox.generator import generate_calls, generate_sms
from orchestration.sandbox.server import sandbox_environment

INGEST_ASSETS = [voice_ingest, sms_ingest]


def sandbox_settings(server_url: str, warehouse: Path, **env: str) -> Settings:
    """Settings pointing at a sandbox, with the warehouse and its published copy in `warehouse`'s
    folder; nothing is read from the developer's environment or .env."""
    return load_settings({**sandbox_environment(server_url), "WAREHOUSE_PATH": str(warehouse),
                          "PUBLISHED_PATH": str(warehouse.with_name("published.duckdb")),
                          "CALLBACK_LANDING_DIR": str(warehouse.with_name("callbacks")), **env},
                         dotenv_path=None)


def sandbox_resources(server_url: str, warehouse: Path, **env: str) -> dict[str, Any]:
    return resources_for(sandbox_settings(server_url, warehouse, **env))


def open_warehouse(warehouse: Path) -> Any:
    """The warehouse as the pipeline opens it (raw schema in place), as a context manager."""
    settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                             require_credentials=False)
    return Warehouse(settings).connect()


@contextmanager
def open_raw(warehouse: Path) -> Iterator[RawWriter]:
    """The warehouse opened as the pipeline opens it, with a writer for its lake tables (its
    `.con` is the connection)."""
    settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                             require_credentials=False)
    store = Warehouse(settings)
    with store.connect() as con:
        yield store.raw_writer(con)


def ingest_config(**config: Any) -> dict[str, Any]:
    return {"ops": {name: {"config": dict(config)} for name in ("voice_ingest", "sms_ingest")}}


def run_ingest(
    server: SandboxServer, warehouse: Path, *, raise_on_error: bool = True, **config: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*INGEST_ASSETS, call_attempts_freshness, sms_messages_freshness],
        resources=sandbox_resources(server.url, warehouse),
        run_config=ingest_config(**config),
        raise_on_error=raise_on_error,
    )


def sandbox_truth(server: SandboxServer) -> dict[str, int]:
    """Records per campaign as the sandbox serves them at its current clock."""
    now = server.clock.now()
    truth = {}
    for plan in server.account.plans:
        if plan.created_at > now:
            continue
        if plan.channel == "sms":
            truth[plan.campaign_id] = generate_sms(plan, server.config).plan.size
        else:
            calls = generate_calls(plan, server.config)
            truth[plan.campaign_id] = int(calls.visible_rows(now).size)
    return truth


def latest_state(warehouse: Path) -> dict[str, Any]:
    """What downstream models will see: the latest version of each record, summarised."""
    con = connect(warehouse)
    try:
        messages = con.execute("""
            SELECT campaign_id, status, count(*) FROM (
                SELECT * FROM raw.sms_messages
                QUALIFY row_number() OVER (PARTITION BY sms_sid
                                           ORDER BY updated_at DESC, loaded_at DESC) = 1)
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
        calls = con.execute("""
            SELECT campaign_id, status, count(*) FROM (
                SELECT DISTINCT call_sid, campaign_id, status FROM raw.call_attempts)
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
        rejected = con.execute("""
            SELECT entity, campaign_id, failed_checks, count(*) FROM (
                SELECT DISTINCT entity, campaign_id, failed_checks, record_json::VARCHAR
                FROM raw.rejected_records)
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
    finally:
        con.close()
    return {"messages": messages, "calls": calls, "rejected": rejected}


def loaded_per_campaign(warehouse: Path, run_id: str | None = None) -> dict[str, int]:
    """Records pulled per campaign (loaded + quarantined), in one run or all runs."""
    con = connect(warehouse)
    where = "WHERE run_id = $run" if run_id else ""
    params = {"run": run_id} if run_id else {}
    try:
        rows = con.execute(f"""
            SELECT campaign_id, count(*) FROM (
                SELECT campaign_id, run_id FROM raw.sms_messages
                UNION ALL SELECT campaign_id, run_id FROM raw.call_attempts
                UNION ALL SELECT campaign_id, run_id FROM raw.rejected_records
                WHERE entity IN ('sms_message', 'call_attempt'))
            {where} GROUP BY campaign_id
        """, params).fetchall()
    finally:
        con.close()
    return dict(rows)


def run_pipeline(
    server: SandboxServer, warehouse: Path, **config: Any
) -> dg.ExecuteInProcessResult:
    """Ingest then `dbt build`, as the daily job does."""
    from orchestration.defs.dbt.assets import warehouse_models

    return dg.materialize(
        [*INGEST_ASSETS, warehouse_models],
        resources=sandbox_resources(server.url, warehouse),
        run_config=ingest_config(**config),
    )
