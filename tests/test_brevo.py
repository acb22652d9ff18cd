"""Brevo's client against the bundled Brevo sandbox, both following ../shared/brevo-contract.md
(issue 27: the client and the sandbox; the assets and models come next)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from pathlib import Path

import pytest

from orchestration.lib.brevo import (
    BrevoAuthenticationError,
    BrevoClient,
    ExportFailedError,
    ExportNotReadyError,
)
from orchestration.lib.retry import RetryPolicy
from orchestration.sandbox.brevo import (
    SANDBOX_BREVO_KEY,
    BrevoAccountConfig,
    BrevoFaults,
    BrevoSandbox,
)

CONFIG = BrevoAccountConfig(seed=3, campaigns=5, recipients=(40, 120),
                            transactional_per_day=(30, 80))
NOW = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)  # every campaign sent, some still retrying
FAST = RetryPolicy(max_attempts=8, base_delay_seconds=0.01, max_delay_seconds=0.05)


@pytest.fixture
def brevo():
    servers: list[BrevoSandbox] = []

    def start(faults: BrevoFaults | None = None, now: dt.datetime = NOW,
              config: BrevoAccountConfig = CONFIG) -> BrevoSandbox:
        server = BrevoSandbox(config, now=now, faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(server: BrevoSandbox, key: str = SANDBOX_BREVO_KEY) -> BrevoClient:
    """A client whose waits move the sandbox's clock (the rate window runs on it)."""
    start = dt.datetime.now(dt.UTC)
    return BrevoClient(key, base_url=server.url, retry=FAST, sleep=server.advance,
                       clock=lambda: (server.now - start).total_seconds())


def test_campaigns_come_with_statistics_that_add_up(brevo) -> None:
    server = brevo()
    with client_for(server) as client:
        campaigns = list(client.iter_sms_campaigns(limit=2))  # three pages of 2, 2, 1
    assert [c["id"] for c in campaigns] == [15, 14, 13, 12, 11]  # newest first
    assert client.stats.by_kind["list"] == 3
    for campaign in campaigns:
        s = campaign["statistics"]
        assert s["sent"] == s["delivered"] + s["processing"] + s["softBounces"] + s["hardBounces"]
        assert s["unsubscriptions"] + s["answered"] <= s["delivered"]
    assert {c["status"] for c in campaigns} == {"sent", "suspended"}
    assert isinstance(campaigns[0]["recipients"]["lists"], list)


def test_a_queued_campaign_counts_nothing_sent(brevo) -> None:
    first = dt.datetime.fromtimestamp(
        min(c.scheduled_at for c in BrevoSandbox(CONFIG).account.campaigns.values()) - 60,
        dt.UTC)
    server = brevo(now=first)
    with client_for(server) as client:
        campaigns = list(client.iter_sms_campaigns())
    queued = [c for c in campaigns if c["status"] == "queued"]
    assert queued and all(set(c["statistics"].values()) == {0} for c in queued)


def test_the_recipients_export_matches_the_campaign_statistics(brevo) -> None:
    server = brevo()
    with client_for(server) as client:
        campaign = client.get_sms_campaign(13)
        process = client.request_recipients_export(13)
        rows = client.download_recipients(client.wait_for_export(process))
    assert client.stats.by_kind["process"] >= 2  # queued first, then completed
    assert set(rows[0]) >= {"contact_id", "sms", "email", "event", "date", "reason", "reply"}
    events = Counter(row["event"] for row in rows)
    s = campaign["statistics"]
    assert len(rows) == s["sent"] and len({r["sms"] for r in rows}) == len(rows)
    assert events["delivered"] + events["replied"] + events["unsubscribed"] == s["delivered"]
    assert events["softBounce"] == s["softBounces"] and events["hardBounce"] == s["hardBounces"]
    assert events["processing"] == s["processing"]
    assert all(row["reason"] for row in rows if row["event"] in ("softBounce", "hardBounce"))
    assert all(row["sms"].isdigit() and not row["sms"].startswith("+") for row in rows)


