"""Status callbacks, end to end with real parts: the receiver served by uvicorn on 127.0.0.1,
the sandbox pushing over HTTP, the landing log on disk, real DuckDB and a real dbt build.

Seed 004: "Handle retries gracefully -- If your webhook endpoint is down, Exotel retries the
callback. Ensure your endpoint is idempotent." and "Log all delivery reports -- Store delivery
reports with the SmsSid for audit trails and debugging."
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from orchestration.defs.callbacks.loader import load_callbacks
from orchestration.lib.callbacks.landing import LandingLog, ready_segments
from orchestration.lib.callbacks.payloads import landing_line
from orchestration.lib.callbacks.receiver import MAX_BODY_BYTES, ReceiverThread, create_app
from orchestration.lib.settings import ConfigError, Secret, load_settings
from orchestration.runner import run_pipeline
from orchestration.sandbox import AccountConfig, SandboxServer
from orchestration.sandbox.generator import plan_account
from orchestration.sandbox.push import CallbackPusher, PushFaults
from tests.ingest_helpers import open_raw, open_warehouse

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e

TOKEN = "test-callback-token-0123456789"
SMS = "/callbacks/exotel/sms"
REPORT = {"SmsSid": "a1b2c3d4e5f6", "AccountSid": "acct", "From": "EXOTL",
          "To": "+919876543210", "Body": "Your OTP is 123456", "Status": "delivered",
          "DetailedStatus": "DELIVERED_TO_HANDSET", "DetailedStatusCode": 20000,
          "SentAt": "2025-01-15T10:30:00+05:30", "UpdatedAt": "2025-01-15T10:30:05+05:30"}


def _landed(root: Path) -> list[dict]:
    """Every line in the landing log (open, ready and loaded segments)."""
    lines = []
    for path in sorted(root.rglob("*.ndjson")):
        lines += [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return lines


@pytest.fixture
def receiver(tmp_path: Path):
    with ReceiverThread(tmp_path / "landing", Secret(TOKEN)) as running:
        yield running, tmp_path / "landing"


def test_the_receiver_stores_a_report_before_answering_and_keeps_unknown_fields(receiver):
    running, landing = receiver
    with httpx.Client(base_url=running.url) as http:
        json_answer = http.post(SMS, params={"token": TOKEN}, json={**REPORT, "Extra": "kept"})
        form_answer = http.post(SMS, params={"token": TOKEN},
                                data={**REPORT, "SmsSid": "form1", "DetailedStatusCode": "20000"})
        health = http.get("/healthz")
    assert json_answer.status_code == 200 and form_answer.status_code == 200
    assert health.status_code == 200
    # Answered 200 only once on disk: the lines are there while the receiver still runs.
    landed = _landed(landing)
    assert [line["payload"]["SmsSid"] for line in landed] == ["a1b2c3d4e5f6", "form1"]
    assert landed[0]["payload"]["Extra"] == "kept"
    assert landed[1]["payload"]["To"] == "+919876543210"  # form decoding kept the '+'
    assert all(line["reject_reason"] is None for line in landed)


def test_a_wrong_missing_or_oversized_callback_is_refused_and_nothing_is_stored(receiver):
    running, landing = receiver
    with httpx.Client(base_url=running.url) as http:
        assert http.post(SMS, params={"token": "wrong"}, json=REPORT).status_code == 401
        assert http.post(SMS, json=REPORT).status_code == 401
        big = {**REPORT, "Body": "x" * (MAX_BODY_BYTES + 1)}
        assert http.post(SMS, params={"token": TOKEN}, json=big).status_code == 413
    assert _landed(landing) == []


def test_a_malformed_callback_gets_400_and_is_kept_with_its_reason(receiver):
    running, landing = receiver
    with httpx.Client(base_url=running.url) as http:
        missing = http.post(SMS, params={"token": TOKEN}, json={**REPORT, "SmsSid": None})
        unknown = http.post(SMS, params={"token": TOKEN}, json={**REPORT, "Status": "zapped"})
        garbage = http.post(SMS, params={"token": TOKEN}, content=b"{not json",
                            headers={"content-type": "application/json"})
        traversal = http.post(SMS, params={"token": TOKEN}, json={**REPORT, "SmsSid": "../x"})
    assert [a.status_code for a in (missing, unknown, garbage, traversal)] == [400] * 4
    reasons = [line["reject_reason"] for line in _landed(landing)]
    assert reasons == ["SmsSid is missing", "Status 'zapped' is not one of queued, sending, "
                       "submitted, sent, delivered, failed, rejected, expired",
                       "the body is not valid JSON", "SmsSid is not a valid id"]


def test_the_token_never_reaches_the_landing_log(receiver):
    running, landing = receiver
    with httpx.Client(base_url=running.url) as http:
        http.post(SMS, params={"token": TOKEN}, json=REPORT)
        http.post(SMS, params={"token": TOKEN}, json={"Status": "x"})
    assert _landed(landing)
    for path in landing.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()


def test_the_receiver_refuses_to_start_without_a_long_token(tmp_path: Path):
    with pytest.raises(ConfigError, match="CALLBACK_TOKEN is not set"):
        create_app(tmp_path, Secret(""))
    with pytest.raises(ConfigError, match="shorter than 16"):
        create_app(tmp_path, Secret("secret"))


def test_a_refresh_interval_cron_cannot_keep_is_refused():
    for minutes, ok in (("15", True), ("7", True), ("120", True), ("90", False),
                        ("300", False)):
        environ = {"REFRESH_INTERVAL_MINUTES": minutes}
        if ok:
            load_settings(environ, dotenv_path=None, require_credentials=False)
        else:
            with pytest.raises(ConfigError, match="REFRESH_INTERVAL_MINUTES"):
                load_settings(environ, dotenv_path=None, require_credentials=False)


def test_the_landing_folder_may_not_hold_the_warehouse(tmp_path: Path):
    with pytest.raises(ConfigError, match="inside CALLBACK_LANDING_DIR"):
        load_settings({"WAREHOUSE_PATH": str(tmp_path / "cb" / "w.duckdb"),
                       "CALLBACK_LANDING_DIR": str(tmp_path / "cb")}, dotenv_path=None,
                      require_credentials=False)


def test_segments_load_exactly_once_whatever_crashes_when(tmp_path: Path):
    """A receiver killed mid-line leaves a torn last line (never answered 200): the whole lines
    load, the torn one does not. A loader killed after its commit but before moving the file
    (simulated by putting the loaded file back) does not load it again."""
    landing = tmp_path / "landing"
    log = LandingLog(landing)
    log.append([landing_line("sms", {**REPORT, "SmsSid": f"m{i}"}, None) for i in range(3)])
    log.close_segment()
    log.append([landing_line("sms", {**REPORT, "SmsSid": "m3"}, None)])
    open_segment = next((landing / "open").iterdir())
    with open(open_segment, "ab") as torn:  # the receiver died writing this one: no 200
        torn.write(b'{"callback_key": "x", "kind": "sms", "payl')
    os.close(log._fd)  # the process is gone: its flock goes with it
    log._fd = None

    warehouse = tmp_path / "warehouse.duckdb"
    with open_raw(warehouse) as raw:
        con = raw.con
        first = load_callbacks(raw, landing, "run1")
        loaded = sorted((landing / "loaded").iterdir())
        shutil.copy(loaded[0], landing / "ready" / loaded[0].name)
        again = load_callbacks(raw, landing, "run2")
        sids = [sid for (sid,) in con.execute(
            "SELECT payload ->> 'SmsSid' FROM raw.callbacks ORDER BY 1").fetchall()]
    assert (first.segments, first.callbacks) == (2, 4)
    assert (again.segments, again.callbacks) == (0, 0)
    assert sids == ["m0", "m1", "m2", "m3"]
    assert ready_segments(landing) == []


def test_an_unreadable_segment_is_set_aside_and_named_not_lost(tmp_path: Path):
    """A segment DuckDB cannot read (a disk fault) does not stop the load of the others."""
    landing = tmp_path / "landing"
    log = LandingLog(landing)
    log.append([landing_line("sms", REPORT, None)])
    log.close_segment()
    broken = LandingLog(landing)
    broken.append([b'{"callback_key": "k", "kind": "sms", "payload": {"SmsSid": \n'])
    broken.close_segment()
    with open_raw(tmp_path / "warehouse.duckdb") as raw:
        con = raw.con
        loaded = load_callbacks(raw, landing, "run1")
        reasons = con.execute("SELECT entity, failed_checks FROM raw.rejected_records"
                              ).fetchall()
    assert (loaded.callbacks, loaded.unreadable) == (1, 1)
    assert len(list((landing / "unreadable").iterdir())) == 1
    assert reasons[0][0] == "callback_segment" and "set aside" in reasons[0][1]


def test_pushed_statuses_reach_the_marts_once_and_equal_the_pulled_ones(tmp_path: Path):
    """One SMS campaign, pulled while it is sending (every message queued or sent), then every
    status change up to its end pushed three times, in a shuffled order, with a stale `sent`
    after each delivery; against the same campaign pulled once it is final. Replies and STOP
    land as seed 003's Replied and Unsubscribed."""
    account = AccountConfig(seed=23, voice_campaigns=0, sms_campaigns=1,
                            sms_messages=(1500, 1500))
    plan = plan_account(account)[0]
    early = plan.start_at + (plan.end_at - plan.start_at) // 3
    final = plan.end_at + 73 * 3600  # after every receipt, expiries included

    def settings_for(folder: Path, server: SandboxServer):
        folder.mkdir()
        return load_settings({
            **server.environment(), "EXOTEL_RATE_LIMIT_PER_MINUTE": "0",
            "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
            "PUBLISHED_PATH": str(folder / "published.duckdb"),
            "CALLBACK_LANDING_DIR": str(folder / "callbacks"), "CALLBACK_TOKEN": TOKEN,
            "UNSUBSCRIBE_KEYWORDS": "STOPALL"}, dotenv_path=None)

    epoch = dt.datetime.fromtimestamp
    with SandboxServer(account, now=epoch(early, dt.UTC)).start() as sandbox:
        pushed_settings = settings_for(tmp_path / "pushed", sandbox)
        run_pipeline(pushed_settings)
        with ReceiverThread(pushed_settings.callback_landing_dir, Secret(TOKEN)) as running:
            pusher = CallbackPusher(sandbox, running.url, TOKEN,
                                    faults=PushFaults(out_of_order_share=0.3), seed=5)
            pushes = [pusher.push(early, final) for _ in range(3)]
            # Messages sent after the early pull: every step of theirs comes by callback.
            delivered = [payload for _, path, payload in pusher.events(early, final)
                         if path == SMS and payload["Status"] == "delivered"
                         and dt.datetime.fromisoformat(payload["SentAt"]).timestamp() > early]
            # A `sent` that happened before the delivery, arriving after it.
            stale = [{**payload, "Status": "sent", "DetailedStatus": "SENT",
                      "DetailedStatusCode": None, "UpdatedAt": epoch(
                          dt.datetime.fromisoformat(payload["SentAt"]).timestamp() + 1,
                          dt.UTC).isoformat()}
                     for payload in delivered[3:203]]
            replied_at = epoch(final - 3600, dt.UTC).isoformat()
            replies = [{"From": delivered[0]["To"], "To": "EXOTL", "Body": "thanks!",
                        "ReceivedAt": replied_at},
                       {"From": delivered[1]["To"].lstrip("+"), "Body": " stop please",
                        "ReceivedAt": replied_at},
                       {"From": delivered[2]["To"], "Body": "STOPALL", "ReceivedAt": replied_at}]
            with httpx.Client(base_url=running.url, params={"token": TOKEN}) as http:
                answers = [http.post(SMS, json=p).status_code for p in stale]
                answers += [http.post("/callbacks/exotel/inbound-sms", data=r).status_code
                            for r in replies]
        run_pipeline(pushed_settings, refresh=True)
    assert pushes[0].events > 3000 and all(p.accepted == p.events for p in pushes)
    assert set(answers) == {200} and len(stale) == 200

    with SandboxServer(account, now=epoch(final, dt.UTC)).start() as sandbox:
        pulled_settings = settings_for(tmp_path / "pulled", sandbox)
        run_pipeline(pulled_settings)

    columns = ("messages_total, messages_submitted, messages_delivered, messages_failed, "
               "messages_expired, messages_rejected, messages_pending, soft_bounces, "
               "hard_bounces, delivery_rate, rejection_rate, failure_rate, effective_reach, "
               "p50_delivery_latency_seconds, p90_delivery_latency_seconds, health_status")

    def read(settings, sql):
        with duckdb.connect(str(settings.published_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    performance = f"SELECT {columns} FROM marts.sms_campaign_performance"
    errors = "SELECT * FROM marts.error_distribution ORDER BY ALL"
    assert read(pushed_settings, performance) == read(pulled_settings, performance)
    assert read(pushed_settings, errors) == read(pulled_settings, errors)
    assert read(pushed_settings, performance)[0][6] == 0  # nothing left pending
    sources = dict(read(pushed_settings, "SELECT status_source, count(*) FROM "
                        "marts.fct_sms_messages GROUP BY 1"))
    assert sources["callback"] > 1000

    # Three deliveries of every callback count once; every step of a message is on record.
    def seconds(payload, name):
        return dt.datetime.fromisoformat(payload[name]).timestamp()

    # A message whose receipt came after its `sent` (a receipt within 2 s overtakes it).
    sid = next(p["SmsSid"] for p in delivered[203:]
               if seconds(p, "UpdatedAt") - seconds(p, "SentAt") > 2)
    history = read(pushed_settings, "SELECT status, source FROM marts.sms_status_history "
                   f"WHERE sms_sid = '{sid}' ORDER BY status_at, source")
    assert history[0] in (("queued", "pull"), ("sending", "pull"))  # as the early pull saw it
    assert [s for s in history if s[1] != "pull"] == [
        ("submitted", "callback:sms"), ("sent", "callback:sms"),
        ("delivered", "callback:campaign_sms"), ("delivered", "callback:sms")]
    with open_warehouse(pushed_settings.warehouse_path) as con:
        stored, distinct = con.execute(
            "SELECT count(*), count(DISTINCT callback_key) FROM raw.callbacks").fetchone()
    assert stored == 3 * pushes[0].events + len(answers)
    assert distinct == pushes[0].events + len(answers)

    replied = read(pushed_settings, "SELECT recipients_replied, recipients_unsubscribed "
                   "FROM marts.sms_campaign_performance")
    assert replied == [(3, 2)]


def test_the_demo_shows_callbacks_end_to_end(demo_run):
    """`make demo` runs the receiver: the sandbox pushes, the refresh loads, the marts move."""
    out = demo_run["result"].stdout
    assert "answered 200 and stored" in out and "Refreshed:" in out
    # Exotel's callbacks and Brevo's webhooks, each line saying how many were stored
    pushed = [line for line in out.splitlines() if "answered 200 and stored" in line]
    refreshed = next(line for line in out.splitlines() if "Refreshed:" in line)
    accepted = [int(line.split(", ")[-1].split()[0].replace(",", "")) for line in pushed]
    loaded = int(refreshed.split("Refreshed: ")[1].split()[0].replace(",", ""))
    assert len(accepted) == 2 and min(accepted) > 0 and loaded == sum(accepted)
    assert "Brevo:" in pushed[1] and "(Authorization: Bearer)" in pushed[1]
    with duckdb.connect(str(demo_run["published"]), read_only=True) as con:
        sources = dict(con.execute("SELECT source, count(*) FROM marts.sms_status_history "
                                   "GROUP BY 1").fetchall())
    assert sources.get("pull", 0) > 0 and sources.get("callback:sms", 0) > 0
    assert sources.get("callback:brevo_sms", 0) > 0


def test_the_refresh_schedule_skips_when_busy_or_idle_and_runs_when_callbacks_wait(tmp_path):
    """Skipped, not queued: a run holding the warehouse or an empty landing folder means no
    run; a closed segment waiting means one."""
    import dagster as dg

    from orchestration.defs.operations.jobs import refresh_schedule
    from orchestration.lib.run_lock import run_lock

    settings = load_settings({"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
                              "CALLBACK_LANDING_DIR": str(tmp_path / "landing")},
                             dotenv_path=None, require_credentials=False)
    schedule = refresh_schedule(settings)
    assert schedule.cron_schedule == "*/15 * * * *"

    def evaluate():
        return schedule.evaluate_tick(dg.build_schedule_context()).skip_message

    assert evaluate() == "no callbacks waiting to be loaded"
    log = LandingLog(settings.callback_landing_dir)
    log.append([landing_line("sms", REPORT, None)])
    log.close_segment()
    assert evaluate() is None  # a run is requested
    with run_lock(settings.warehouse_path):
        assert "holds the warehouse" in evaluate()
