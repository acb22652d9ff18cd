"""The provider seam (issue 27): Brevo's SMS in the same marts as Exotel's, keyed by (provider,
campaign_id), built by a real `dbt build` from what the real Brevo sandbox served."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from orchestration.sandbox.brevo import BrevoAccountConfig, BrevoSandbox

ROOT = Path(__file__).resolve().parents[1]


def _ingest(server: BrevoSandbox, warehouse: Path) -> None:
    import dagster as dg

    from orchestration.defs.brevo.assets import brevo_ingest
    from orchestration.defs.resources import resources_for
    from orchestration.lib.settings import load_settings

    settings = load_settings({"WAREHOUSE_PATH": str(warehouse), "BREVO_EXPORT_WAIT_SECONDS": "3",
                              **server.environment()}, dotenv_path=None, require_credentials=False)
    assert dg.materialize([brevo_ingest], resources=resources_for(settings)).success


def _build(warehouse: Path, env: dict[str, str] | None = None) -> None:
    from orchestration.defs.dbt.project import dbt_vars
    from orchestration.lib.rules import DBT_PROJECT_DIR
    from orchestration.lib.settings import load_settings

    settings = load_settings({"WAREHOUSE_PATH": str(warehouse), **(env or {})}, dotenv_path=None,
                             require_credentials=False)
    built = subprocess.run([str(Path(sys.executable).parent / "dbt"), "build",
                            *dbt_vars(settings)], cwd=DBT_PROJECT_DIR, capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stdout[-4000:]


@pytest.fixture(scope="module")
def brevo_marts(tmp_path_factory):
    """A warehouse holding one Brevo account (4 campaigns over 10 days, transactional traffic
    every day), built whole: (the sandbox's account at its clock, the warehouse)."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = BrevoAccountConfig(seed=4, campaigns=4, recipients=(30, 90),
                                transactional_per_day=(20, 40),
                                start=today - dt.timedelta(days=10), end=today)
    warehouse = tmp_path_factory.mktemp("providers") / "warehouse.duckdb"
    with BrevoSandbox(config, now=dt.datetime.now(dt.UTC)).start() as server:
        _ingest(server, warehouse)
        _build(warehouse, {"BREVO_CREDIT_PRICE": "0.05"})
        yield server, warehouse


def test_brevo_campaigns_have_the_same_figures_brevo_reports(brevo_marts) -> None:
    server, warehouse = brevo_marts
    now = int(server.now.timestamp())
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT campaign_id, campaign_status, messages_total, messages_delivered, "
        "messages_pending, soft_bounces, hard_bounces, recipients_unsubscribed, "
        "recipients_replied, is_reconciled, traffic_kind FROM marts.sms_campaign_performance "
        "WHERE provider = 'brevo' AND traffic_kind = 'campaign'").fetchall()}
    expected = {}
    for campaign in server.account.campaigns.values():
        status = server.account.status(campaign, now)
        if status == "absent":
            continue
        stats = server.account.statistics(campaign, now)
        expected[str(campaign.id)] = (
            status, stats["sent"], stats["delivered"], stats["processing"], stats["softBounces"],
            stats["hardBounces"], stats["unsubscriptions"], stats["answered"])
    assert set(rows) == set(expected)
    for campaign_id, figures in expected.items():
        assert rows[campaign_id][:8] == figures, campaign_id
        # every campaign that sent reconciles with Brevo's statistics; a queued one sent none
        assert rows[campaign_id][8] is True or figures[0] == "queued"
    # an export gives no message its send time: no delivery latency without a webhook's `sent`
    latencies = con.execute(
        "SELECT count(*), count(delivery_latency_seconds) FROM marts.fct_sms_messages "
        "WHERE provider = 'brevo' AND traffic_kind = 'campaign' AND is_delivered").fetchone()
    assert latencies[0] > 0 and latencies[1] == 0
    keys = con.execute("SELECT provider, campaign_id, list_ids FROM marts.dim_campaigns "
                       "WHERE provider = 'brevo' AND traffic_kind = 'campaign'").fetchall()
    assert {k[1] for k in keys} == set(expected) and all(k[2] for k in keys)
    con.close()