def test_a_stuck_or_failed_export_is_reported_not_taken_as_complete(brevo) -> None:
    server = brevo(BrevoFaults(stuck_exports=frozenset({12}), failed_exports=frozenset({13})))
    client = client_for(server)
    with pytest.raises(ExportNotReadyError, match="taken again on the next run"):
        client.wait_for_export(client.request_recipients_export(12), max_wait_seconds=5)
    with pytest.raises(ExportFailedError):
        client.wait_for_export(client.request_recipients_export(13))
    client.close()


def test_a_spent_window_is_waited_out_not_spent_on_429s(brevo) -> None:
    server = brevo(BrevoFaults(budget_per_window=4, window_seconds=3600))
    with client_for(server) as client:
        for _ in range(10):
            client.get_sms_campaign(11)
    assert server.stats.throttled == 0  # the headers said when to stop
    assert client.stats.requests == 10 and client.stats.waited_seconds >= 3600
    assert client.budget.limit == 4


def test_a_429_from_a_window_someone_else_spent_waits_for_the_reset(brevo) -> None:
    server = brevo(BrevoFaults(budget_per_window=3, window_seconds=600))
    with client_for(server) as other:
        for _ in range(3):
            other.get_sms_campaign(11)
    with client_for(server) as client:  # knows nothing of the window yet
        assert client.get_sms_campaign(12)["id"] == 12
    assert server.stats.throttled == 1 and client.stats.retries == 1
    assert 0 < client.stats.waited_seconds <= 600


def test_server_errors_are_retried_and_the_key_is_never_logged(brevo, caplog) -> None:
    server = brevo(BrevoFaults(rate_5xx=0.4))
    caplog.set_level(logging.DEBUG)
    with client_for(server) as client:
        campaigns = list(client.iter_sms_campaigns(limit=2))
    assert len(campaigns) == 5 and client.stats.retries > 0
    assert SANDBOX_BREVO_KEY not in caplog.text


def test_a_wrong_key_stops_at_once_in_one_line(brevo) -> None:
    server = brevo()
    with (client_for(server, key="xkeysib-wrong-secret") as client,
          pytest.raises(BrevoAuthenticationError) as raised):
        list(client.iter_sms_campaigns())
    message = str(raised.value)
    assert "BREVO_API_KEY" in message and "\n" not in message
    assert "xkeysib-wrong-secret" not in message
    assert client.stats.requests == 1  # no retries on a 401


def test_a_campaign_id_is_an_integer_or_nothing_is_sent(brevo) -> None:
    server = brevo()
    with client_for(server) as client:
        for bad in ("../processes/1", "11/exportRecipients", "1e3", ""):
            with pytest.raises(ValueError, match="not a Brevo campaign id"):
                client.get_sms_campaign(bad)
    assert client.stats.requests == 0 and server.stats.requests == 0


def test_transactional_events_page_by_100_to_a_short_page(brevo) -> None:
    server = brevo()
    day = dt.date(2026, 1, 5)
    expected = server.account.events(int(NOW.timestamp()), day, day + dt.timedelta(days=1))
    with client_for(server) as client:
        events = list(client.iter_transactional_events(day, day + dt.timedelta(days=1)))
        reports = client.transactional_reports(day, day + dt.timedelta(days=1))
    assert len(events) == len(expected) > 100
    assert client.stats.by_kind["events"] == len(expected) // 100 + 1
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)  # oldest first
    assert {e["event"] for e in events} >= {"sent", "accepted", "delivered"}
    assert [r["date"] for r in reports] == ["2026-01-05", "2026-01-06"]
    assert sum(r["requests"] for r in reports) == sum(e["event"] == "sent" for e in events)
    # A soft bounce Brevo retried and then delivered: the message's latest event is delivered.
    by_message: dict[str, list[dict]] = {}
    for event in events:
        by_message.setdefault(event["messageId"], []).append(event)
    retried = [m for m in by_message.values()
               if [e["event"] for e in m][-2:] == ["softBounces", "delivered"]]
    assert retried


