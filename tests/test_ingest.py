"""Ingest, end to end: sandbox over loopback -> Dagster assets -> a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from orchestration.defs.exotel.assets import WRITER_POOL, sms_ingest, voice_ingest
from orchestration.lib.warehouse import connect
from orchestration.sandbox import AccountConfig, Faults
from orchestration.sandbox.generator import plan_account
from tests.ingest_helpers import (
    latest_state,
    loaded_per_campaign,
    open_warehouse,
    run_ingest,
    sandbox_truth,
)

ACCOUNT = AccountConfig(seed=31, voice_campaigns=3, sms_campaigns=5, voice_contacts=(300, 900),
                        sms_messages=(800, 3500))
# A day after the last campaign started: the newest are inside the 72-hour receipt window.
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _materialized(result: dg.ExecuteInProcessResult, key: str) -> dict:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.to_user_string() == key:
            return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"{key} was not materialized")


def test_a_full_pull_lands_exactly_the_sandbox_records(start_sandbox, tmp_path) -> None:
    server = start_sandbox(ACCOUNT, now=NOW)
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_ingest(server, warehouse)
    assert result.success
    assert loaded_per_campaign(warehouse, result.run_id) == sandbox_truth(server)
    meta = _materialized(result, "raw/sms_messages")
    assert meta["pages"] > 5 and meta["records"] == meta["loaded"] and meta["rejected"] == 0
    assert meta["seconds"] > 0
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed
              for c in result.get_asset_check_evaluations()}
    assert checks[("raw/sms_messages", "rejected_share")]
    assert checks[("raw/sms_campaigns", "stats_reconciliation")]
    assert checks[("raw/voice_campaigns", "stats_reconciliation")]
    assert checks[("raw/sms_messages", "freshness")]
    con = connect(warehouse)
    # Every raw row carries its record as sent, its campaign, the run and the load time.
    assert con.execute("""
        SELECT count(*) FROM raw.sms_messages
        WHERE record_json->>'sms_sid' <> sms_sid OR run_id <> ? OR loaded_at IS NULL
           OR campaign_id IS NULL""", [result.run_id]).fetchall()[0][0] == 0
    stats = con.execute("SELECT stats_total, stats_delivered FROM raw.sms_campaigns").fetchall()
    assert len(stats) == ACCOUNT.sms_campaigns and all(total > 0 for total, _ in stats)


def test_a_second_run_pulls_only_campaigns_not_yet_final(start_sandbox, tmp_path) -> None:
    last = plan_account(ACCOUNT)[-1]  # six hours after it ends, its receipts are still due
    server = start_sandbox(ACCOUNT, now=dt.datetime.fromtimestamp(last.end_at + 6 * 3600,
                                                                  dt.UTC))
    warehouse = tmp_path / "warehouse.duckdb"
    first = run_ingest(server, warehouse)
    before = latest_state(warehouse)
    second = run_ingest(server, warehouse)
    con = connect(warehouse)
    finals = dict(con.execute(
        "SELECT campaign_id, is_final FROM raw.campaign_pulls WHERE run_id = ?", [first.run_id]
    ).fetchall())
    looked_at = dict(con.execute(
        "SELECT campaign_id, detail_mode FROM raw.campaign_pulls WHERE run_id = ?",
        [second.run_id]).fetchall())
    con.close()
    assert 0 < sum(finals.values()) < len(finals)  # some final, some still waiting
    assert set(looked_at) == {cid for cid, final in finals.items() if not final}
    # Nothing changed at the provider: an SMS campaign's pages are skipped on its stats.
    assert {mode for cid, mode in looked_at.items() if cid.startswith("sms")} == {"skipped"}
    assert latest_state(warehouse) == before  # nothing changed, so nothing downstream does


def test_late_receipts_show_as_the_latest_row(start_sandbox, tmp_path) -> None:
    config = AccountConfig(seed=4, voice_campaigns=0, sms_campaigns=3, sms_messages=(3000, 6000),
                           start=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
                           end=dt.datetime(2026, 1, 12, tzinfo=dt.UTC))
    last = plan_account(config)[-1]
    server = start_sandbox(config, now=dt.datetime.fromtimestamp(last.end_at + 6 * 3600, dt.UTC))
    warehouse = tmp_path / "warehouse.duckdb"
    run_ingest(server, warehouse)
    con = connect(warehouse)
    pending = {sid for (sid,) in con.execute(
        "SELECT sms_sid FROM raw.sms_messages WHERE campaign_id = ? AND status IN "
        "('submitted', 'sent')", [last.campaign_id]).fetchall()}
    con.close()
    assert pending

    server.clock.advance(72 * 3600)
    run_ingest(server, warehouse)
    con = connect(warehouse)
    latest = dict(con.execute("""
        SELECT sms_sid, status FROM raw.sms_messages WHERE campaign_id = ?
        QUALIFY row_number() OVER (PARTITION BY sms_sid ORDER BY updated_at DESC,
                                   loaded_at DESC) = 1""", [last.campaign_id]).fetchall())
    final = con.execute("SELECT bool_and(is_final) FROM (SELECT arg_max(is_final, loaded_at) "
                        "AS is_final FROM raw.campaign_pulls GROUP BY campaign_id)").fetchall()
    con.close()
    assert {latest[sid] for sid in pending} <= {"delivered", "failed", "expired"}
    assert final[0][0] is True
    third = run_ingest(server, warehouse)
    assert loaded_per_campaign(warehouse, third.run_id) == {}  # all final: nothing to pull


@pytest.mark.parametrize(("malformed", "severity"), [
    (0.004, dg.AssetCheckSeverity.WARN),  # above 0.1%: warn
    (0.03, dg.AssetCheckSeverity.ERROR),  # above 1%: fail
])
def test_malformed_records_are_quarantined_and_the_rest_of_the_page_loads(
    start_sandbox, tmp_path, malformed: float, severity: dg.AssetCheckSeverity
) -> None:
    config = AccountConfig(**{**ACCOUNT.__dict__, "malformed_share": malformed,
                              "extra_keys_share": 0.05})
    server = start_sandbox(config, now=NOW, faults=Faults(extra_envelope_keys=True))
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_ingest(server, warehouse)
    assert result.success  # rejected records fail a check, never the load
    assert loaded_per_campaign(warehouse) == sandbox_truth(server)
    con = connect(warehouse)
    reasons = [r for (r,) in con.execute(
        "SELECT DISTINCT failed_checks FROM raw.rejected_records").fetchall()]
    extra = con.execute("SELECT count(*) FROM raw.sms_messages "
                        "WHERE record_json->>'carrier_ref' IS NOT NULL").fetchall()[0][0]
    con.close()
    text = " | ".join(reasons)
    for phrase in ("sms_sid is missing", "call_sid is missing",
                   "status 'in_limbo' is not one of the documented values",
                   "'15/02/2024 10:05' is not an ISO 8601 timestamp with a UTC offset",
                   "parts 'two' is not a whole number", "is negative"):
        assert phrase in text, phrase
    assert extra > 0  # unknown keys are kept in the JSON, never a failure
    checks = {(c.asset_key.to_user_string(), c.check_name): c
              for c in result.get_asset_check_evaluations()}
    share = checks[("raw/sms_messages", "rejected_share")]
    assert not share.passed and share.severity == severity
    assert malformed / 2 < share.metadata["share"].value < malformed * 2


def test_a_broken_page_leaves_its_campaign_out_whole(start_sandbox, tmp_path) -> None:
    config = AccountConfig(seed=8, voice_campaigns=0, sms_campaigns=3,
                           sms_messages=(2500, 4000))
    server = start_sandbox(config, now=NOW, faults=Faults(broken_page_share=0.4))
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_ingest(server, warehouse, raise_on_error=False)
    # The run goes on: the broken campaigns are recorded and left out, the others land.
    assert result.success
    with open_warehouse(warehouse) as con:
        failed = {c for (c,) in con.execute(
            "SELECT campaign_id FROM raw.campaign_pull_failures").fetchall()}
        counted = con.execute("SELECT sum(campaigns_failed) FROM raw.ingest_runs").fetchone()[0]
    assert failed and counted == len(failed)
    loaded = loaded_per_campaign(warehouse)
    assert not failed & set(loaded)
    truth = sandbox_truth(server)
    for campaign, count in loaded.items():
        assert count == truth[campaign]  # a campaign is in raw whole or not at all
    server.faults = Faults()
    assert run_ingest(server, warehouse).success
    assert loaded_per_campaign(warehouse) == truth


def test_a_run_killed_mid_campaign_and_rerun_equals_an_uninterrupted_run(
    start_sandbox, tmp_path
) -> None:
    config = AccountConfig(seed=9, voice_campaigns=1, sms_campaigns=2,
                           sms_messages=(20_000, 20_000), voice_contacts=(500, 500))
    server = start_sandbox(config, now=NOW, faults=Faults(latency_ms=60))
    killed = tmp_path / "killed.duckdb"
    process = subprocess.Popen([sys.executable, "-m", "tests.ingest_job", server.url,
                                str(killed)])
    first_sms = [p for p in server.account.plans if p.channel == "sms"][0]
    deadline = time.monotonic() + 120
    # Kill once the first SMS campaign is half served: mid-campaign, some batches inserted.
    served_before_sms = sandbox_truth(server)[
        [p for p in server.account.plans if p.channel == "voice"][0].campaign_id]
    while server.stats.records < served_before_sms + first_sms.size // 2:
        assert process.poll() is None, "the ingest finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert loaded_per_campaign(killed).get(first_sms.campaign_id) is None

    server.faults = Faults()
    assert run_ingest(server, killed).success
    clean = tmp_path / "clean.duckdb"
    assert run_ingest(server, clean).success
    assert latest_state(killed) == latest_state(clean)
    assert loaded_per_campaign(killed) == loaded_per_campaign(clean) == sandbox_truth(server)


def test_warehouse_writers_share_a_pool_of_one() -> None:
    for asset in (voice_ingest, sms_ingest):
        assert asset.op.pool == WRITER_POOL
    settings = yaml.safe_load(Path("dagster.yaml").read_text())
    assert settings["concurrency"]["pools"]["default_limit"] == 1


def test_the_code_location_loads() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m",
         "orchestration.definitions"], capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stderr + result.stdout


@pytest.mark.parametrize("bad", ["2026/01/01", "yesterday"])
def test_a_bad_backfill_date_fails_clearly(start_sandbox, tmp_path, bad: str) -> None:
    server = start_sandbox(ACCOUNT, now=NOW)
    result = run_ingest(server, tmp_path / "w.duckdb", raise_on_error=False,
                        start_date_from=bad)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "start_date_from must be a date as YYYY-MM-DD" in str(failure.event_specific_data)


def test_backfill_repulls_chosen_campaigns_even_when_final(start_sandbox, tmp_path) -> None:
    server = start_sandbox(ACCOUNT, now=NOW + dt.timedelta(days=10))  # everything final
    warehouse = tmp_path / "warehouse.duckdb"
    run_ingest(server, warehouse)
    nothing = run_ingest(server, warehouse)
    assert loaded_per_campaign(warehouse, nothing.run_id) == {}
    chosen = [p.campaign_id for p in server.account.plans][:2]
    by_id = run_ingest(server, warehouse, campaign_ids=chosen)
    assert set(loaded_per_campaign(warehouse, by_id.run_id)) == set(chosen)
    first_day = plan_account(ACCOUNT)[0]
    day = dt.datetime.fromtimestamp(first_day.start_at + 19800, dt.UTC).date().isoformat()
    by_date = run_ingest(server, warehouse, start_date_from=day, start_date_to=day)
    assert first_day.campaign_id in loaded_per_campaign(warehouse, by_date.run_id)