def test_transactional_traffic_reads_like_campaigns_by_tag_and_day(brevo_marts) -> None:
    from orchestration.lib.settings import load_settings

    server, warehouse = brevo_marts
    con = duckdb.connect(str(warehouse), read_only=True)
    per_campaign = dict(con.execute(
        "SELECT campaign_id, messages_total FROM marts.sms_campaign_performance "
        "WHERE provider = 'brevo' AND traffic_kind = 'transactional'").fetchall())
    states = dict(con.execute("SELECT message_id, status FROM "
                              "staging.stg_brevo__transactional_messages").fetchall())
    messages = {m.message_id: m for m in server.account.transactional if m.message_id in states}
    zone = ZoneInfo(load_settings({}, dotenv_path=None, require_credentials=False)
                    .account_timezone)  # days are the account's
    expected: dict[str, int] = {}
    for message in messages.values():
        first = dt.datetime.fromtimestamp(message.events[0][1], zone)
        key = f"transactional.{message.tag}.{first.date().isoformat()}"
        expected[key] = expected.get(key, 0) + 1
    assert per_campaign == expected
    # a soft bounce Brevo retried into a delivery is delivered, in the fact too
    retried = [m.message_id for m in messages.values()
               if [e for e, _, _ in m.events][-2:] == ["softBounces", "delivered"]
               and m.events[-1][1] <= int(server.now.timestamp())]
    facts = dict(con.execute("SELECT sms_sid, status FROM marts.fct_sms_messages "
                             "WHERE provider = 'brevo' AND traffic_kind = 'transactional'"
                             ).fetchall())
    assert retried and all(facts[m] == "delivered" for m in retried)
    con.close()


def test_bounce_reasons_get_exotels_categories_and_brevos_actions(brevo_marts) -> None:
    _, warehouse = brevo_marts
    con = duckdb.connect(str(warehouse), read_only=True)
    failures = con.execute(
        "SELECT error_code, error_category, bounce_type, is_failed FROM marts.fct_sms_messages "
        "WHERE provider = 'brevo' AND (is_failed OR is_rejected)").fetchall()
    assert failures
    categories = {r[0] for r in con.execute(
        "SELECT DISTINCT error_category FROM marts.dim_error_codes "
        "WHERE code_type <> 'bounce_reason' AND channel = 'sms'").fetchall()}
    for code, category, bounce, failed in failures:
        assert code is not None and code.startswith("BREVO_"), code
        assert category in categories | {"handset_off"}
        # a bounce has its type from the event; a refusal before sending is none
        assert bounce in (("soft", "hard") if failed else (None,))
    actions = con.execute(
        "SELECT count(*), count(recommended_action) FROM marts.error_distribution "
        "WHERE provider = 'brevo'").fetchone()
    assert actions[0] > 0 and actions[0] == actions[1]
    con.close()


def test_provider_comparison_places_brevo_by_country_and_week(brevo_marts) -> None:
    _, warehouse = brevo_marts
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        "SELECT destination_country, calling_code, sum(messages_total), "
        "sum(messages_delivered), min(week_start) FROM marts.provider_comparison "
        "WHERE provider = 'brevo' GROUP BY ALL").fetchall()
    total = con.execute("SELECT count(*), count(*) FILTER (WHERE is_delivered) "
                        "FROM marts.fct_sms_messages WHERE provider = 'brevo'").fetchone()
    # the sandbox sends to France, and one message in five to India
    assert sorted((r[0], r[1]) for r in rows) == [("FR", "+33"), ("IN", "+91")]
    assert (sum(r[2] for r in rows), sum(r[3] for r in rows)) == total
    assert all(r[4].isoweekday() == 1 for r in rows)  # weeks start on Monday
    costs = con.execute("SELECT count(*), count(total_cost), count(cost_per_delivered_in_currency) "
                        "FROM marts.provider_comparison WHERE provider = 'brevo'").fetchone()
    assert costs[0] > 0 and costs[1:] == (0, 0)  # no webhook yet: no credits, so no cost
    con.close()