def test_brevo_settings_keep_the_key_secret_and_default_the_contract_url(brevo) -> None:
    from orchestration.lib.settings import ConfigError, load_settings

    settings = load_settings({"BREVO_API_KEY": "xkeysib-abc"}, dotenv_path=None,
                             require_credentials=False)
    assert settings.brevo_base_url == "https://api.brevo.com/v3"
    assert "xkeysib-abc" not in repr(settings) and "xkeysib-abc" not in f"{settings.brevo_api_key}"
    with pytest.raises(ConfigError, match="BREVO_BASE_URL must not carry credentials"):
        load_settings({"BREVO_BASE_URL": "https://u:p@api.brevo.com/v3"}, dotenv_path=None,
                      require_credentials=False)
    server = brevo()
    configured = load_settings(server.environment(), dotenv_path=None, require_credentials=False)
    with BrevoClient.from_settings(configured, retry=FAST) as client:
        assert client.get_sms_campaign(11)["id"] == 11


# ---- the ingest asset against the sandbox ----------------------------------------------------

def _ingest(server: BrevoSandbox | None, warehouse) -> dict:
    import dagster as dg

    from orchestration.defs.brevo.assets import brevo_ingest
    from orchestration.defs.resources import resources_for
    from orchestration.lib.settings import load_settings

    env = {"WAREHOUSE_PATH": str(warehouse), "BREVO_EXPORT_WAIT_SECONDS": "3",
           **(server.environment() if server else {})}
    settings = load_settings(env, dotenv_path=None, require_credentials=False)
    result = dg.materialize([brevo_ingest], resources=resources_for(settings))
    assert result.success
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.step_materialization_data.materialization
            .metadata.items()}


def _recent_account() -> BrevoAccountConfig:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return BrevoAccountConfig(seed=4, campaigns=4, recipients=(30, 90),
                              transactional_per_day=(20, 40),
                              start=today - dt.timedelta(days=10), end=today)


def test_the_ingest_lands_campaigns_recipients_and_events_then_costs_almost_nothing(
        brevo, tmp_path) -> None:
    import duckdb

    server = brevo(now=dt.datetime.now(dt.UTC), config=_recent_account())
    warehouse = tmp_path / "warehouse.duckdb"
    first = _ingest(server, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    sent = {str(c.id): int(server.account.statistics(c, int(server.now.timestamp()))["sent"])
            for c in server.account.campaigns.values()
            if server.account.status(c, int(server.now.timestamp())) not in ("queued", "absent")}
    landed = dict(con.execute("SELECT campaign_id, count(*) FROM raw.brevo_recipients "
                              "GROUP BY 1").fetchall())
    assert landed == sent and first["campaigns_exported"] == len(sent)
    outcomes = con.execute("SELECT DISTINCT outcome FROM raw.brevo_campaign_pulls").fetchall()
    assert outcomes == [("complete",)]
    expected = server.account.events(int(server.now.timestamp()),
                                      server.now.date() - dt.timedelta(days=29), server.now.date())
    held = con.execute("SELECT count(*) FROM raw.brevo_transactional_events").fetchone()[0]
    assert held == len(expected) > 0
    con.close()
    assert first["requests"] == sum(first["requests_by_kind"].values())

    again = _ingest(server, warehouse)  # nothing changed at Brevo
    assert again["requests_by_kind"] == {"list": 1, "campaign": 0, "export": 0, "process": 0,
                                         "file": 0, "events": 0, "reports": 1}
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.brevo_transactional_events").fetchone()[0] == held
    con.close()


def test_a_stuck_export_is_recorded_incomplete_and_taken_next_run(brevo, tmp_path) -> None:
    import duckdb

    config = _recent_account()
    now = dt.datetime.now(dt.UTC)
    stuck = brevo(BrevoFaults(stuck_exports=frozenset({11})), now=now, config=config)
    warehouse = tmp_path / "warehouse.duckdb"
    first = _ingest(stuck, warehouse)
    assert first["exports_incomplete"] == 1
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT outcome FROM raw.brevo_campaign_pulls WHERE campaign_id = '11'"
                       ).fetchall() == [("incomplete",)]
    assert con.execute("SELECT count(*) FROM raw.brevo_recipients WHERE campaign_id = '11'"
                       ).fetchone()[0] == 0  # nothing partial
    con.close()
    healthy = brevo(now=now, config=config)
    second = _ingest(healthy, warehouse)
    assert second["campaigns_exported"] == 1  # the one left over, and no other
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.brevo_recipients WHERE campaign_id = '11'"
                       ).fetchone()[0] > 0
    con.close()


