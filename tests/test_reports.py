"""Reports: built from a sandbox warehouse by the daily run and the CLI, opened in a real
headless Chromium (Debian's `chromium`, installed by `make test`).

The account is chosen so that its edge cases are real, not staged: at NOW the last voice
campaign has been created but not started (zero calls), one small SMS campaign delivered every
message (zero failures), and two SMS campaigns are inside their 72-hour receipt window.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.lib.reports import OVERVIEW_FILENAME
from orchestration.lib.reports.campaign_data import CampaignData
from orchestration.lib.reports.campaign_page import report_filename
from orchestration.lib.reports.format import count, duration, local_time, pct
from orchestration.lib.reports.verdict import HEALTHY, INVESTIGATE, NO_DATA, judge
from orchestration.lib.settings import load_settings
from orchestration.runner import run_pipeline
from orchestration.sandbox import AccountConfig, SandboxServer
from orchestration.sandbox.generator import generate_sms, plan_account

# Whole runs (Dagster, dbt, publish): `pytest -m 'not e2e'` leaves them out (README).
pytestmark = pytest.mark.e2e

ACCOUNT = AccountConfig(seed=3, voice_campaigns=3, sms_campaigns=5, voice_contacts=(150, 500),
                        sms_messages=(3, 2500), start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        end=dt.datetime(2026, 1, 12, tzinfo=dt.UTC))
PLANS = plan_account(ACCOUNT)
NOT_STARTED = max((p for p in PLANS if p.channel == "voice"), key=lambda p: p.start_at)
NOW = dt.datetime.fromtimestamp(NOT_STARTED.start_at - 120, dt.UTC)
CLI = [sys.executable, "-m", "orchestration.cli"]
SCREENSHOTS = Path(os.environ.get("REPORT_SCREENSHOTS_DIR",
                                  Path(__file__).resolve().parents[1] / "test-artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]

CAMPAIGN_CHARTS = {"status", "timeline", "heatmap", "errors", "latency"}
SMS_CHARTS = CAMPAIGN_CHARTS | {"bounces"}
VOICE_CHARTS = CAMPAIGN_CHARTS | {"retry-funnel"}
OVERVIEW_CHARTS = {"trend", "time-of-day-sms", "time-of-day-voice", "errors-sms",
                   "errors-voice", "retries"}


def _zero_failure_sms() -> str:
    now = int(NOW.timestamp())
    for plan in PLANS:
        if (plan.channel == "sms" and plan.end_at + 72 * 3600 < now
                and (generate_sms(plan, ACCOUNT).outcome == 0).all()):
            return plan.campaign_id
    raise AssertionError("the test account no longer has a zero-failure SMS campaign")


ZERO_FAILURES = _zero_failure_sms()
LARGEST_SMS = max((p for p in PLANS if p.channel == "sms" and p.start_at < NOW.timestamp()),
                  key=lambda p: p.size).campaign_id


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A daily run (which writes the finalized campaigns' reports), then `report --overview`."""
    tmp = tmp_path_factory.mktemp("reports")
    with SandboxServer(ACCOUNT, now=NOW) as server:
        env = {**os.environ, "EXOTEL_BASE_URL": server.url,
               "EXOTEL_ACCOUNT_SID": server.account_sid, "EXOTEL_API_KEY": server.api_key,
               "EXOTEL_API_TOKEN": server.api_token, "EXOTEL_RATE_LIMIT_PER_MINUTE": "0",
               "WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
               "PUBLISHED_PATH": str(tmp / "published.duckdb")}
        settings = load_settings(env, dotenv_path=None)
        run_pipeline(settings)
        (tmp / "cli").mkdir()
        cli = subprocess.run([*CLI, "report", "--overview", "--out", str(tmp / "cli" /
                                                                       "overview.html")],
                             env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        yield {"tmp": tmp, "env": env, "server": server, "settings": settings, "cli": cli}


def _published(built: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(built["tmp"] / "published.duckdb"), read_only=True)


def _final_campaigns(built: dict[str, Any]) -> set[str]:
    con = _published(built)
    try:
        return {c for (c,) in con.execute(
            "SELECT campaign_id FROM marts.dim_campaigns WHERE is_final").fetchall()}
    finally:
        con.close()


# ---- the daily run and the CLI write the files -------------------------------------------

def test_the_daily_run_writes_a_report_for_each_final_campaign_and_an_overview(built) -> None:
    reports = built["tmp"] / "reports"
    final = _final_campaigns(built)
    assert ZERO_FAILURES in final and len(final) >= 4
    written = {p.name for p in reports.glob("campaign-*.html")}
    assert written == {report_filename(c) for c in final}  # non-final ones wait
    assert (reports / OVERVIEW_FILENAME).exists()


def test_cli_overview_writes_every_listed_campaign_and_links_resolve(built) -> None:
    directory = built["tmp"] / "cli"
    html = (directory / "overview.html").read_text()
    links = [part.split('"', 1)[0] for part in html.split('<a href="')[1:]]
    assert len(links) == len(PLANS) - sum(p.created_at > NOW.timestamp() for p in PLANS)
    assert all((directory / link).exists() for link in links)
    assert "campaign reports beside it" in built["cli"].stdout


def test_cli_report_for_one_campaign_and_its_errors(built) -> None:
    out = built["tmp"] / "one.html"
    result = subprocess.run([*CLI, "report", "--campaign", LARGEST_SMS, "--out", str(out)],
                            env=built["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.exists() and str(out) in result.stdout
    unknown = subprocess.run([*CLI, "report", "--campaign", "camp_nope"], env=built["env"],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "unknown campaign 'camp_nope'" in unknown.stderr
    both = subprocess.run([*CLI, "report", "--campaign", LARGEST_SMS, "--from", "2026-01-01"],
                          env=built["env"], capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and "--overview" in both.stderr


def test_overview_date_range_selects_campaigns_by_local_start_day(built) -> None:
    out = built["tmp"] / "range" / "overview.html"
    out.parent.mkdir()
    result = subprocess.run([*CLI, "report", "--overview", "--from", "2026-01-05", "--to",
                             "2026-01-06", "--no-campaign-reports", "--out", str(out)],
                            env=built["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    con = _published(built)
    try:
        names = {n for (n,) in con.execute("""
            SELECT campaign_name FROM marts.dim_campaigns
            WHERE started_at_local::DATE BETWEEN '2026-01-05' AND '2026-01-06'""").fetchall()}
        others = {n for (n,) in con.execute("""
            SELECT campaign_name FROM marts.dim_campaigns
            WHERE NOT coalesce(started_at_local::DATE BETWEEN '2026-01-05' AND '2026-01-06',
                               false)""").fetchall()}
        # Open alerts show whatever the range (a range must not hide them): their campaigns
        # may be named there.
        alerted = {n for (n,) in con.execute(
            "SELECT campaign_name FROM marts.alerts WHERE resolved_at IS NULL").fetchall()}
    finally:
        con.close()
    html = out.read_text()
    assert names and all(n in html for n in names)
    without_alerts = re.sub(r'<section id="alerts">.*?</section>', "", html, flags=re.S)
    assert not any(f">{n}<" in without_alerts for n in others - names)
    assert not any(f">{n}<" in html for n in others - names - alerted)
    assert not list(out.parent.glob("campaign-*.html"))


def test_a_report_is_self_contained(built) -> None:
    html = (built["tmp"] / "cli" / report_filename(LARGEST_SMS)).read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for external in ('src="http', "src='http", 'href="http', "@import", "url("):
        assert external not in html


# ---- what the browser shows --------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium "
                    "(apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def _open(browser, path: Path, shot: str) -> tuple[Any, list[str]]:
    """Load a report from disk, recording console errors, page errors and any request that
    is not the file itself; write a full-page screenshot."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}")
            if not r.url.startswith("file://") else None)
    page.goto(path.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
    return page, problems


def _charts(page) -> dict[str, dict[str, Any]]:
    """Per chart: whether it is the empty-state sentence, how many data marks were drawn and
    their total painted area (a mark of zero size draws nothing)."""
    return page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('figure.chart')).map(f => {
            const marks = Array.from(f.querySelectorAll('.mark'));
            const area = marks.reduce((sum, m) => {
                const box = m.getBoundingClientRect(); return sum + box.width * box.height;
            }, 0);
            const empty = f.querySelector('.empty');
            return [f.dataset.chart, {empty: f.dataset.empty === 'true', marks: marks.length,
                    area: area, emptyText: empty ? empty.innerText : null,
                    visible: f.getBoundingClientRect().height > 0}];
        }))""")


def _assert_drawn(charts: dict[str, dict[str, Any]], expected: set[str]) -> None:
    assert set(charts) == expected
    for name, chart in charts.items():
        assert chart["visible"], name
        assert not chart["empty"] and chart["marks"] > 0 and chart["area"] > 0, (name, chart)


def test_sms_campaign_report_in_chromium(built, browser) -> None:
    page, problems = _open(browser, built["tmp"] / "cli" / report_filename(LARGEST_SMS),
                           "campaign-sms")
    assert problems == []
    _assert_drawn(_charts(page), SMS_CHARTS)
    con = _published(built)
    try:
        total, delivered, rate, rejected = con.execute("""
            SELECT messages_total, messages_delivered, delivery_rate, messages_rejected
            FROM marts.sms_campaign_performance WHERE campaign_id = ?""",
                                                       [LARGEST_SMS]).fetchall()[0]
    finally:
        con.close()
    cards = page.inner_text(".cards")
    assert count(total) in cards and count(delivered) in cards and count(rejected) in cards
    assert f"{pct(rate)} of submitted" in cards
    assert page.inner_text("#verdict") and "delivery" in page.inner_text("#verdict").lower()
    assert page.locator("#error-table tbody tr").count() >= 2
    # Donut slices add up to the campaign's messages.
    slices = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-chart=status] .mark')).reduce((s, m) => s + Number(m.dataset.value), 0)""")
    assert slices == total
    page.close()


def test_voice_campaign_report_in_chromium(built, browser) -> None:
    final_voice = [p.campaign_id for p in PLANS
                   if p.channel == "voice" and p.campaign_id in _final_campaigns(built)]
    page, problems = _open(browser, built["tmp"] / "cli" / report_filename(final_voice[0]),
                           "campaign-voice")
    assert problems == []
    _assert_drawn(_charts(page), VOICE_CHARTS)
    assert "1st attempt" in page.inner_text("#retries")
    page.close()


def test_overview_in_chromium_sorts_its_campaign_table(built, browser) -> None:
    page, problems = _open(browser, built["tmp"] / "cli" / "overview.html", "overview")
    assert problems == []
    _assert_drawn(_charts(page), OVERVIEW_CHARTS)
    header = page.locator("#campaign-table th", has_text="Volume")
    column = ("() => Array.from(document.querySelectorAll('#campaign-table tbody tr'))"
              ".map(r => Number(r.cells[4].dataset.sort))")
    header.click()
    ascending = page.evaluate(column)
    assert ascending == sorted(ascending) and len(set(ascending)) > 1
    header.click()
    assert page.evaluate(column) == sorted(ascending, reverse=True)
    page.close()


def test_zero_failure_campaign_renders_in_chromium(built, browser) -> None:
    page, problems = _open(browser, built["tmp"] / "cli" / report_filename(ZERO_FAILURES),
                           "campaign-zero-failures")
    assert problems == []
    charts = _charts(page)
    assert charts["errors"]["empty"] and "No failures" in charts["errors"]["emptyText"]
    _assert_drawn({k: v for k, v in charts.items() if k != "errors"}, SMS_CHARTS - {"errors"})
    assert "healthy" in page.inner_text("#verdict").lower()
    page.close()


def test_zero_message_campaign_renders_in_chromium(built, browser) -> None:
    page, problems = _open(browser, built["tmp"] / "cli" / report_filename(
        NOT_STARTED.campaign_id), "campaign-zero-messages")
    assert problems == []
    charts = _charts(page)
    assert set(charts) == VOICE_CHARTS
    assert all(c["empty"] and c["emptyText"] for c in charts.values()), charts
    assert "no data" in page.inner_text("#verdict").lower()
    assert "has not started yet" in page.inner_text("#pending-note")
    assert "No calls yet" in charts["errors"]["emptyText"]
    page.close()


def test_pending_campaign_says_receipts_may_still_arrive(built) -> None:
    """Inside its 72-hour window, a campaign still waiting on receipts says so; one whose every
    message already has its outcome is final (nothing can change) and says nothing of the kind."""
    now = NOW.timestamp()
    in_window = [p for p in PLANS if p.channel == "sms" and p.end_at <= now < p.end_at + 72 * 3600]
    waiting = [p for p in in_window if generate_sms(p, ACCOUNT).final_at.max() > now]
    assert waiting
    note = "delivery receipts can arrive up to 72 hours after a campaign ends"
    for plan in in_window:
        html = (built["tmp"] / "cli" / report_filename(plan.campaign_id)).read_text()
        assert (note in html) == (plan in waiting)


# ---- pure helpers ---------------------------------------------------------------------------

def test_numbers_and_times_are_formatted_for_people() -> None:
    from zoneinfo import ZoneInfo

    assert count(1234567) == "1,234,567" and count(None) == "—"
    assert pct(0.97555) == "97.6%" and pct(None) == "—" and pct(0.0) == "0.0%"
    assert duration(7) == "7 s" and duration(125) == "2 min 5 s" and duration(3600) == "1 h"
    assert duration(93784) == "1 d 2 h"
    moment = dt.datetime(2026, 11, 18, 4, 4, tzinfo=dt.UTC)
    assert local_time(moment, ZoneInfo("Asia/Kolkata")) == "Wed 18 Nov 2026, 09:34 IST"


def _sms(delivered: int, failed: int, rejected: int, errors: list[tuple[str, str, int, str]]
         ) -> CampaignData:
    submitted = delivered + failed
    total = submitted + rejected
    return CampaignData(
        meta={"campaign_id": "sms_camp_x", "channel": "sms"},
        performance={"messages_total": total, "messages_submitted": submitted,
                     "messages_rejected": rejected, "delivery_rate": delivered / submitted,
                     "rejection_rate": rejected / total, "failure_rate": failed / submitted,
                     "effective_reach": delivered / total},
        errors=[{"error_category": c, "error_code": code, "failures": n,
                 "recommended_action": action} for c, code, n, action in errors])


def test_the_verdict_names_the_top_cause_and_its_fix() -> None:
    # Seed 000's error table: 250 failures, 48% DND.
    report = _sms(2200, 220, 30, [
        ("dnd_block", "FAILED_DND", 120, "Pre-filter DND numbers"),
        ("invalid_number", "FAILED_INVALID_NUMBER", 75, "Improve number validation"),
        ("network_failure", "FAILED_OPERATOR", 35, "Temporary; no action needed"),
        ("dlt_rejection", "DLT_TEMPLATE_MISMATCH", 20, "Review template alignment"),
    ])
    verdict = judge(report)
    assert verdict.level == INVESTIGATE
    assert verdict.sentence == (
        "Investigate: failure 9.1% is at or above 8%. 48.0% of the 250 failures and rejections are "
        "DND blocks — pre-filter DND numbers.")


def test_verdict_levels_follow_the_seed_ranges() -> None:
    low = _sms(880, 120, 10, [("dnd_block", "FAILED_DND", 130, "Pre-filter DND numbers")])
    assert judge(low).level == INVESTIGATE
    assert judge(low).sentence.startswith("Investigate: delivery 88.0% is below 90%")
    clean = _sms(1000, 0, 0, [])
    assert judge(clean).level == HEALTHY and "no failures or rejections" in judge(clean).sentence
    empty = CampaignData(meta={"campaign_id": "c", "channel": "voice"},
                         performance={"contacts": 0})
    assert judge(empty).level == NO_DATA


# ---- last: this one moves the sandbox clock on ---------------------------------------------

def test_the_next_run_writes_only_the_campaigns_it_finalized(built) -> None:
    reports = built["tmp"] / "reports"
    before = {p.name: p.stat().st_mtime_ns for p in reports.glob("campaign-*.html")}
    final_before = _final_campaigns(built)
    built["server"].clock.advance(4 * 24 * 3600)  # receipts land; the waiting campaigns end
    run_pipeline(built["settings"])
    finalized = _final_campaigns(built) - final_before
    assert finalized, "advancing the clock four days should finalize the pending campaigns"
    after = {p.name: p.stat().st_mtime_ns for p in reports.glob("campaign-*.html")}
    assert set(after) - set(before) == {report_filename(c) for c in finalized}
    assert all(after[name] == mtime for name, mtime in before.items())  # written once


def test_a_canceled_campaign_is_not_running_and_a_voice_report_speaks_of_calls() -> None:
    """Seed 001: "canceled | Terminal | Call was cancelled before connecting (campaign paused or
    force-completed)": an ended campaign, not a running one; and voice has no delivery
    receipts."""
    from zoneinfo import ZoneInfo

    from orchestration.lib.reports.campaign_page import ReportContext, _pending_note

    ended = dt.datetime(2026, 1, 10, 6, 0, tzinfo=dt.UTC)
    ctx = ReportContext(zone=ZoneInfo("Asia/Kolkata"), generated_at=ended, source="test",
                        finalization_hours=72, published_at=ended)
    meta = {"campaign_id": "camp_1", "campaign_status": "Canceled", "ended_at": ended,
            "started_at": ended - dt.timedelta(hours=2), "last_pulled_at": ended,
            "is_final": False}
    voice = _pending_note(CampaignData(meta={**meta, "channel": "voice"},
                                       performance={"contacts_pending": 0}), ctx)
    assert "still running" not in voice and "delivery receipt" not in voice
    assert "status Canceled" in voice and "call records" in voice
    sms = _pending_note(CampaignData(meta={**meta, "channel": "sms"},
                                     performance={"messages_pending": 3}), ctx)
    assert "delivery receipts can arrive up to 72 hours" in sms and "3 messages" in sms