def test_the_country_seed_is_phonenumbers_metadata() -> None:
    import phonenumbers

    seed = ROOT / "dbt_project/seeds/country_calling_codes.csv"
    with seed.open() as handle:
        held = {row["calling_code"]: row["country"] for row in csv.DictReader(handle)}
    expected = {str(code): ("" if regions[0] == "001" else regions[0])
                for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()}
    assert held == expected


def test_derived_tables_of_an_older_layout_are_rebuilt_once(tmp_path) -> None:
    """A warehouse built before every table carried `provider`: its incremental tables would
    keep NULL providers on their old rows, so the next build rebuilds them from raw, once."""
    from orchestration.lib.derived_layout import needs_full_rebuild, record_layout

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    assert not needs_full_rebuild(con)  # nothing derived yet: the build makes it whole
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.int_sms_messages_classified (campaign_id VARCHAR)")
    assert needs_full_rebuild(con)  # built by the previous version, which recorded nothing
    record_layout(con)
    assert not needs_full_rebuild(con)
    con.close()


def test_webhooks_merge_with_the_pulls_newest_wins_each_counted_once(tmp_path) -> None:
    """Brevo's webhooks on the real receiver, pushed for the 80 hours after a pull (some twice,
    some out of order): every campaign then shows what Brevo reports at the end, each message
    once, and the credits the webhooks carried price it."""
    from orchestration.defs.callbacks.loader import load_callbacks
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.lib.callbacks.receiver import ReceiverThread
    from orchestration.lib.settings import Secret, load_settings
    from orchestration.sandbox.brevo_push import BrevoWebhookPusher
    from orchestration.sandbox.push import PushFaults

    # The pull 81 hours ago, its webhooks since (the receiver refuses times ahead of its clock);
    # campaigns start before and after it.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=81)
    config = BrevoAccountConfig(seed=9, campaigns=3, recipients=(40, 80),
                                transactional_per_day=(10, 20),
                                start=now - dt.timedelta(days=3), end=now + dt.timedelta(days=2))
    warehouse, landing, token = tmp_path / "warehouse.duckdb", tmp_path / "landing", "t" * 24
    later = int(now.timestamp()) + 80 * 3600  # every soft bounce's 72 hours have passed
    with BrevoSandbox(config, now=now).start() as server:
        _ingest(server, warehouse)
        with ReceiverThread(landing, Secret(token)) as receiver:
            pushed = BrevoWebhookPusher(server, receiver.url, token, faults=PushFaults(
                duplicate_share=0.3, out_of_order_share=0.3), seed=1).push(
                int(now.timestamp()), later)
        assert pushed.accepted == pushed.sent > pushed.events > 0  # duplicates included
        settings = load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None,
                                 require_credentials=False)
        with Warehouse(settings).connect() as con:
            load_callbacks(Warehouse(settings).raw_writer(con), landing, "run-webhooks")
        _build(warehouse, {"BREVO_CREDIT_PRICE": "0.05"})
        account = server.account
    con = duckdb.connect(str(warehouse), read_only=True)
    figures = {r[0]: r[1:] for r in con.execute(
        "SELECT campaign_id, messages_total, messages_delivered, soft_bounces, hard_bounces, "
        "messages_pending, recipients_unsubscribed, recipients_replied "
        "FROM marts.sms_campaign_performance WHERE provider = 'brevo' "
        "AND traffic_kind = 'campaign'").fetchall()}
    for campaign in account.campaigns.values():
        stats = account.statistics(campaign, later)
        if stats["sent"] == 0:
            continue
        assert figures[str(campaign.id)] == (
            stats["sent"], stats["delivered"], stats["softBounces"], stats["hardBounces"],
            stats["processing"], stats["unsubscriptions"], stats["answered"]), campaign.id
    duplicates = con.execute(
        "SELECT count(*) - count(DISTINCT sms_sid) FROM marts.fct_sms_messages "
        "WHERE provider = 'brevo'").fetchone()[0]
    assert duplicates == 0
    sources = dict(con.execute("SELECT status_source, count(*) FROM marts.fct_sms_messages "
                               "WHERE provider = 'brevo' GROUP BY 1").fetchall())
    assert sources.get("callback", 0) > 0
    priced = con.execute("SELECT sum(total_cost), sum(total_cost_in_currency) FROM "
                         "marts.provider_comparison WHERE provider = 'brevo'").fetchone()
    assert priced[0] > 0 and float(priced[1]) == pytest.approx(float(priced[0]) * 0.05, abs=0.01)
    # a bounce only a webhook has told (no reason yet) still has a code, its category and action
    unmapped = con.execute(
        "SELECT count(*) FROM marts.fct_sms_messages AS m LEFT JOIN marts.dim_error_codes AS c "
        "ON m.error_code = c.code WHERE m.provider = 'brevo' AND (m.is_failed OR m.is_rejected) "
        "AND c.code IS NULL").fetchone()[0]
    assert unmapped == 0
    # a webhook's `sent` gives the message its send time, so its delivery latency is known
    latency = con.execute(
        "SELECT count(delivery_latency_seconds), min(delivery_latency_seconds) "
        "FROM marts.fct_sms_messages WHERE provider = 'brevo' AND traffic_kind = 'campaign' "
        "AND is_delivered").fetchone()
    assert latency[0] > 0 and latency[1] >= 0
    history = con.execute("SELECT count(*) FROM marts.sms_status_history WHERE provider = "
                          "'brevo' AND source = 'callback:brevo_sms'").fetchone()[0]
    assert history > 0
    con.close()


