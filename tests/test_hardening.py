"""Hardening: nothing a setting, a query, a bad record or a second run can do loses data or leaks
a secret. Each test reproduces one way it went wrong (the numbers are the hardening issue's)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from orchestration.lib.settings import ConfigError, load_settings
from orchestration.sandbox import AccountConfig, SandboxServer
from tests.fake_api import (
    FakeAccount,
    FakeApi,
    call_attempt,
    messages,
    sms_campaign,
    sms_message,
    voice_campaign,
)
from tests.ingest_helpers import INGEST_ASSETS, ingest_config

CLI = [sys.executable, "-m", "orchestration.cli"]
SMALL = AccountConfig(seed=3, voice_campaigns=1, sms_campaigns=2, voice_contacts=(200, 300),
                      sms_messages=(500, 900), start=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                      end=dt.datetime(2026, 1, 7, tzinfo=dt.UTC))
AFTER_SMALL = dt.datetime(2026, 1, 12, tzinfo=dt.UTC)  # every campaign of SMALL is final


def _cli(*args: str, env: dict[str, str], cwd: Path | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _paths(tmp: Path, **extra: str) -> dict[str, str]:
    return {"WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
            "PUBLISHED_PATH": str(tmp / "published.duckdb"), **extra}


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The user's mistake is one line on stderr, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _ingest(api: FakeApi, warehouse: Path, **env: str) -> dg.ExecuteInProcessResult:
    from orchestration.defs.resources import resources_for

    settings = load_settings({**api.environment(), **_paths(warehouse.parent), **env},
                             dotenv_path=None)
    return dg.materialize(INGEST_ASSETS, resources=resources_for(settings),
                          run_config=ingest_config(), raise_on_error=False)


def _rows(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ---- 1. outputs that would overwrite the warehouse ------------------------------------------

@pytest.mark.parametrize(("warehouse", "published"), [
    ("data/warehouse.duckdb", "data/warehouse.duckdb"),
    ("data/warehouse.duckdb", "data/../data/./warehouse.duckdb"),
    ("data/warehouse.duckdb", "link.duckdb"),  # a symlink to the warehouse
    ("data/.published.duckdb.building", "data/published.duckdb"),  # publish's staging file
])
def test_a_published_path_that_is_the_warehouse_is_refused(tmp_path, monkeypatch, warehouse,
                                                           published) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "link.duckdb").symlink_to(tmp_path / "data" / "warehouse.duckdb")
    with pytest.raises(ConfigError, match="WAREHOUSE_PATH and PUBLISHED_PATH"):
        load_settings({"WAREHOUSE_PATH": warehouse, "PUBLISHED_PATH": published},
                      dotenv_path=None, require_credentials=False)


def test_sync_refuses_to_publish_over_the_warehouse_and_keeps_it(tmp_path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE history AS SELECT 42 AS answer")
    con.close()
    before = warehouse.read_bytes()
    with SandboxServer(SMALL, now=AFTER_SMALL) as server:
        result = _cli("sync", env={**server.environment(), "WAREHOUSE_PATH": str(warehouse),
                                   "PUBLISHED_PATH": str(warehouse)})
    assert result.returncode == 2
    line = _one_line_error(result)
    assert "WAREHOUSE_PATH" in line and "PUBLISHED_PATH" in line
    assert warehouse.read_bytes() == before


def test_a_warehouse_inside_the_reports_folder_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="reports folder"):
        load_settings({"WAREHOUSE_PATH": str(tmp_path / "reports" / "w.duckdb"),
                       "PUBLISHED_PATH": str(tmp_path / "published.duckdb")},
                      dotenv_path=None, require_credentials=False)


# ---- 2. `query` is read-only in every sense -------------------------------------------------

@pytest.fixture
def published_copy(tmp_path) -> Path:
    path = tmp_path / "published.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_campaigns AS SELECT 'c1' AS campaign_id, 2026 AS year, "
                "30004 AS detailed_status_code, 1234567 AS messages")
    con.close()
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE keep AS SELECT 1 AS x")
    con.close()
    return path


@pytest.mark.parametrize("escape", [
    "COPY (SELECT 1) TO '{published}' (FORMAT csv)",
    "COPY (SELECT 1) TO '{tmp}/written.csv' (FORMAT csv)",
    "COPY marts.dim_campaigns TO '{tmp}/written.parquet' (FORMAT parquet)",
    "ATTACH '{tmp}/other.duckdb' AS other (READ_WRITE); DELETE FROM other.keep",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "CREATE TABLE marts.mine AS SELECT 1",
    "DELETE FROM marts.dim_campaigns",
    "EXPORT DATABASE '{tmp}/exported'",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
    "SELECT * FROM read_csv('{tmp}/other.duckdb')",
    "SELECT 1; COPY (SELECT 1) TO '{tmp}/written.csv'",
])
def test_query_cannot_write_attach_install_or_reach_files(published_copy, escape: str) -> None:
    tmp = published_copy.parent
    before = published_copy.read_bytes()
    sql = escape.format(published=published_copy, tmp=tmp)
    result = _cli("query", "--published", str(published_copy), sql, env={})
    assert result.returncode == 2, result.stdout
    _one_line_error(result)
    assert published_copy.read_bytes() == before
    assert not (tmp / "written.csv").exists() and not (tmp / "written.parquet").exists()
    assert not (tmp / "exported").exists()
    assert _rows(tmp / "other.duckdb", "SELECT count(*) FROM keep") == [(1,)]


def test_query_still_answers_selects(published_copy) -> None:
    result = _cli("query", "--published", str(published_copy),
                  "SELECT * FROM marts.dim_campaigns", env={})
    assert result.returncode == 0, result.stderr
    assert "c1" in result.stdout


# ---- 3. secrets never reach Dagster's run storage -------------------------------------------

def _stored_text(home: Path) -> bytes:
    """Everything under DAGSTER_HOME as bytes: every file, every SQLite cell, and every cell
    zlib-decompressed (Dagster compresses snapshots)."""
    found = []
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found.append(data)
        if not data.startswith(b"SQLite format 3"):
            continue
        con = sqlite3.connect(path)
        try:
            tables = [t for (t,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - test
                    for cell in row:
                        if isinstance(cell, str):
                            cell = cell.encode()
                        if isinstance(cell, bytes):
                            found.append(cell)
                            with contextlib.suppress(zlib.error):
                                found.append(zlib.decompress(cell))
        finally:
            con.close()
    return b"\n".join(found)


@pytest.fixture(scope="module")
def verbose_sync(tmp_path_factory) -> dict[str, Any]:
    """One `sync -v` as a user runs it, against the hostile fake API, with Dagster's run storage
    in a DAGSTER_HOME of its own. One message went to a number that is not E.164, one failed
    with an error message quoting a number, and one call came from a caller ID that is no
    number shape at all (quarantined, its reason quoting it)."""
    tmp = tmp_path_factory.mktemp("sync")
    home = tmp / "dagster_home"
    home.mkdir()
    stats = {"total": 3, "submitted": 3, "delivered": 2, "failed": 1, "pending": 0,
             "rejected": 0}
    account = FakeAccount(
        sms=[sms_campaign("sms_c1", 3, stats=stats)], voice=[voice_campaign("camp_v1", 2)],
        details={"sms_c1": [sms_message(0, to="919812345678"),
                            sms_message(1, status="failed", delivered_at=None,
                                        error_code="FAILED_INVALID_NUMBER",
                                        error_message="+919876543210 is not reachable"),
                            sms_message(2)],
                 "camp_v1": [call_attempt(0, **{"from": "919812345678"}), call_attempt(1)]})
    with FakeApi(account) as api:
        result = _cli("sync", "-v", env={**api.environment(), **_paths(tmp),
                                         "DAGSTER_HOME": str(home), **ALERT_SECRETS_ENV})
    assert result.returncode == 0, result.stderr[-3000:]
    return {"tmp": tmp, "home": home, "result": result}


# Alert delivery's secrets: a webhook URL is its own credential, and the SMTP password.
ALERT_WEBHOOK_SECRET = "webhook-path-token-0123456789"
ALERT_SMTP_PASSWORD = "smtp-password-0123456789"  # noqa: S105 - a test value
ALERT_SECRETS_ENV = {
    "ALERT_WEBHOOK_URL": f"https://hooks.example.com/services/{ALERT_WEBHOOK_SECRET}",
    "ALERT_SMTP_HOST": "127.0.0.1", "ALERT_SMTP_PORT": "1", "ALERT_SMTP_USERNAME": "alerts",
    "ALERT_SMTP_PASSWORD": ALERT_SMTP_PASSWORD, "ALERT_SMTP_FROM": "alerts@example.com",
    "ALERT_EMAIL_TO": "ops@example.com",
    # The published copy's recipient_key is keyed with this: never stored or printed either.
    "RECIPIENT_LOOKUP_KEY": "lookup-key-0123456789abcdef"}


def test_the_api_key_and_token_never_reach_dagsters_run_storage(verbose_sync) -> None:
    from tests.fake_api import KEY, TOKEN

    stored = _stored_text(verbose_sync["home"])
    # The scan reads what Dagster stored: the run's warehouse path is in it (decompressed).
    assert str(verbose_sync["tmp"] / "warehouse.duckdb").encode() in stored
    result = verbose_sync["result"]
    lookup_key = ALERT_SECRETS_ENV["RECIPIENT_LOOKUP_KEY"]
    for secret in (KEY, TOKEN, ALERT_WEBHOOK_SECRET, ALERT_SMTP_PASSWORD, lookup_key):
        assert secret.encode() not in stored
        assert secret not in result.stdout + result.stderr
    published = (verbose_sync["tmp"] / "published.duckdb").read_bytes()
    assert lookup_key.encode() not in published and b"recipient_key" in published


# ---- 4. ids from the API are data, never a path ---------------------------------------------

def test_a_campaign_id_that_is_a_path_is_quarantined_and_never_requested(tmp_path) -> None:
    bad = "../../../v2/accounts/other/sms-campaigns/x"
    account = FakeAccount(sms=[sms_campaign(bad, 3), sms_campaign("sms_ok_1", 3)],
                          details={bad: list(messages(3)), "sms_ok_1": list(messages(3))})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        result = _ingest(api, warehouse)
        requested = list(api.paths)
    assert result.success
    assert not any(".." in path or "/other/" in path for path in requested), requested
    assert _rows(warehouse, "SELECT DISTINCT campaign_id FROM raw.sms_messages") == [("sms_ok_1",)]
    reasons = _rows(warehouse, "SELECT entity, failed_checks FROM raw.rejected_records "
                               "WHERE campaign_id = ?", [bad])
    assert reasons and "not a valid campaign id" in reasons[0][1]


def test_report_files_are_named_from_validated_ids_only(tmp_path) -> None:
    from orchestration.lib.reports.campaign_page import report_filename

    assert report_filename("sms_camp_1") == "campaign-sms_camp_1.html"
    for bad in ("../x", "a/b", "", "..", "x\x00y"):
        with pytest.raises(ValueError, match="campaign id"):
            report_filename(bad)


# ---- 5. full numbers never leak in masked mode ----------------------------------------------

def test_published_reasons_and_error_messages_mask_phone_numbers(verbose_sync) -> None:
    from orchestration.lib.exotel.client import _parse_envelope
    from orchestration.lib.exotel.errors import MalformedResponseError

    published = verbose_sync["tmp"] / "published.duckdb"
    text = " ".join(str(v) for row in _rows(published, "SELECT * FROM ops.rejected_records_summary")
                    for v in row)
    assert "is not a caller ID" in text
    assert "919812345678" not in text and "5678" in text
    facts = " ".join(str(v) for row in _rows(published, "SELECT * FROM marts.fct_sms_messages")
                     for v in row)
    assert "919812345678" not in facts and "+919876543210" not in facts
    assert "+91******3210 is not reachable" in facts
    result = verbose_sync["result"]
    assert "919812345678" not in result.stdout + result.stderr

    with pytest.raises(MalformedResponseError) as error:
        _parse_envelope(b'{"oops": "+919812345678 failed"}', "/v2/x")
    assert "919812345678" not in str(error.value) and "+91******5678" in str(error.value)


# ---- 6. a short page mid-stream never makes a campaign final --------------------------------

def _ledger(warehouse: Path) -> list[tuple[Any, ...]]:
    return _rows(warehouse, "SELECT campaign_id, records, detail_total, reported_total, "
                            "is_reconciled, is_final FROM raw.campaign_pulls ORDER BY loaded_at")


def test_a_short_page_mid_stream_is_pulled_again_until_the_details_reconcile(tmp_path) -> None:
    account = FakeAccount(sms=[sms_campaign("sms_c1", 2500)],
                          details={"sms_c1": list(messages(2500))},
                          short_pages={"sms_c1": (1000, 1)})  # `[]` at offset 1,000, once
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        first = _ingest(api, warehouse)
        second = _ingest(api, warehouse)
        third = _ingest(api, warehouse)
    assert first.success and second.success and third.success
    ledger = _ledger(warehouse)
    assert ledger[0] == ("sms_c1", 1000, 1000, 2500, False, False)  # not final: pulled again
    assert ledger[1] == ("sms_c1", 2500, 2500, 2500, True, True)
    assert len(ledger) == 2  # final now: the third run does not pull it
    check = next(c for c in first.get_asset_check_evaluations()
                 if c.check_name == "stats_reconciliation" and c.asset_key.path[-1] ==
                 "sms_campaigns")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["unreconciled_campaigns"].value == ["sms_c1"]
    assert _rows(warehouse, "SELECT count(DISTINCT sms_sid) FROM raw.sms_messages") == [(2500,)]


def test_a_campaign_that_never_reconciles_is_pulled_a_bounded_number_of_times(tmp_path) -> None:
    from orchestration.lib.rules import UNRECONCILED_PULL_ATTEMPTS

    account = FakeAccount(sms=[sms_campaign("sms_c1", 2500)],
                          details={"sms_c1": list(messages(2500))},
                          short_pages={"sms_c1": (1000, 99)})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        results = [_ingest(api, warehouse) for _ in range(UNRECONCILED_PULL_ATTEMPTS + 1)]
    assert len(_ledger(warehouse)) == UNRECONCILED_PULL_ATTEMPTS
    last = next(c for c in results[-1].get_asset_check_evaluations()
                if c.check_name == "stats_reconciliation" and c.asset_key.path[-1] ==
                "sms_campaigns")
    assert not last.passed and last.severity == dg.AssetCheckSeverity.ERROR
    assert last.metadata["given_up_campaigns"].value == ["sms_c1"]


# ---- 7. an out-of-range number is quarantined, never a failed load --------------------------

def test_numbers_the_raw_columns_cannot_hold_are_quarantined(tmp_path) -> None:
    spoiled = [sms_message(0, cost=1e13), sms_message(1, cost="1e400"),
               sms_message(2, parts=3_000_000_000), sms_message(3, detailed_status_code=10**11),
               sms_message(4, cost=-1)]
    calls = [call_attempt(0, duration=3_000_000_000), call_attempt(1, price=1e13),
             call_attempt(2, attempt_number=3_000_000_000), call_attempt(3)]
    account = FakeAccount(
        sms=[sms_campaign("sms_c1", 8)], voice=[voice_campaign("camp_v1", 4)],
        details={"sms_c1": [*spoiled, *messages(3, start=10)], "camp_v1": calls})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        result = _ingest(api, warehouse)
    assert result.success
    assert _rows(warehouse, "SELECT count(*) FROM raw.sms_messages") == [(3,)]
    assert _rows(warehouse, "SELECT count(*) FROM raw.call_attempts") == [(1,)]
    reasons = dict(_rows(warehouse, "SELECT natural_key, failed_checks FROM raw.rejected_records"))
    assert "cost" in reasons["sm_000000"] and "out of range" in reasons["sm_000000"]
    assert "cost" in reasons["sm_000001"]
    assert "parts" in reasons["sm_000002"] and "detailed_status_code" in reasons["sm_000003"]
    assert "negative" in reasons["sm_000004"]
    assert "duration" in reasons["ca_000000"] and "price" in reasons["ca_000001"]
    assert "attempt_number" in reasons["ca_000002"]


def test_campaign_stats_that_are_not_numbers_are_rejected(tmp_path) -> None:
    stats = {"total": "many", "submitted": 3, "delivered": 3, "failed": 0, "pending": 0,
             "rejected": 0}
    account = FakeAccount(sms=[sms_campaign("sms_c1", 3, stats=stats)],
                          details={"sms_c1": list(messages(3))})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        assert _ingest(api, warehouse).success
    assert _rows(warehouse, "SELECT count(*) FROM raw.sms_campaigns") == [(0,)]
    reason = _rows(warehouse, "SELECT failed_checks FROM raw.rejected_records")[0][0]
    assert "stats_total 'many' is not a whole number" in reason


# ---- 8. impossible times are quarantined ----------------------------------------------------

def test_impossible_timestamps_are_quarantined_with_the_reason(tmp_path) -> None:
    spoiled = [
        sms_message(0, submitted_at="2026-02-30T10:00:00+05:30"),
        sms_message(1, submitted_at="2026-01-05T25:61:00+05:30"),
        sms_message(2, submitted_at="2026-01-05T10:00:00+99:99"),
        sms_message(3, submitted_at="9999-01-05T10:00:00+05:30",
                    delivered_at="9999-01-05T10:00:04+05:30",
                    updated_at="9999-01-05T10:00:04+05:30"),
        sms_message(4, delivered_at="2026-01-05T09:00:00+05:30"),  # before it was submitted
    ]
    calls = [call_attempt(0, start_time=None), call_attempt(1)]
    account = FakeAccount(
        sms=[sms_campaign("sms_c1", 7)], voice=[voice_campaign("camp_v1", 2)],
        details={"sms_c1": [*spoiled, *messages(2, start=10)], "camp_v1": calls})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        assert _ingest(api, warehouse).success
    assert _rows(warehouse, "SELECT count(*) FROM raw.sms_messages") == [(2,)]
    assert _rows(warehouse, "SELECT count(*) FROM raw.call_attempts") == [(1,)]
    reasons = dict(_rows(warehouse, "SELECT natural_key, failed_checks FROM raw.rejected_records"))
    assert "submitted_at is not a real date and time" in reasons["sm_000000"]
    assert "ISO 8601" in reasons["sm_000001"] and "ISO 8601" in reasons["sm_000002"]
    assert "submitted_at" in reasons["sm_000003"] and "out of range" in reasons["sm_000003"]
    assert "delivered_at is before submitted_at" in reasons["sm_000004"]
    assert "a completed call has no start_time" in reasons["ca_000000"]


@pytest.mark.parametrize("rows", ["all", "half"])
def test_reports_survive_any_null(demo_run, tmp_path, rows: str) -> None:
    """Every column of every mart NULL (ids aside), in every row or in about half of them:
    every report still renders."""
    import shutil

    from orchestration.lib.reports import write_overview

    published = tmp_path / "published.duckdb"
    shutil.copy(demo_run["published"], published)
    con = duckdb.connect(str(published))
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() "
                                "WHERE schema_name = 'marts'").fetchall():
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND table_name = ?", [table]).fetchall()
            if c not in ("campaign_id", "channel", "code", "sms_sid", "call_sid")]
        for number, column in enumerate(columns):
            where = "" if rows == "all" else f"WHERE hash(rowid + {number}) % 2 = 0"
            con.execute(f"UPDATE marts.{table} SET {column} = NULL {where}")
    con.close()
    written = write_overview(published)
    assert written.overview is not None and written.overview.stat().st_size > 0
    assert written.campaigns and all(p.stat().st_size > 0 for p in written.campaigns.values())


# ---- 9. a rejected campaign is recorded once, its details left where they are ---------------

def test_a_rejected_campaign_is_recorded_once_and_its_details_never_fetched(tmp_path) -> None:
    account = FakeAccount(sms=[sms_campaign("sms_bad", 3, status="Bogus"),
                               sms_campaign("sms_ok", 3)],
                          details={"sms_bad": list(messages(3)), "sms_ok": list(messages(3))})
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeApi(account) as api:
        assert _ingest(api, warehouse).success
        assert _ingest(api, warehouse).success
        requested = list(api.paths)
    assert not any(p.endswith("sms_bad/sms-details") for p in requested)
    assert sum(p.endswith("/sms-campaigns/sms_bad") for p in requested) == 2  # checked each run
    rejected = _rows(warehouse, "SELECT entity, failed_checks FROM raw.rejected_records "
                                "WHERE campaign_id = 'sms_bad'")
    assert len(rejected) == 1
    assert "status 'Bogus' is not one of the documented values" in rejected[0][1]
    assert "its details were not loaded" in rejected[0][1]


# ---- 10. one writer at a time, and no orphan dbt --------------------------------------------

def test_a_second_run_exits_3_naming_the_run_that_holds_the_warehouse(tmp_path) -> None:
    from orchestration.lib.run_lock import run_lock

    warehouse = tmp_path / "warehouse.duckdb"
    with SandboxServer(SMALL, now=AFTER_SMALL) as server:
        env = {**server.environment(), **_paths(tmp_path), "RUN_LOCK_WAIT_SECONDS": "1"}
        with run_lock(warehouse):  # this test process plays the first run
            result = _cli("sync", env=env)
            requests = server.stats.requests
    assert result.returncode == 3
    line = _one_line_error(result)
    assert f"pid {os.getpid()}" in line and "holds WAREHOUSE_PATH" in line
    assert requests == 0  # found before the API was called
    with run_lock(warehouse, wait_seconds=0):  # released with its holder: the next run can go
        pass


@contextlib.contextmanager
def _held_by_another_process(warehouse: Path) -> Any:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from orchestration.lib.run_lock import run_lock\n"
         f"with run_lock(Path({str(warehouse)!r})):\n"
         "    print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_run_started_from_dagster_waits_for_the_lock_too(tmp_path) -> None:
    """The UI and the schedule run the definitions, not the CLI: their warehouse resource takes
    the same lock for the whole run."""
    from orchestration.defs.resources import resources_for
    from orchestration.lib.alerts.run_failure import failure_cause

    with SandboxServer(SMALL, now=AFTER_SMALL) as server:
        settings = load_settings({**server.environment(), **_paths(tmp_path),
                                  "RUN_LOCK_WAIT_SECONDS": "0"}, dotenv_path=None)
        with _held_by_another_process(settings.warehouse_path):
            result = dg.materialize(INGEST_ASSETS, resources=resources_for(settings),
                                    run_config=ingest_config(), raise_on_error=False)
    assert not result.success
    assert "holds WAREHOUSE_PATH" in failure_cause(result.all_events)
    assert not settings.warehouse_path.exists()  # nothing was written


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), cmdline))
    return found


def test_killing_a_run_during_dbt_leaves_no_dbt_holding_the_warehouse(tmp_path) -> None:
    import signal
    import time

    with SandboxServer(SMALL, now=AFTER_SMALL) as server:
        env = {**os.environ, **server.environment(), **_paths(tmp_path)}
        run = subprocess.Popen([*CLI, "sync"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        dbt: list[tuple[int, str]] = []
        deadline = time.monotonic() + 240
        while not dbt and time.monotonic() < deadline and run.poll() is None:
            dbt = [c for c in _children(run.pid) if " build " in c[1] and "dbt" in c[1]]
            time.sleep(0.05)
        assert dbt, "dbt build never started"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{dbt[0][0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{dbt[0][0]}").exists(), "dbt outlived the killed run"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))  # nobody holds the file any more
    assert con.execute("SELECT count(*) FROM raw.campaign_pulls").fetchall()[0][0] > 0
    con.close()


# ---- 11. make dev keeps to its own folder ---------------------------------------------------

def test_make_dev_uses_its_own_warehouse_folder() -> None:
    dry = subprocess.run(["make", "-n", "dev", "STAMP=/dev/null"], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent)
    assert dry.returncode == 0, dry.stderr
    # The command sets the paths (orchestration/dev.py); test_quiet reads them in the
    # environment of the Dagster processes it starts.
    assert "campaign-analytics dev" in dry.stdout


# ---- 12. errors name the cause, one line, no traceback --------------------------------------

def test_a_failed_run_names_the_dbt_model_and_its_error(tmp_path) -> None:
    from orchestration.defs.dbt.assets import warehouse_models
    from orchestration.defs.resources import resources_for
    from orchestration.lib.alerts.run_failure import failure_cause

    settings = load_settings(_paths(tmp_path), dotenv_path=None, require_credentials=False)
    con = duckdb.connect(str(settings.warehouse_path))  # a raw table that is not what dbt reads
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.contact_versions (nothing INTEGER)")
    con.close()
    result = dg.materialize([warehouse_models], resources=resources_for(settings),
                            raise_on_error=False)
    cause = failure_cause(result.all_events)
    # The first staging node dbt reached, a model or its unit test (which one depends on dbt's
    # thread scheduling).
    assert cause.startswith("warehouse_models: dbt: ") and re.search(
        r"stg_\w+__|models/staging/", cause), cause
    assert "The dbt CLI process with command" not in cause


def test_user_mistakes_are_one_line_with_exit_2(tmp_path, published_copy) -> None:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("not a database")
    cases = [
        (["query", "--published", str(published_copy), "  ;  "], "empty"),
        (["query", "--published", str(not_duckdb), "SELECT 1"], "not a DuckDB file"),
        (["status", "--published", str(folder)], "folder"),
        (["report", "--overview", "--published", str(published_copy), "--out",
          str(tmp_path / "missing" / "o.html")], "does not exist"),
        (["report", "--overview", "--published", str(published_copy), "--out", str(folder)],
         "is a folder"),
        (["export", "failed", "--campaign", "c1", "--published", str(published_copy),
          "--out", "/proc/o.csv"], "cannot write"),
        (["sandbox", "--port", "70000"], "between 1 and 65535"),
        (["report", "--campaign", "../etc/passwd", "--published", str(published_copy)],
         "not a valid campaign id"),
    ]
    for args, words in cases:
        result = _cli(*args, env={})
        assert result.returncode == 2, (args, result.stderr)
        assert words in _one_line_error(result), (args, result.stderr)


def test_a_busy_port_is_one_line(tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _cli("sandbox", "--port", str(taken.getsockname()[1]), env={}, timeout=60)
    assert result.returncode == 2
    assert "choose another --port" in _one_line_error(result)


def test_a_closed_pipe_is_one_line_not_a_traceback(published_copy) -> None:
    command = (f"{sys.executable} -m orchestration.cli query --published {published_copy} "
               "'SELECT * FROM range(100000)' | head -1")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 1


def test_an_unwritable_warehouse_is_found_before_the_api_is_called(tmp_path) -> None:
    with SandboxServer(SMALL, now=AFTER_SMALL) as server:
        result = _cli("sync", env={**server.environment(),
                                   "WAREHOUSE_PATH": "/proc/warehouse.duckdb",
                                   "PUBLISHED_PATH": str(tmp_path / "published.duckdb")})
        assert server.stats.requests == 0
    assert result.returncode == 2
    assert "WAREHOUSE_PATH" in _one_line_error(result)


def test_settings_mistakes_are_named_all_at_once_and_checked_at_start() -> None:
    every = "EXOTEL_ACCOUNT_SID, EXOTEL_API_KEY and EXOTEL_API_TOKEN are not set"
    with pytest.raises(ConfigError, match=every):
        load_settings({}, dotenv_path=None)
    with pytest.raises(ConfigError, match="DLR_FINALIZATION_HOURS must be between"):
        load_settings({"DLR_FINALIZATION_HOURS": "100000"}, dotenv_path=None,
                      require_credentials=False)
    for zone in ("posixrules", "localtime"):
        with pytest.raises(ConfigError, match="ACCOUNT_TIMEZONE"):
            load_settings({"ACCOUNT_TIMEZONE": zone}, dotenv_path=None,
                          require_credentials=False)


# ---- 13-15. after the demo the README's next steps work; quiet, honest output ----------------

def test_the_readmes_next_commands_work_after_the_demo(demo_run) -> None:
    import re

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("Then look around:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].replace("\\\n", " ") for line in
                re.sub(r"\\\n\s*", " ", block).splitlines() if "campaign-analytics" in line]
    assert len(commands) >= 2
    for command in commands:
        args = command.split(None, 1)[1]
        result = subprocess.run(f"{sys.executable} -m orchestration.cli {args}", shell=True,
                                cwd=demo_run["home"], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (command, result.stderr)
    bare = _cli("status", env={"PUBLISHED_PATH": ""}, cwd=demo_run["home"])
    assert bare.returncode == 2 and "--published data/demo/published.duckdb" in bare.stderr


def test_the_readmes_way_to_see_a_new_day_sees_the_swapped_copy(tmp_path) -> None:
    """README, "Connecting BI tools": inside one process a new connect() to a path that is
    still open returns the old database; a fresh in-memory database that ATTACHes the file sees
    the copy that was swapped in."""
    published = tmp_path / "published.duckdb"
    for day, path in ((1, published), (2, tmp_path / ".published.duckdb.building")):
        con = duckdb.connect(str(path))
        con.execute(f"CREATE TABLE day AS SELECT {day} AS day")
        con.close()
    held = duckdb.connect(str(published), read_only=True)
    os.replace(tmp_path / ".published.duckdb.building", published)  # what publish does
    again = duckdb.connect(str(published), read_only=True)
    assert again.execute("SELECT day FROM day").fetchall() == [(1,)]  # the catch
    fresh = duckdb.connect()
    fresh.execute(f"ATTACH '{published}' AS published (READ_ONLY)")
    assert fresh.execute("SELECT day FROM published.day").fetchall() == [(2,)]
    for con in (held, again, fresh):
        con.close()


def test_a_run_summary_shows_data_quality(demo_run, verbose_sync) -> None:
    clean = demo_run["result"].stdout
    assert "Data quality" in clean and "failed checks: none" in clean
    out = verbose_sync["result"].stdout  # one call record of two quarantined: a failed check
    assert "rejected records: 1 in this run" in out
    assert "failed checks: raw/call_attempts rejected_share (error)" in out
    # The quarantined call leaves the voice campaign one contact short of its stats.
    assert "ended campaigns whose details do not reconcile with their stats: voice camp_v1" in out


def test_output_is_quiet_and_plain_when_not_a_terminal(demo_run, published_copy) -> None:
    result = demo_run["result"]
    both = result.stdout + result.stderr
    assert "\x1b[" not in both
    assert "START sql" not in both  # dbt's per-node lines need -v
    assert "DeprecationWarning" not in both
    assert "seed 00" not in both.lower()
    verbose = _cli("query", "--published", str(published_copy), "-v",
                   "SELECT * FROM marts.dim_campaigns", env={})
    assert verbose.returncode == 0
    assert "30004" in verbose.stdout and "2026" in verbose.stdout  # codes and years as they are
    assert "1234567" in verbose.stdout and "(1 row)" in verbose.stdout
    none = _cli("query", "--published", str(published_copy),
                "SELECT * FROM marts.dim_campaigns WHERE false", env={})
    assert "(0 rows)" in none.stdout


def test_dbts_progress_shows_with_v_after_the_subcommand(verbose_sync) -> None:
    result = verbose_sync["result"]
    assert "START sql" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr


# ---- 16. the typical delivery time, not one pulled up by the 72-hour tail --------------------

def test_time_of_day_publishes_median_and_p90_and_the_overview_shows_the_median(demo_run) -> None:
    published = demo_run["published"]
    rows = _rows(published, """
        SELECT count(*), count(*) FILTER (WHERE p90_latency_seconds >= p50_latency_seconds),
               count(*) FILTER (WHERE p50_latency_seconds IS NULL)
        FROM marts.time_of_day WHERE channel = 'sms' AND latency_samples > 0""")
    total, p90_above_median, missing = rows[0]
    assert total > 0 and p90_above_median == total and missing == 0
    whole = _rows(published, """
        SELECT median(delivery_latency_seconds), avg(delivery_latency_seconds)
        FROM marts.fct_sms_messages""")[0]
    assert whole[0] < whole[1]  # the tail pulls the mean up: why the median is shown
    overview = (demo_run["home"] / "data" / "demo" / "reports" / "overview.html").read_text()
    assert "Median delivery time" in overview and "p90" in overview


def test_a_number_that_is_not_e164_lands_flagged_not_rejected(verbose_sync) -> None:
    """Seed 000 lists "Invalid Number | Wrong format, disconnected number" among the failure
    categories: such numbers reach the provider, so the message is data, counted and flagged."""
    warehouse = verbose_sync["tmp"] / "warehouse.duckdb"
    assert _rows(warehouse, "SELECT is_valid_number FROM marts.fct_sms_messages "
                            "WHERE recipient_number = '919812345678'") == [(False,)]
    assert _rows(warehouse, "SELECT count(*) FROM marts.fct_sms_messages") == [(3,)]
    assert _rows(warehouse, "SELECT count(*) FROM marts.fct_sms_messages "
                            "WHERE NOT is_valid_number") == [(1,)]