def test_without_a_key_brevo_is_not_read(tmp_path) -> None:
    assert _ingest(None, tmp_path / "warehouse.duckdb") == {"requests": 0, "configured": False}


# ---- Brevo's webhooks on the receiver ------------------------------------------------------

WEBHOOK_TOKEN = "brevo-webhook-token-0123456789abcdef"


def _webhook(**fields) -> dict:
    return {"id": 26224, "to": "33612345678", "sms_count": 1, "credits_used": 0.6,
            "messageId": 1511882900176220, "remaining_credit": 8871.4, "msg_status": "delivered",
            "date": "2026-01-05 11:21:10", "ts_event": 1767608470, "type": "marketing",
            "reference": {"1": "abc"}, "tag": "", "campaign_id": 12, **fields}


def test_brevo_webhooks_need_the_bearer_token_and_land_once(tmp_path) -> None:
    import base64

    import httpx
    import orjson

    from orchestration.lib.callbacks.receiver import ReceiverThread
    from orchestration.lib.settings import Secret

    landing = tmp_path / "landing"
    path = "/callbacks/brevo/sms"
    bearer = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    basic = {"Authorization": "Basic " + base64.b64encode(
        f"brevo:{WEBHOOK_TOKEN}".encode()).decode()}
    with ReceiverThread(landing, Secret(WEBHOOK_TOKEN)) as running, \
            httpx.Client(base_url=running.url) as http:
        # Unsigned payloads: no token, a wrong one, or Exotel's ?token= are all refused.
        assert http.post(path, json=_webhook()).status_code == 401
        assert http.post(path, json=_webhook(),
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.post(path, json=_webhook(), params={"token": WEBHOOK_TOKEN}).status_code == 401
        assert http.post(path, json=_webhook(), headers=bearer).status_code == 200
        assert http.post(path, json=_webhook(msg_status="soft_bounce"),
                         headers=basic).status_code == 200  # the URL's credentials
        # Brevo retries: the same event again is stored again, and counts once downstream.
        assert http.post(path, json=_webhook(), headers=bearer).status_code == 200
        bad = http.post(path, json=_webhook(msg_status="exploded", ts_event="yesterday"),
                        headers=bearer)
        assert bad.status_code == 400
    lines = [orjson.loads(line) for p in sorted(landing.rglob("*.ndjson"))
             for line in p.read_bytes().splitlines()]
    assert [line["kind"] for line in lines] == ["brevo_sms"] * 4
    assert lines[0]["callback_key"] == lines[2]["callback_key"] != lines[1]["callback_key"]
    assert "msg_status 'exploded' is not one of" in lines[3]["reject_reason"]
    assert "ts_event 'yesterday' is not a time in epoch seconds" in lines[3]["reject_reason"]
    for file in landing.rglob("*"):
        if file.is_file():
            assert WEBHOOK_TOKEN.encode() not in file.read_bytes()
    # Loaded into the warehouse once, whatever number of loads run.
    from orchestration.defs.callbacks.loader import load_callbacks
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.settings import load_settings

    settings = load_settings({"WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}, dotenv_path=None,
                             require_credentials=False)
    with Warehouse(settings).connect() as con:
        raw = Warehouse(settings).raw_writer(con)
        load_callbacks(raw, landing, "run-1")
        load_callbacks(raw, landing, "run-2")
        stored = con.execute("SELECT count(*), count(reject_reason), count(DISTINCT callback_key) "
                             "FROM raw.callbacks WHERE kind = 'brevo_sms'").fetchone()
    assert stored == (4, 1, 3)


# ---- staging: the contract's mapping, on what the ingest landed -------------------------------

# Every event name the contract lists, as the recipients file, the events API and the webhooks
# spell them.
CONTRACT_EVENTS = {
    "sent": "submitted", "accepted": "submitted", "processing": "submitted",
    "delivered": "delivered", "softBounce": "failed", "softBounces": "failed",
    "soft_bounce": "failed", "hardBounce": "failed", "hardBounces": "failed",
    "hard_bounce": "failed", "blocked": "failed", "rejected": "rejected", "skipped": "rejected",
    "replied": "delivered", "replies": "delivered", "reply": "delivered",
    "unsubscribed": "delivered", "unsubscription": "delivered", "unsubscribe": "delivered"}


def test_the_event_seed_maps_every_event_the_contract_names() -> None:
    import csv
    from pathlib import Path

    seed = Path(__file__).resolve().parents[1] / "dbt_project/seeds/brevo_events.csv"
    rows = {r["event"]: r for r in csv.DictReader(seed.open())}
    assert {name.lower(): status for name, status in CONTRACT_EVENTS.items()} == {
        event: row["status"] for event, row in rows.items()}
    assert {e for e, r in rows.items() if r["bounce_type"] == "soft"} == {
        "softbounce", "softbounces", "soft_bounce"}
    assert rows["blocked"]["bounce_type"] == "hard"
    assert rows["reply"]["is_replied"] == "true"
    assert rows["unsubscribe"]["is_unsubscribed"] == "true"


def test_brevo_staging_reads_what_the_ingest_landed(brevo, tmp_path) -> None:
    import subprocess
    import sys
    from collections import Counter

    import duckdb

    from orchestration.defs.dbt.project import dbt_vars
    from orchestration.lib.rules import DBT_PROJECT_DIR
    from orchestration.lib.settings import load_settings

    server = brevo(now=dt.datetime.now(dt.UTC), config=_recent_account())
    warehouse = tmp_path / "warehouse.duckdb"
    _ingest(server, warehouse)
    settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                             require_credentials=False)
    dbt = Path(sys.executable).parent / "dbt"
    built = subprocess.run([str(dbt), "build", "--select", "brevo_events staging.brevo",
                            *dbt_vars(settings)], cwd=DBT_PROJECT_DIR, capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stdout[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    now = int(server.now.timestamp())
    for campaign in server.account.campaigns.values():
        if server.account.status(campaign, now) in ("queued", "absent"):
            continue
        stats = server.account.statistics(campaign, now)
        counts = Counter(dict(con.execute(
            "SELECT status, count(*) FROM staging.stg_brevo__recipients WHERE campaign_id = ? "
            "GROUP BY 1", [str(campaign.id)]).fetchall()))
        assert counts["delivered"] == stats["delivered"]
        assert counts["failed"] == stats["softBounces"] + stats["hardBounces"]
        assert counts["submitted"] == stats["processing"]
    today = server.now.date()
    read = server.account.events(now, today - dt.timedelta(days=29), today)  # the first run's
    states = dict(con.execute("SELECT message_id, status FROM "
                              "staging.stg_brevo__transactional_messages").fetchall())
    assert set(states) == {event["messageId"] for event in read}
    messages = {m.message_id: m for m in server.account.transactional}
    retried = [mid for mid in states
               if [e for e, _, _ in messages[mid].events][-2:] == ["softBounces", "delivered"]
               and messages[mid].events[-1][1] <= now]
    assert retried and all(states[mid] == "delivered" for mid in retried)
    con.close()