# ---- which providers run: the credentials set ------------------------------------------------

CLI = [sys.executable, "-m", "orchestration.cli"]
CREDENTIALS = ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "BREVO_API_KEY",
               "BREVO_BASE_URL")


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    return subprocess.run([*CLI, *args], env={**clean, **env}, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _one_line(result: subprocess.CompletedProcess[str], names: str) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and names in lines[0], result.stderr
    return lines[0]


def test_a_run_with_no_provider_names_every_variable_in_one_line(tmp_path) -> None:
    result = _cli("sync", env={"WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}, cwd=tmp_path)
    _one_line(result, "BREVO_API_KEY")
    # a Dagster home that does not exist is a mistake named in one line, not a traceback
    missing = _cli("sync", env={"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
                                "BREVO_API_KEY": "k", "DAGSTER_HOME": str(tmp_path / "nope")},
                   cwd=tmp_path)
    assert "mkdir -p" in _one_line(missing, "DAGSTER_HOME")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    for name in ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "BREVO_API_KEY"):
        assert name in lines[0]
    assert not (tmp_path / "w.duckdb").exists()


def test_brevo_alone_syncs_and_status_shows_its_requests_and_budget(tmp_path) -> None:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = BrevoAccountConfig(seed=5, campaigns=3, recipients=(120, 200),
                                transactional_per_day=(5, 10),
                                start=today - dt.timedelta(days=6), end=today)
    env = {"WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
           "PUBLISHED_PATH": str(tmp_path / "published.duckdb"),
           "BREVO_EXPORT_WAIT_SECONDS": "5"}
    with BrevoSandbox(config, now=dt.datetime.now(dt.UTC)).start() as server:
        synced = _cli("sync", env={**env, **server.environment()}, cwd=tmp_path)
        assert synced.returncode == 0, synced.stderr[-3000:]
        assert "Checking the API" not in synced.stdout  # no Exotel call without its keys
        assert "Providers: Brevo" in synced.stdout
        spent = server.stats.requests
    assert "no EXOTEL_* credentials: Exotel sms not read" in synced.stderr
    # the suspended campaign is told whichever is latest
    assert "brevo_campaign_suspended_" in synced.stdout
    status = _cli("status", "--published", env["PUBLISHED_PATH"], env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "brevo     brevo_sms" in status.stdout
    budget = [line for line in status.stdout.splitlines() if "request budget" in line]
    # the window is what Brevo's headers said at the end (the export files are not counted in
    # it; the run's requests are)
    assert len(budget) == 1 and f"leaving {100 - spent} of 100" in budget[0]
    con = duckdb.connect(env["PUBLISHED_PATH"], read_only=True)
    providers = dict(con.execute("SELECT provider, count(*) FROM marts.sms_campaign_performance "
                                 "GROUP BY 1").fetchall())
    con.close()
    assert set(providers) == {"brevo"} and providers["brevo"] > 3
