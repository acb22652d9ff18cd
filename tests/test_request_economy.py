"""Request economy (defs/exotel/economy.py) against the real sandbox: a campaign is read only as
far as it can have changed, requests are counted by kind, and the result is the same data."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pytest

from orchestration.lib.progress import PullProgress
from orchestration.runner import run_pipeline
from orchestration.sandbox import AccountConfig, Faults, SandboxServer
from orchestration.sandbox.generator import generate_sms, plan_account
from orchestration.sandbox.render import render_sms_items
from tests.conftest import client_for
from tests.ingest_helpers import open_raw, open_warehouse, run_ingest, sandbox_settings

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e


def _at(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _run_rows(warehouse: Path, run_id: str) -> list[tuple]:
    with open_warehouse(warehouse) as con:
        return con.execute(
            "SELECT channel, campaign_id, detail_mode, detail_reason, pages, messages_polled, "
            "requests, is_final FROM raw.campaign_pulls WHERE run_id = ? ORDER BY ALL",
            [run_id]).fetchall()


def _served_since(sandbox: SandboxServer, before: dict[str, int]) -> dict[str, int]:
    """Requests the sandbox served since `before` (its counts then), by kind."""
    now = sandbox.stats.requests_by_kind
    return {kind: now.get(kind, 0) - before.get(kind, 0)
            for kind in ("list", "campaign", "detail", "message")}


def _requests(warehouse: Path, run_id: str) -> dict[str, dict[str, int]]:
    with open_warehouse(warehouse) as con:
        rows = con.execute(
            "SELECT channel, requests, list_requests, campaign_requests, detail_requests, "
            "message_requests, campaigns_skipped, messages_polled FROM raw.ingest_runs "
            "WHERE run_id = ?", [run_id]).fetchall()
    names = ("requests", "list", "campaign", "detail", "message", "skipped", "polled")
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


def test_an_unchanged_non_final_campaign_is_not_re_read(start_sandbox, tmp_path: Path):
    sandbox = start_sandbox()  # a day after the last campaign: some still wait on receipts
    warehouse = tmp_path / "warehouse.duckdb"
    first = run_ingest(sandbox, warehouse)
    waiting = [row for row in _run_rows(warehouse, first.run_id) if not row[7]]
    assert any(row[0] == "sms" for row in waiting), "the sandbox should leave a campaign open"

    served = dict(sandbox.stats.requests_by_kind)
    second = run_ingest(sandbox, warehouse)  # the provider's clock has not moved: no change
    rows = _run_rows(warehouse, second.run_id)
    by_kind = _served_since(sandbox, served)
    skipped = [row for row in rows if row[2] == "skipped"]
    assert {row[1] for row in skipped} == {row[1] for row in waiting if row[0] == "sms"}
    assert all(row[3] == "stats unchanged since the last reconciled pull" for row in skipped)
    # Only voice campaigns still dialling (never reconciled yet) are read again.
    read_again = [row for row in rows if row[2] == "pages"]
    assert all(row[0] == "voice" for row in read_again)
    assert by_kind == {"list": 2, "campaign": len(rows), "message": 0,
                       "detail": sum(row[4] for row in read_again)}
    # What the sandbox served is what the run recorded, per kind.
    recorded = _requests(warehouse, second.run_id)
    assert sum(r["requests"] for r in recorded.values()) == sum(by_kind.values())
    assert sum(r["detail"] for r in recorded.values()) == by_kind["detail"]
    assert recorded["sms"]["skipped"] == len(skipped)


def _stuck_campaign() -> tuple[AccountConfig, int, int, int]:
    """One completed campaign of 50,000 messages; the moment exactly 3 of them still wait on
    their outcome, and the moment all have one (still inside its 72-hour window)."""
    account = AccountConfig(seed=4, voice_campaigns=0, sms_campaigns=1,
                            sms_messages=(50_000, 50_000))
    plan = plan_account(account)[0]
    outcome_times = np.sort(generate_sms(plan, account).final_at)
    three_left = int(outcome_times[-4])
    all_done = int(outcome_times[-1])
    return account, three_left, all_done, plan.end_at


def test_three_stuck_messages_among_50000_are_asked_for_one_by_one(tmp_path: Path):
    account, three_left, all_done, end_at = _stuck_campaign()
    assert all_done < end_at + 72 * 3600  # the receipt window is still open at the end
    warehouse = tmp_path / "warehouse.duckdb"
    with SandboxServer(account, now=_at(three_left)) as sandbox:
        first = run_ingest(sandbox, warehouse)
        [(_, campaign_id, mode, _, pages, _, _, final)] = _run_rows(warehouse, first.run_id)
        assert (mode, pages, final) == ("pages", 51, False)
        with open_warehouse(warehouse) as con:
            pending = con.execute(
                "SELECT count(*) FROM raw.campaign_pulls WHERE pending_units = 3").fetchone()[0]
        assert pending == 1

        sandbox.clock.set(_at(all_done))
        served = dict(sandbox.stats.requests_by_kind)
        second = run_ingest(sandbox, warehouse)
        delta = _served_since(sandbox, served)
        details = generate_sms(sandbox.account.by_id[campaign_id], account)

    # One page of each campaign list (voice's is empty), the campaign's record, 3 messages.
    assert delta == {"list": 2, "campaign": 1, "detail": 0, "message": 3}
    [row] = _run_rows(warehouse, second.run_id)
    assert row[2:4] == ("messages", "3 pending message(s) asked for one by one instead of "
                        "51 page(s)")
    assert row[5] == 3 and row[6] == 4  # the campaign's record + 3 messages
    assert row[7] is True  # final: terminal, nothing pending, reconciled; 72 h not waited out

    # Each answer landed as a new version of its message, equal to what a page would show now.
    stuck = np.flatnonzero(details.final_at > three_left)
    fields = ("status", "updated_at", "delivered_at", "submitted_at", "detailed_status",
              "detailed_status_code", "parts", "cost", "to_number")
    with duckdb.connect() as typer:
        typer.execute("SET TimeZone = 'UTC'")
        for index in stuck.tolist():
            page = orjson.loads(render_sms_items(details, all_done, index, 1)[0])
            with open_warehouse(warehouse) as con:
                latest = con.execute(
                    f"SELECT {', '.join(fields)}, error_code, record_json ->> 'source' "
                    "FROM raw.sms_messages WHERE sms_sid = ? AND run_id = ?",
                    [page["sms_sid"], second.run_id]).fetchone()
            expected = typer.execute(
                "SELECT ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?::INTEGER, "
                "?::INTEGER, ?::DECIMAL(18, 6), ?",
                [page["status"], page["updated_at"], page["delivered_at"], page["submitted_at"],
                 page["detailed_status"], page["detailed_status_code"], page["parts"],
                 page["cost"], page["to"]]).fetchone()
            assert latest[:-2] == expected
            # The single-message answer carries no error code: dbt names it by its code.
            assert latest[-2:] == (None, "single-message endpoint")

    with open_warehouse(warehouse) as con:
        versions = con.execute("SELECT count(*) FROM raw.sms_messages").fetchone()[0]
    assert versions == 50_003


def test_pending_messages_resolved_by_callbacks_need_no_detail_request(tmp_path: Path):
    """The 3 stuck messages' outcomes arrive as callbacks (through the real receiver): the
    next pull asks for nothing but the campaign's record, and the campaign is final."""
    import dagster as dg

    from orchestration.defs.callbacks.assets import raw_callbacks
    from orchestration.lib.callbacks.receiver import ReceiverThread
    from orchestration.lib.settings import Secret
    from orchestration.sandbox.push import CallbackPusher
    from tests.ingest_helpers import INGEST_ASSETS, sandbox_resources

    token = "economy-callback-token-0123456789"
    account, three_left, all_done, _ = _stuck_campaign()
    warehouse = tmp_path / "warehouse.duckdb"
    with SandboxServer(account, now=_at(three_left)) as sandbox:
        run_ingest(sandbox, warehouse)
        with ReceiverThread(warehouse.with_name("callbacks"), Secret(token)) as receiver:
            pushed = CallbackPusher(sandbox, receiver.url, token).push(three_left, all_done)
        assert pushed.accepted == pushed.events == 6  # a report and a campaign report each
        sandbox.clock.set(_at(all_done))
        served = dict(sandbox.stats.requests_by_kind)
        result = dg.materialize([raw_callbacks, *INGEST_ASSETS],
                                resources=sandbox_resources(sandbox.url, warehouse,
                                                            CALLBACK_TOKEN=token))
        delta = _served_since(sandbox, served)
    assert delta == {"list": 2, "campaign": 1, "detail": 0, "message": 0}
    [row] = _run_rows(warehouse, result.run_id)
    assert row[2:4] == ("skipped", "every message already has its outcome (pulls and callbacks)")
    assert row[7] is True


