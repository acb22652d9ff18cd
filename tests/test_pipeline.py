"""sandbox -> raw -> marts, checked against counts computed from the sandbox's own arrays."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import numpy as np
import pytest

from orchestration.sandbox import AccountConfig
from orchestration.sandbox.generator import (
    CALL_COMPLETED,
    generate_calls,
    generate_sms,
    plan_account,
)
from tests.ingest_helpers import run_pipeline

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e

ACCOUNT = AccountConfig(seed=41, voice_campaigns=3, sms_campaigns=4, voice_contacts=(300, 800),
                        sms_messages=(800, 3000))
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from orchestration.sandbox import SandboxServer

    warehouse = tmp_path_factory.mktemp("pipeline") / "warehouse.duckdb"
    with SandboxServer(ACCOUNT, now=NOW) as server:
        first = run_pipeline(server, warehouse)
        assert first.success
        server.clock.advance(4 * 24 * 3600)  # every receipt arrives; every campaign ends
        second = run_pipeline(server, warehouse)
        assert second.success
        yield server, duckdb.connect(str(warehouse), read_only=True), first, second


def _sms_truth(server) -> dict[str, Counter]:
    now = server.clock.now()
    truth = {}
    for plan in server.account.campaigns("sms"):
        statuses = generate_sms(plan, server.config).statuses_at(now)
        truth[plan.campaign_id] = Counter(statuses.tolist())
    return truth


def test_sms_marts_match_the_sandbox(built) -> None:
    server, con, _, _ = built
    marts = {row[0]: row[1:] for row in con.execute("""
        SELECT campaign_id, messages_total, messages_delivered, messages_failed,
               messages_expired, messages_rejected, messages_pending, is_reconciled
        FROM marts.sms_campaign_performance""").fetchall()}
    for campaign_id, counts in _sms_truth(server).items():
        total = sum(counts.values())
        assert marts[campaign_id] == (
            total, counts["delivered"], counts["failed"] + counts["expired"], counts["expired"],
            counts["rejected"], counts["queued"] + counts["sending"] + counts["submitted"]
            + counts["sent"], True,
        )


def test_voice_marts_match_the_sandbox(built) -> None:
    server, con, _, _ = built
    now = server.clock.now()
    for plan in server.account.campaigns("voice"):
        calls = generate_calls(plan, server.config)
        seen = calls.visible_rows(now)
        contacts = np.unique(calls.contact[seen])
        connected = np.unique(calls.contact[seen][calls.outcome[seen] == CALL_COMPLETED])
        row = con.execute("""
            SELECT contacts, attempts, contacts_connected, contacts_retried, total_cost
            FROM marts.voice_campaign_performance WHERE campaign_id = ?""",
                          [plan.campaign_id]).fetchall()[0]
        retried = int((np.bincount(calls.contact[seen]) >= 2).sum())
        assert row == (contacts.size, seen.size, connected.size, retried,
                       pytest.approx(float(calls.price[seen].sum())))
        # Seed 001's retry table, computed from the arrays: contacts per attempt number.
        table = con.execute("""
            SELECT attempt_number, contacts_attempted, contacts_connected
            FROM marts.retry_effectiveness WHERE campaign_id = ? ORDER BY 1""",
                            [plan.campaign_id]).fetchall()
        expected = []
        for number in sorted(set(calls.attempt_number[seen].tolist())):
            rows = seen[calls.attempt_number[seen] == number]
            expected.append((number, rows.size,
                             int((calls.outcome[rows] == CALL_COMPLETED).sum())))
        assert table == expected


def test_fact_grain_and_latest_status(built) -> None:
    server, con, _, _ = built
    truth = _sms_truth(server)
    by_status = Counter(dict(con.execute(
        "SELECT status, count(*) FROM marts.fct_sms_messages GROUP BY 1").fetchall()))
    assert by_status == sum(truth.values(), Counter())
    assert not by_status["sent"] and not by_status["submitted"]  # late receipts all landed


def test_time_of_day_and_trends_add_up_to_the_facts(built) -> None:
    _, con, _, _ = built
    messages = con.execute("SELECT count(*) FROM marts.fct_sms_messages").fetchall()[0][0]
    attempts = con.execute("SELECT count(*) FROM marts.fct_call_attempts").fetchall()[0][0]
    by_hour = dict(con.execute(
        "SELECT channel, sum(volume) FROM marts.time_of_day GROUP BY 1").fetchall())
    assert by_hour == {"sms": messages, "voice": attempts}
    trend = con.execute("SELECT sum(volume) FROM marts.delivery_rate_trends "
                        "WHERE channel = 'sms'").fetchall()[0][0]
    assert trend == messages
    hours = con.execute("SELECT min(hour_of_day), max(hour_of_day) FROM marts.time_of_day "
                        "WHERE channel = 'sms'").fetchall()[0]
    assert 9 <= hours[0] <= hours[1] <= 23  # campaigns start 09:00-19:00 IST: local hours


def test_failed_recipients_and_errors_cover_every_failure(built) -> None:
    server, con, _, _ = built
    truth = _sms_truth(server)
    failed = sum(c["failed"] + c["expired"] + c["rejected"] for c in truth.values())
    assert con.execute("SELECT sum(failures) FROM marts.error_distribution "
                       "WHERE channel = 'sms'").fetchall()[0][0] == failed
    assert con.execute("SELECT count(*) FROM marts.failed_recipients "
                       "WHERE channel = 'sms'").fetchall()[0][0] == failed  # distinct numbers
    reasons = con.execute("SELECT count(*) FROM marts.failed_recipients "
                          "WHERE fail_reason IS NULL OR error_category IS NULL").fetchall()
    assert reasons[0][0] == 0
    categories = {c for (c,) in con.execute(
        "SELECT DISTINCT error_category FROM marts.error_distribution").fetchall()}
    assert {"dlt_rejection", "network_failure", "expired"} <= categories


def test_campaigns_are_final_after_the_receipt_window(built) -> None:
    _, con, _, _ = built
    rows = con.execute("SELECT channel, count(*), bool_and(is_final) FROM marts.dim_campaigns "
                       "GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("sms", ACCOUNT.sms_campaigns, True),
                    ("voice", ACCOUNT.voice_campaigns, True)]


def test_dbt_tests_ran_as_asset_checks(built) -> None:
    _, _, first, second = built
    for result in (first, second):
        checks = result.get_asset_check_evaluations()
        assert len(checks) > 50
        failed = [c.check_name for c in checks if not c.passed]
        assert failed == [], failed
        names = {c.check_name for c in checks}
        assert any(name.startswith("relationships_fct_sms_messages") for name in names)
        assert any(name.startswith("unique_fct_call_attempts") for name in names)


def test_an_incremental_build_touches_only_campaigns_that_changed(tmp_path) -> None:
    from orchestration.sandbox import SandboxServer

    warehouse = tmp_path / "warehouse.duckdb"
    last = plan_account(ACCOUNT)[-1]  # six hours after it ends, its receipts are still due
    with SandboxServer(ACCOUNT, now=dt.datetime.fromtimestamp(last.end_at + 6 * 3600,
                                                              dt.UTC)) as server:
        assert run_pipeline(server, warehouse).success
        con = duckdb.connect(str(warehouse))
        final, pending = (
            [cid for (cid,) in con.execute(
                "SELECT campaign_id FROM marts.dim_campaigns WHERE channel = 'sms' "
                "AND is_final = ? ORDER BY 1", [flag]).fetchall()]
            for flag in (True, False)
        )
        assert final and pending
        # Tamper with one final and one pending campaign's facts behind dbt's back.
        con.execute("UPDATE intermediate.int_sms_messages_classified "
                    "SET status = 'queued', is_pending = true "
                    "WHERE campaign_id IN (?, ?)", [final[0], pending[0]])
        con.close()
        # Receipts arrive: the pending campaign's stats move and it is read again.
        server.clock.set(dt.datetime.fromtimestamp(last.end_at + 12 * 3600, dt.UTC))
        assert run_pipeline(server, warehouse).success
    con = duckdb.connect(str(warehouse), read_only=True)
    queued = dict(con.execute("SELECT campaign_id, count(*) FILTER (WHERE status = 'queued') "
                              "FROM marts.fct_sms_messages GROUP BY 1").fetchall())
    con.close()
    assert queued[final[0]] > 0  # final: not pulled again, so its facts were not touched
    assert queued[pending[0]] == 0  # pulled again: re-derived from raw


def test_incremental_runs_equal_a_full_rebuild(built, tmp_path) -> None:
    """The intermediate models are incremental by campaign: after two daily runs they, and the
    marts built on them, must hold exactly what a `--full-refresh` build derives from the same
    raw data."""
    import shutil
    import subprocess

    from orchestration.defs.dbt.project import DBT_EXECUTABLE, dbt_vars
    from orchestration.lib.rules import DBT_PROJECT_DIR
    from orchestration.lib.settings import load_settings

    _, con, _, _ = built
    tables = [f"{schema}.{name}" for schema, name in con.execute("""
        SELECT schema_name, table_name FROM duckdb_tables()
        WHERE schema_name IN ('marts', 'intermediate') ORDER BY ALL""").fetchall()]
    assert {"intermediate.int_voice_contacts_summarised", "intermediate.int_sms_campaign_counts",
            "intermediate.int_sms_messages_classified", "marts.failed_recipients"} <= set(tables)
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                       "current_database()").fetchall()[0][0]
    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copy(path, rebuilt)
    settings = load_settings({"WAREHOUSE_PATH": str(rebuilt)}, dotenv_path=None,
                             require_credentials=False)
    result = subprocess.run(
        [DBT_EXECUTABLE, "build", "--full-refresh", "--quiet", "--project-dir",
         str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path",
         str(tmp_path / "target"), *dbt_vars(settings)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    con.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")
    try:
        for table in tables:
            differing = con.execute(f"""
                SELECT count(*) FROM (
                    (SELECT * FROM {table} EXCEPT ALL SELECT * FROM rebuilt.{table})
                    UNION ALL
                    (SELECT * FROM rebuilt.{table} EXCEPT ALL SELECT * FROM {table}))
                """).fetchall()[0][0]
            assert differing == 0, table
    finally:
        con.execute("DETACH rebuilt")


def test_voice_failure_rate_is_the_providers_failed_over_created(built) -> None:
    """Seed 001: "failed | Contacts not reached after all attempts (including retries)", the
    worked stats "created 2500, completed 1875, failed 425, busy 87, no_answer 113", and
    "Failure Rate | (failed / created) x 100": failed counts canceled contacts too."""
    rows = built[1].execute("""
        SELECT contacts, contacts_failed, contacts_call_failed, contacts_canceled, failure_rate,
               reported_failed, is_reconciled
        FROM marts.voice_campaign_performance""").fetchall()
    assert rows and sum(r[3] for r in rows) > 0  # the account has canceled contacts
    for contacts, failed, call_failed, canceled, rate, reported, reconciled in rows:
        assert failed == call_failed + canceled
        assert rate == pytest.approx(failed / contacts)
        assert reconciled and failed == reported


def test_voice_failures_never_sit_under_an_sms_category(built) -> None:
    """Seed 001: busy "Recipient's line was engaged", no-answer "Call rang but was not picked
    up": outcomes of a call, not an SMS handset problem."""
    _, con, _, _ = built
    voice = {c for (c,) in con.execute("SELECT DISTINCT error_category FROM "
                                       "marts.error_distribution WHERE channel = 'voice'"
                                       ).fetchall()}
    assert voice and voice <= {"busy", "no_answer", "call_failed", "canceled"}
    recipients = {c for (c,) in con.execute("SELECT DISTINCT error_category FROM "
                                            "marts.failed_recipients WHERE channel = 'voice'"
                                            ).fetchall()}
    assert recipients <= voice


