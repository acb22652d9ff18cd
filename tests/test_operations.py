"""Operations: the published copy under load, failed builds, the schedule, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from orchestration.lib.audience.lookup import lookup_key
from orchestration.lib.publish import publish
from orchestration.lib.settings import load_settings
from orchestration.runner import PipelineError, run_pipeline
from orchestration.sandbox import AccountConfig, SandboxServer
from orchestration.sandbox.generator import plan_account
from tests.ingest_helpers import open_raw

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e

ACCOUNT = AccountConfig(seed=51, voice_campaigns=2, sms_campaigns=4, voice_contacts=(300, 600),
                        sms_messages=(1000, 3000))
LAST = plan_account(ACCOUNT)[-1]
NOW = dt.datetime.fromtimestamp(LAST.end_at + 6 * 3600, dt.UTC)  # last receipts still due
CLI = [sys.executable, "-m", "orchestration.cli"]


def _env(server: SandboxServer, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "EXOTEL_BASE_URL": server.url, "EXOTEL_ACCOUNT_SID": server.account_sid,
        "EXOTEL_API_KEY": server.api_key, "EXOTEL_API_TOKEN": server.api_token,
        "EXOTEL_RATE_LIMIT_PER_MINUTE": "0", "WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
        "PUBLISHED_PATH": str(tmp / "published.duckdb"),
        "CALLBACK_LANDING_DIR": str(tmp / "callbacks"), **extra,
    }


def _settings(server: SandboxServer, tmp: Path, **extra: str):
    return load_settings(_env(server, tmp, **extra), dotenv_path=None)


def _published_at(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT published_at::VARCHAR FROM ops.publish").fetchall()[0][0]
    finally:
        con.close()


def test_a_reader_never_blocks_a_run_and_never_sees_a_mix(tmp_path) -> None:
    with SandboxServer(ACCOUNT, now=NOW) as server:
        settings = _settings(server, tmp_path)
        run_pipeline(settings)
        first = _published_at(settings.published_path)
        stop = tmp_path / "stop"
        reader = subprocess.Popen(
            [sys.executable, "-m", "tests.published_reader", str(settings.published_path),
             str(stop)], stdout=subprocess.PIPE, text=True)
        assert json.loads(reader.stdout.readline()) == {"ready": True}
        lines: list[dict] = []
        collector = threading.Thread(target=lambda: lines.extend(
            json.loads(line) for line in reader.stdout), daemon=True)
        collector.start()
        server.clock.advance(4 * 24 * 3600)  # receipts arrive: the next publish differs
        started = time.monotonic()
        run_pipeline(settings)  # raises if the reader made it fail
        seconds = time.monotonic() - started
        second = _published_at(settings.published_path)
        time.sleep(0.3)
        stop.touch()
        reader.wait(timeout=30)
        collector.join(timeout=10)
    assert second != first
    assert seconds < 120  # it did not wait on the reader
    assert lines and all("error" not in line for line in lines), lines[:3]
    assert all(line["consistent"] for line in lines)  # never a half-built state
    # The open connection keeps its snapshot: the previous complete publish.
    assert {line["published_at"] for line in lines} == {first}


def _refreshed_campaigns(result) -> int:
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key.path == ["published", "marts"]]
    return event.materialization.metadata["refreshed_campaigns"].value


def test_an_incremental_publish_equals_a_full_copy(tmp_path) -> None:
    """The daily publish refreshes only changed campaigns in a copy of yesterday's file; it
    must hold exactly what copying every table afresh holds."""
    with SandboxServer(ACCOUNT, now=NOW) as server:
        settings = _settings(server, tmp_path)
        assert _refreshed_campaigns(run_pipeline(settings)) == -1  # nothing to start from
        server.clock.advance(4 * 24 * 3600)
        refreshed = _refreshed_campaigns(run_pipeline(settings))
    assert 0 < refreshed < ACCOUNT.sms_campaigns + ACCOUNT.voice_campaigns
    full = publish(settings.warehouse_path, tmp_path / "full.duckdb", incremental=False,
                   lookup_key=lookup_key(settings))
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        con.execute(f"ATTACH '{full.path}' AS full_copy (READ_ONLY)")
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'full_copy' "
            "AND schema_name = 'marts' ORDER BY 1").fetchall()]
        assert "fct_sms_messages" in tables and "failed_recipients" in tables
        for table in tables:
            differing = con.execute(f"""
                SELECT count(*) FROM (
                    (SELECT * FROM marts.{table} EXCEPT ALL SELECT * FROM full_copy.marts.{table})
                    UNION ALL
                    (SELECT * FROM full_copy.marts.{table} EXCEPT ALL SELECT * FROM marts.{table}))
                """).fetchall()[0][0]
            assert differing == 0, table
    finally:
        con.close()


def test_a_failed_build_publishes_nothing(tmp_path) -> None:
    with SandboxServer(ACCOUNT, now=NOW) as server:
        settings = _settings(server, tmp_path)
        run_pipeline(settings)
        before = _published_at(settings.published_path)
        inode = settings.published_path.stat().st_ino
        # Bad data that dbt's tests catch: a message of a campaign nobody knows.
        with open_raw(settings.warehouse_path) as raw:
            raw.insert("sms_messages", """
                SELECT * REPLACE ('ghost_campaign' AS campaign_id, 'ghost_sid' AS sms_sid,
                                  now() AS loaded_at)
                FROM raw.sms_messages LIMIT 1""")
            raw.commit("test: a ghost campaign's message")
        with pytest.raises(PipelineError, match="Nothing new was published") as failure:
            run_pipeline(settings)
    # The cause, not the op: the dbt test that caught the ghost campaign.
    assert "dbt: Failure in test relationships_" in str(failure.value)
    assert "The dbt CLI process" not in str(failure.value)
    assert _published_at(settings.published_path) == before
    assert settings.published_path.stat().st_ino == inode


def test_phone_numbers_are_masked_except_in_failed_recipients(tmp_path) -> None:
    with SandboxServer(ACCOUNT, now=NOW) as server:
        settings = _settings(server, tmp_path)
        run_pipeline(settings)
        con = duckdb.connect(str(settings.published_path), read_only=True)
        masked = con.execute("SELECT recipient_number FROM marts.fct_sms_messages "
                             "LIMIT 5").fetchall()
        follow_up = con.execute("SELECT recipient_number FROM marts.failed_recipients "
                                "WHERE channel = 'sms' LIMIT 5").fetchall()
        contacts = con.execute("SELECT contact_number FROM marts.fct_call_attempts "
                               "LIMIT 5").fetchall()
        con.close()
        full = _settings(server, tmp_path / "full", PUBLISH_PHONE_NUMBERS="full")
        run_pipeline(full)
        con = duckdb.connect(str(full.published_path), read_only=True)
        unmasked = con.execute("SELECT recipient_number FROM marts.fct_sms_messages "
                               "LIMIT 5").fetchall()
        con.close()
    assert all(n.startswith("+91") and "******" in n and n[-4:].isdigit() for (n,) in masked)
    assert contacts and all("******" in n for (n,) in contacts)
    assert all(n[1:].isdigit() for (n,) in follow_up) and follow_up
    assert all(n[1:].isdigit() for (n,) in unmasked)


def test_the_daily_schedule_is_registered(monkeypatch) -> None:
    from orchestration.definitions import defs

    schedule = defs().get_schedule_def("daily_pipeline_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Kolkata"
    assert schedule.job_name == "daily_pipeline"
    monkeypatch.setenv("DAILY_RUN_CRON", "30 3 * * *")
    monkeypatch.setenv("ACCOUNT_TIMEZONE", "Asia/Dubai")
    schedule = defs().get_schedule_def("daily_pipeline_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * *", "Asia/Dubai")


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A sandbox and a published copy made by `campaign-analytics sync`, as a user would."""
    tmp = tmp_path_factory.mktemp("cli")
    with SandboxServer(ACCOUNT, now=NOW) as server:
        env = _env(server, tmp)
        result = subprocess.run([*CLI, "sync"], env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        yield server, env, tmp, result


def _cli(env: dict[str, str], *args: str, timeout: float = 300):
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_sync_prints_progress_and_a_kpi_summary(synced) -> None:
    _, _, tmp, result = synced
    assert "Checking the API" in result.stdout and "SMS campaigns" in result.stdout
    assert "Voice campaigns" in result.stdout and "delivery" in result.stdout
    assert (tmp / "published.duckdb").exists()


def test_status_reports_runs_counts_rejects_and_reconciliation(synced) -> None:
    _, env, _, _ = synced
    result = _cli(env, "status")
    assert result.returncode == 0, result.stderr
    for section in ("Published copy", "Last ingest runs", "Row counts", "Rejected records",
                    "Ended campaigns whose details do not reconcile with their stats",
                    "API requests of the last ingest runs"):
        assert section in result.stdout
    assert "marts.fct_sms_messages" in result.stdout
    # The sync's requests, by kind, as the run recorded them: a row per channel.
    requests = result.stdout.split("API requests of the last ingest runs")[1].split("Row counts")[0]
    rows = [line.split() for line in requests.splitlines() if line.startswith("exotel")]
    assert sorted(row[1] for row in rows) == ["sms", "voice"]
    for row in rows:  # requests = list + campaign + detail + message
        total, kinds = int(row[4].replace(",", "")), [int(v.replace(",", "")) for v in row[5:9]]
        assert total == sum(kinds) and kinds[2] > 0
    # The raw lake, its messages' table holding every pulled record.
    lake = result.stdout.split("Raw lake at ")[1].split("\n\n")[0]
    [messages] = [line.split() for line in lake.splitlines() if " sms_messages " in line]
    assert messages[0] == "exotel" and int(messages[3].replace(",", "")) > 0


def test_query_formats(synced) -> None:
    _, env, _, _ = synced
    sql = "SELECT channel, count(*) AS campaigns FROM marts.dim_campaigns GROUP BY 1 ORDER BY 1"
    table = _cli(env, "query", sql)
    assert table.returncode == 0 and "channel" in table.stdout and "sms" in table.stdout
    csv_out = _cli(env, "query", sql, "--format", "csv")
    assert csv_out.stdout.splitlines() == ["channel,campaigns", "sms,4", "voice,2"]
    as_json = json.loads(_cli(env, "query", sql, "--format", "json").stdout)
    assert as_json == [{"channel": "sms", "campaigns": 4}, {"channel": "voice", "campaigns": 2}]
    bad = _cli(env, "query", "SELECT * FROM marts.nope")
    assert bad.returncode == 2 and "query failed" in bad.stderr


def test_export_failed_recipients(synced) -> None:
    server, env, tmp, _ = synced
    campaign = server.account.campaigns("sms")[0].campaign_id
    out = tmp / "failed.csv"
    result = _cli(env, "export", "failed", "--campaign", campaign, "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("recipient,status,fail_reason") and len(lines) > 1
    xlsx = tmp / "failed.xlsx"
    assert _cli(env, "export", "failed", "--campaign", campaign, "--format", "xlsx", "--out",
                str(xlsx)).returncode == 0
    sheet = load_workbook(xlsx).active
    assert sheet.max_row == len(lines)
    unknown = _cli(env, "export", "failed", "--campaign", "sms_camp_nope")
    assert unknown.returncode == 2 and "unknown campaign" in unknown.stderr


def test_export_contacts_for_voice_and_sms_in_the_accounts_time(synced) -> None:
    """Seed 001: "The exported CSV contains one row per contact with columns for phone number,
    final status, attempt count, last call duration, and timestamps". Times are written in the
    account's zone, and the header says which."""
    server, env, tmp, _ = synced
    voice = server.account.campaigns("voice")[0].campaign_id
    out = tmp / "contacts.xlsx"
    result = _cli(env, "export", "contacts", "--campaign", voice, "--format", "xlsx",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["contact", "is_valid_number", "final_status", "attempts",
                          "last_duration_seconds", "outcome_reason"]
    assert header[6] == "first_attempt_at (Asia/Kolkata)"
    con = duckdb.connect(str(tmp / "published.duckdb"), read_only=True)
    first = con.execute("SELECT min(first_attempt_at) FROM marts.voice_contacts "
                        "WHERE campaign_id = ?", [voice]).fetchall()[0][0]
    contacts = con.execute("SELECT count(*) FROM marts.voice_contacts WHERE campaign_id = ?",
                           [voice]).fetchall()[0][0]
    con.close()
    local = first.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).replace(tzinfo=None)
    assert min(row[6].value for row in sheet.iter_rows(min_row=2)) == local  # not UTC
    assert sheet.max_row == contacts + 1
    sms = server.account.campaigns("sms")[0].campaign_id
    csv_out = tmp / "recipients.csv"
    assert _cli(env, "export", "contacts", "--campaign", sms, "--out",
                str(csv_out)).returncode == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("recipient,is_valid_number,status,detailed_status")
    assert "submitted_at (Asia/Kolkata)" in lines[0]


def test_backfill_by_campaign_and_by_date(synced) -> None:
    server, env, _, _ = synced
    campaign = server.account.campaigns("voice")[0].campaign_id
    assert _cli(env, "backfill", "--campaign", campaign).returncode == 0
    unknown = _cli(env, "backfill", "--campaign", "camp_nope")
    assert unknown.returncode == 2 and "unknown campaign(s): camp_nope" in unknown.stderr
    bad_date = _cli(env, "backfill", "--from", "2026-13-40")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    day = dt.datetime.fromtimestamp(LAST.start_at + 19800, dt.UTC).date().isoformat()
    assert _cli(env, "backfill", "--from", day, "--to", day).returncode == 0


def test_unreachable_api_and_wrong_credentials_fail_clearly(synced) -> None:
    _, env, _, _ = synced
    down = _cli({**env, "EXOTEL_BASE_URL": "http://127.0.0.1:9"}, "sync", timeout=120)
    assert down.returncode == 1 and "cannot reach the API" in down.stderr
    wrong = _cli({**env, "EXOTEL_API_TOKEN": "not-it"}, "sync", timeout=120)
    assert wrong.returncode == 1 and "EXOTEL_API_TOKEN" in wrong.stderr
    assert "not-it" not in wrong.stderr + wrong.stdout
    missing = _cli({k: v for k, v in env.items() if k != "EXOTEL_API_KEY"} | {"HOME": "/tmp"},
                   "sync", timeout=120)
    assert missing.returncode == 2 and "EXOTEL_API_KEY is not set" in missing.stderr


def test_status_without_a_published_copy_says_what_to_do(tmp_path) -> None:
    result = _cli({**os.environ, "PUBLISHED_PATH": str(tmp_path / "none.duckdb")}, "status")
    assert result.returncode == 2 and "campaign-analytics sync" in result.stderr


def test_every_readme_sql_example_runs_on_the_published_copy(synced) -> None:
    import re

    _, _, tmp, _ = synced
    blocks = re.findall(r"```sql\n(.*?)```", Path("README.md").read_text(), flags=re.S)
    assert len(blocks) >= 4
    con = duckdb.connect(str(tmp / "published.duckdb"), read_only=True)
    try:
        for sql in blocks:
            assert con.execute(sql).fetchall(), sql  # runs, and returns rows
    finally:
        con.close()


def test_the_mart_reference_is_generated_from_the_dbt_docs() -> None:
    result = subprocess.run([sys.executable, "scripts/mart_reference.py", "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    reference = Path("docs/marts.md").read_text()
    for mart in ("fct_sms_messages", "voice_campaign_performance", "failed_recipients"):
        assert f"### `marts.{mart}`" in reference
    # Every mart the project builds is in it, and the README points to it.
    marts = {p.stem for p in Path("dbt_project/models/marts").glob("*.sql")}
    assert {m for m in marts if f"### `marts.{m}`" not in reference} == set()
    assert "docs/marts.md" in Path("README.md").read_text()