def test_a_campaign_whose_stats_moved_is_re_read(tmp_path: Path):
    """Pulled while sending, then a day later: far more changed than its pages hold."""
    account = AccountConfig(seed=4, voice_campaigns=0, sms_campaigns=1,
                            sms_messages=(5_000, 5_000))
    plan = plan_account(account)[0]
    warehouse = tmp_path / "warehouse.duckdb"
    with SandboxServer(account, now=_at((plan.start_at + plan.end_at) // 2)) as sandbox:
        run_ingest(sandbox, warehouse)
        sandbox.clock.set(_at(plan.end_at + 86400))
        served = sandbox.stats.requests_by_kind.get("detail", 0)
        second = run_ingest(sandbox, warehouse)
        detail_requests = sandbox.stats.requests_by_kind["detail"] - served
    [row] = _run_rows(warehouse, second.run_id)
    assert row[2] == "pages" and row[4] == detail_requests == 6
    assert row[3] == "6+ pending messages: the pages are fewer requests"


def test_a_missing_single_message_falls_back_to_the_pages(tmp_path: Path):
    """The provider forgetting one message (404) costs the pages, never the data."""
    account, three_left, all_done, _ = _stuck_campaign()
    warehouse = tmp_path / "warehouse.duckdb"
    with SandboxServer(account, now=_at(three_left)) as sandbox:
        run_ingest(sandbox, warehouse)
        with open_raw(warehouse) as raw:  # a message the provider has never heard of
            raw.insert("sms_messages", """
                (campaign_id, sms_sid, status, record_seq, run_id, loaded_at)
                SELECT campaign_id, 'sZZZZZZZZ10000000', 'sent', 0, 'test', now()
                FROM raw.sms_campaigns""")
            raw.commit("test: an unknown message")
        sandbox.clock.set(_at(all_done))
        second = run_ingest(sandbox, warehouse)
    [row] = _run_rows(warehouse, second.run_id)
    assert row[2:5] == ("pages", "a pending message was not found on its own", 51)


def test_single_messages_survive_the_sandboxs_faults(start_sandbox):
    sandbox = start_sandbox(faults=Faults(rate_429=0.2, rate_5xx=0.2, retry_after_seconds=0))
    client = client_for(sandbox)
    [plan] = [p for p in sandbox.account.plans if p.channel == "sms"][:1]
    details = sandbox.account.details(plan)
    now = sandbox.clock.now()
    for index in range(30):
        page = orjson.loads(render_sms_items(details, now, index, 1)[0])
        answer = client.get_sms_message(page["sms_sid"])
        assert (answer["Status"], answer["DateUpdated"]) == (page["status"], page["updated_at"])
    assert client.stats.retries > 0 and client.stats.by_kind["message"] > 30
    assert sandbox.stats.requests_by_kind["message"] == client.stats.by_kind["message"]


def test_progress_shows_pages_records_requests_and_time_left_at_the_rate():
    out = io.StringIO()
    with PullProgress("sms", 4, rate_per_minute=200, stream=out, force=True) as progress:
        progress.page(1000, requests=2)
        progress.page(500, requests=3)
        progress.campaign(requests=3)
    text = out.getvalue()
    assert "sms campaigns" in text and "2 pages, 1,500 records, 3 requests" in text
    assert progress.done == 1
    # 3 requests a campaign, 3 campaigns left: 9 requests at 200 a minute.
    assert "about 3s left at 200/min" in text
    quiet = PullProgress("sms", 4, rate_per_minute=200, stream=io.StringIO())
    assert not quiet.enabled  # not a terminal: the log's line per campaign instead


SEQUENCE = AccountConfig(seed=31, voice_campaigns=2, sms_campaigns=5,
                         sms_messages=(6_000, 30_000), voice_contacts=(150, 400),
                         start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                         end=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))
# Marts columns that say when the warehouse wrote or read something, not what the data says;
# the provider's error text, which the single-message answer does not carry (checked below);
# and the look-up's keyed hash, made with each warehouse's own random key.
RUN_COLUMNS = {"loaded_at", "first_recorded_at", "last_pulled_at", "error_message",
               "recipient_key"}
# Histories record every status the warehouse saw: daily runs see the steps between.
HISTORIES = {"sms_status_history", "call_status_history"}


def _marts(published: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall()]
        marts = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND table_name = ? ORDER BY column_index", [table]).fetchall()
                if c not in RUN_COLUMNS
                # a history keeps each source's own words: a single answer names no code
                and not (table in HISTORIES and c == "error_code")]
            marts[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM marts.{table} ORDER BY ALL").fetchall()
    return marts


@pytest.mark.timeout(900)
def test_marts_after_a_week_of_daily_runs_equal_a_full_re_pull(tmp_path: Path):
    """A week of daily runs, and two more near the end of the last campaign's receipts, so that
    every way of reading happens (skips, single messages, pages); against one pull of
    everything at the last run's clock: every mart the same, row for row."""
    last = max((p for p in plan_account(SEQUENCE) if p.channel == "sms"), key=lambda p: p.end_at)
    outcomes = np.sort(generate_sms(last, SEQUENCE).final_at)
    daily_at = [SEQUENCE.start + dt.timedelta(days=d, hours=18, minutes=30) for d in range(7)]
    # A few receipts left, then fewer: the second run asks for the few one by one; a run at
    # the same clock (say, a re-run) finds nothing moved and skips the campaign.
    few, fewer = int(outcomes[-7]), int(outcomes[-3])
    runs = [*daily_at[:6], _at(few), _at(fewer), _at(fewer), daily_at[6]]
    daily = tmp_path / "daily" / "warehouse.duckdb"
    fresh = tmp_path / "fresh" / "warehouse.duckdb"
    for folder in (daily.parent, fresh.parent):
        folder.mkdir()
    modes: dict[str, int] = {}
    with SandboxServer(SEQUENCE, now=runs[0]) as sandbox:
        for number, moment in enumerate(runs):
            sandbox.clock.set(moment)
            if number < len(runs) - 1:
                result = run_ingest(sandbox, daily)
            else:  # the whole job (dbt, publish) once: the marts read all the runs' raw rows
                result = run_pipeline(sandbox_settings(sandbox.url, daily), log_level="WARNING")
            for row in _run_rows(daily, result.run_id):
                modes[row[2]] = modes.get(row[2], 0) + (row[5] if row[2] == "messages" else 1)
        run_pipeline(sandbox_settings(sandbox.url, fresh), log_level="WARNING")
    assert modes.get("skipped", 0) > 0 and modes.get("messages", 0) > 0, modes

    ours, theirs = _marts(daily.with_name("published.duckdb")), _marts(
        fresh.with_name("published.duckdb"))
    assert ours.keys() == theirs.keys()
    different = [table for table in ours.keys() - HISTORIES - {"alerts"}
                 if ours[table] != theirs[table]]
    assert different == []
    # Alerts record when the warehouse saw something; the open ones judge the same marts.
    def open_alerts(rows: list[tuple]) -> set[tuple]:
        return {row[:9] for row in rows if row[-1] is None}  # up to first_seen, last_seen

    assert open_alerts(ours["alerts"]) == open_alerts(theirs["alerts"])
    for table in HISTORIES:  # every status a full pull sees, the daily runs saw too
        assert set(theirs[table]) <= set(ours[table]), table
    # ... and the SMS steps in between (a call record never changes once listed)
    assert len(ours["sms_status_history"]) > len(theirs["sms_status_history"])
    assert ours["call_status_history"] == theirs["call_status_history"]

    # The provider's error text is missing exactly where a single-message answer was the last
    # word on a failed message (the answer has no such field; the reason in words is the same).
    def without_text(published: Path) -> set[str]:
        with duckdb.connect(str(published), read_only=True) as con:
            return {sid for (sid,) in con.execute(
                "SELECT sms_sid FROM marts.fct_sms_messages "
                "WHERE (is_failed OR is_rejected) AND error_message IS NULL").fetchall()}

    with open_warehouse(daily) as con:
        answered = {sid for (sid,) in con.execute("""
            SELECT sms_sid FROM raw.sms_messages
            QUALIFY row_number() OVER (PARTITION BY sms_sid
                                       ORDER BY loaded_at DESC, record_seq DESC) = 1
                AND record_json ->> 'source' = 'single-message endpoint'
                AND status IN ('failed', 'expired', 'rejected')""").fetchall()}
    assert answered and without_text(daily.with_name("published.duckdb")) == (
        without_text(fresh.with_name("published.duckdb")) | answered)