def test_contact_lists_hold_every_contact_and_message(built) -> None:
    """Seed 001's export: "one row per contact with columns for phone number, final status,
    attempt count, last call duration, and timestamps"; seed 000's contact list: "Searchable
    list of all recipients with their delivery status"."""
    _, con, _, _ = built
    contacts = con.execute("SELECT sum(contacts) FROM marts.voice_campaign_performance"
                           ).fetchall()[0][0]
    assert con.execute("SELECT count(*), count(last_duration_seconds), count(first_attempt_at) "
                       "FROM marts.voice_contacts").fetchall()[0] == (contacts, contacts,
                                                                      contacts)
    messages = con.execute("SELECT count(*) FROM marts.fct_sms_messages").fetchall()[0][0]
    reasons = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE fail_reason IS NOT NULL),
               count(*) FILTER (WHERE status IN ('failed', 'expired', 'rejected'))
        FROM marts.sms_recipients""").fetchall()[0]
    assert reasons[0] == messages and reasons[1] == reasons[2] > 0


def test_campaign_settings_reach_dim_campaigns(built) -> None:
    """Seed 001: "Consider reducing number_of_retries or increasing interval_mins": the advice
    needs the campaign's own settings beside its figures."""
    _, con, _, _ = built
    voice = con.execute("""
        SELECT count(*), count(number_of_retries), count(retry_interval_mins),
               count(retry_on_status)
        FROM marts.dim_campaigns WHERE channel = 'voice'""").fetchall()[0]
    assert voice == (ACCOUNT.voice_campaigns,) * 4
    sms = con.execute("SELECT count(dlt_template_id) FROM marts.dim_campaigns "
                      "WHERE channel = 'sms'").fetchall()[0][0]
    assert sms == ACCOUNT.sms_campaigns
