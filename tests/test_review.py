"""The review of a new user's and an analyst's paths (issue 25): wrong numbers, a disk that
fills, formula injection, hostile callbacks and the errors users hit. Each test failed on the
code before the fix."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import pytest

from orchestration.defs.warehouse.raw import RAW_DDL
from orchestration.lib.audience.contacts import load_contacts
from orchestration.lib.audience.conversions import load_conversions
from orchestration.lib.settings import ConfigError, Secret
from orchestration.sandbox import AccountConfig
from orchestration.sandbox.audience import sandbox_contacts
from orchestration.sandbox.generator import plan_account

ACCOUNT = AccountConfig(seed=5, voice_campaigns=2, sms_campaigns=2, voice_contacts=(150, 300),
                        sms_messages=(400, 800), dlt_problem_campaigns=(1,),
                        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        end=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))
FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT_LIST = "<script>alert(1)</script>"
IMG_TAG = "<img src=x onerror=alert(1)>"
SMS_CREDIT_PRICE = 0.25


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(RAW_DDL)
    return con


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`campaign-analytics ARGS` in this process (exit code, stdout, stderr), with `env` set."""
    from orchestration.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's own exit, on a usage error
                code = stop.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


# ---- 1. decimal-comma amounts ----------------------------------------------------------------

def test_decimal_comma_amounts_are_read_as_the_file_writes_them(tmp_path: Path) -> None:
    semicolons = tmp_path / "excel-de.csv"
    semicolons.write_text("phone;amount;currency;occurred_at\n"
                          "+919876543210;1234,56;INR;2026-01-01 10:00\n"
                          "+919876543211;2,5;INR;2026-01-01 10:00\n"
                          "+919876543212;1.234,56;INR;2026-01-01 10:00\n"
                          "+919876543213;12;INR;2026-01-01 10:00\n")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("phone,amount,currency,occurred_at\n"
                     '+919876543220,"1,234.56",INR,2026-01-02 10:00\n'
                     '+919876543221,"2,5",INR,2026-01-02 10:00\n'
                     '+919876543222,"1,234",INR,2026-01-02 10:00\n'
                     "+919876543223,abc,INR,2026-01-02 10:00\n")
    with _warehouse(tmp_path / "w.duckdb") as con:
        first = load_conversions(con, semicolons, region="IN", timezone="Asia/Kolkata")
        assert (first.loaded, first.rejected, first.decimal_mark) == (4, 0, "comma")
        second = load_conversions(con, mixed, region="IN", timezone="Asia/Kolkata")
        amounts = dict(con.execute("SELECT phone, amount::DOUBLE FROM raw.conversions"
                                   ).fetchall())
        reasons = dict(con.execute("SELECT row_number, reason FROM raw.rejected_conversions"
                                   ).fetchall())
    assert [amounts[f"+91987654321{i}"] for i in range(4)] == [
        pytest.approx(1234.56), pytest.approx(2.5), pytest.approx(1234.56), 12]
    # Both conventions in one column: each value one of them alone reads is read, and the
    # value either could read (1,234) is rejected rather than guessed.
    assert second.decimal_mark == "mixed"
    assert amounts["+919876543220"] == pytest.approx(1234.56)
    assert amounts["+919876543221"] == pytest.approx(2.5)
    assert "ambiguous" in reasons[3] and reasons[4] == "amount is not a number"
    assert "decimal comma" in first.summary and "1 conversion loaded" not in first.summary


# ---- 3. an identical file is unchanged ---------------------------------------------------------

@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_reloading_an_identical_file_changes_nothing(tmp_path: Path, suffix: str) -> None:
    rows = pd.DataFrame({"phone": ["+919876543210", "+919876543211"], "name": ["A", "B"],
                         "City": ["", "Pune"], "Note": ["x", ""]})
    path = tmp_path / f"contacts.{suffix}"
    rows.to_csv(path, index=False) if suffix == "csv" else rows.to_excel(path, index=False)
    with _warehouse(tmp_path / "w.duckdb") as con:
        counts = [(load.new_contacts, load.changed_contacts, load.unchanged_contacts)
                  for load in (load_contacts(con, path, region="IN") for _ in range(3))]
    assert counts == [(2, 0, 0), (0, 0, 2), (0, 0, 2)]


# ---- 7. tags split on the documented separators, quoted values whole ------------------------

def test_tags_and_lists_split_only_on_their_separators(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    pd.DataFrame({"phone": ["+919876543210"], "tags": [f'{FORMULA};vip|"north, east"'],
                  "lists": ["A,B"]}).to_csv(path, index=False)
    with _warehouse(tmp_path / "w.duckdb") as con:
        load_contacts(con, path, region="IN")
        tags, lists = con.execute("SELECT tags, lists FROM raw.contact_versions").fetchone()
    assert sorted(tags) == sorted([FORMULA, "vip", "north, east"])
    assert lists == ["A", "B"]


def test_export_cells_that_start_like_formulas_are_neutralised() -> None:
    from orchestration.lib.cells import safe_cell

    assert safe_cell(FORMULA) == "'" + FORMULA
    assert [safe_cell(v) for v in ("+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx")] == [
        "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert safe_cell("+919876543210") == "+919876543210"  # a phone number stays E.164
    assert safe_cell("+91******3210") == "+91******3210"
    assert safe_cell(-5) == -5 and safe_cell(2.5) == 2.5  # numbers stay numbers
    assert safe_cell("Bad\x01Name\x1b[31m") == "BadName[31m"


# ---- 12-15, 21. a user's file: every failure is one line that names the fix -----------------

def test_user_file_problems_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "bad.csv").write_bytes(b"phone,name\n+919876543210,Jos\x81\x8d\n")
    env = {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
           "PUBLISHED_PATH": str(tmp_path / "p.duckdb")}
    expected = {
        "fake.xlsx": "is not an Excel workbook this can read",
        "empty.csv": "is empty: it needs a header row",
        "folder.csv": "is a folder: give the path of a .csv",
        "bad.csv": "is not UTF-8 (nor Windows-1252",
    }
    for name, words in expected.items():
        for command in ("contacts", "conversions"):
            code, _, err = cli(command, "load", str(tmp_path / name), "--no-build", env=env)
            assert code == 2, (name, err)
            assert len(err.strip().splitlines()) == 1 and words in err, (name, err)
    code, _, err = cli("status", "--bogus")
    assert code == 2 and "see `campaign-analytics status --help`" in err


def test_excel_files_load_as_excel_writes_them(tmp_path: Path) -> None:
    """A row missing its trailing field, Windows-1252 text, scientific notation."""
    short = tmp_path / "short.csv"
    short.write_text("phone,name\n+919876543210,A\n+919876543211\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,name\n+919876543212,José\n".encode("cp1252"))
    scientific = tmp_path / "scientific.csv"
    scientific.write_text("phone,name\n9.16002821260E+11,Whole\n9.19876E+11,Lost\n")
    with _warehouse(tmp_path / "w.duckdb") as con:
        for path in (short, latin, scientific):
            load_contacts(con, path, region="IN")
        names = dict(con.execute("SELECT phone, name FROM raw.contact_versions").fetchall())
        rejected = con.execute("SELECT row_number, reason, record FROM raw.rejected_contacts"
                               ).fetchall()
    assert names == {"+919876543210": "A", "+919876543211": None, "+919876543212": "José",
                     "+916002821260": "Whole"}
    assert [(row, reason[:30]) for row, reason, _ in rejected] == [
        (2, "written in scientific notation")]
    assert "format the column as Text" in rejected[0][1]
    # `recipient 9.16009310695E+11`, pasted from a spreadsheet, is looked up as the number.
    from orchestration.lib.audience.numbers import unscientific

    assert unscientific("9.16009310695E+11") == "916009310695"
    assert unscientific("9.19876E+11") == "9.19876E+11"  # digits lost: not guessed


def test_a_rejected_row_keeps_the_whole_row_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("phone,name,lists,Segment\n+919876543210,A,L1,gold\nnot a number,B,L2,"
                    "silver\n")
    with _warehouse(tmp_path / "w.duckdb") as con:
        loaded = load_contacts(con, path, region="IN")
        record = con.execute("SELECT record::VARCHAR FROM raw.rejected_contacts").fetchone()[0]
    assert '"lists":"L2"' in record and '"Segment":"silver"' in record
    assert "ops.rejected_file_rows" in loaded.summary


# ---- 9-11. the receiver against hostile callbacks --------------------------------------------

def test_the_receiver_refuses_deep_json_future_times_and_two_tokens(tmp_path: Path) -> None:
    from orchestration.lib.callbacks.receiver import ReceiverThread

    token = "t" * 24
    with ReceiverThread(tmp_path / "landing", Secret(token)) as receiver, \
            httpx.Client(base_url=receiver.url) as client:
        deep = '{"SmsSid": "a1", "Status": "delivered", "x": ' + "[" * 600 + "]" * 600 + "}"
        answer = client.post(f"/callbacks/exotel/sms?token={token}", content=deep,
                             headers={"content-type": "application/json"})
        assert answer.status_code == 400 and answer.json()["kept"]
        assert "nests deeper" in answer.json()["error"]
        future = client.post(f"/callbacks/exotel/sms?token={token}", data={
            "SmsSid": "a2", "Status": "delivered", "UpdatedAt": "9999-12-31T23:59:59-14:00"})
        assert future.status_code == 400 and "ahead of the receiver's clock" in future.text
        twice = client.post(f"/callbacks/exotel/sms?token={token}&token=x",
                            data={"SmsSid": "a3", "Status": "delivered"})
        assert twice.status_code == 401
        fine = client.post(f"/callbacks/exotel/sms?token={token}",
                           data={"SmsSid": "a4", "Status": "delivered",
                                 "UpdatedAt": "2026-01-05T10:00:00+05:30"})
        assert fine.status_code == 200


# ---- 6. dbt's folders do not fill the disk -----------------------------------------------------

def test_a_finished_dbt_build_leaves_only_its_results(tmp_path: Path) -> None:
    from orchestration.defs.dbt import project

    target = tmp_path / "target"
    run = target / "warehouse_models-abc1234-def5678"
    (run / "nested").mkdir(parents=True)
    (run / "run_results.json").write_text("{}")
    (run / "manifest.json").write_text("{}")
    old = target / "warehouse_models-0000000-1111111"
    old.mkdir()
    os.utime(old, (0, 0))  # a killed run's folder, days old
    project.keep_last_build(run, target)
    assert sorted(p.name for p in target.iterdir()) == ["last_build"]
    assert sorted(p.name for p in (target / "last_build").iterdir()) == [
        "manifest.json", "run_results.json"]


# ---- 2. costs in their units, revenue per cost in one currency -------------------------------

def test_a_unit_price_is_a_checked_setting() -> None:
    from orchestration.lib.settings import load_settings

    settings = load_settings({"SMS_CREDIT_PRICE": "0.25"}, dotenv_path=None,
                             require_credentials=False)
    assert (settings.sms_credit_price, settings.voice_pulse_price) == (0.25, None)
    with pytest.raises(ConfigError, match="SMS_CREDIT_PRICE must be a price"):
        load_settings({"SMS_CREDIT_PRICE": "0,25"}, dotenv_path=None, require_credentials=False)


# ---- 4. one voice verdict --------------------------------------------------------------------

def test_the_voice_verdict_explains_the_rate_that_fired_and_follows_the_retry_rule() -> None:
    from orchestration.lib.reports.campaign_data import CampaignData
    from orchestration.lib.reports.verdict import judge

    errors = [("no-answer", 236, "Call at the contact's best hour; consider more retries"),
              ("failed", 120, "Verify the number"), ("canceled", 18, "Check the campaign"),
              ("busy", 235, "Retry later")]
    report = CampaignData(
        meta={"campaign_id": "v1", "channel": "voice"},
        performance={"contacts": 1000, "connect_rate": 0.45, "answer_rate": 0.7,
                     "failure_rate": 0.138 / 0.61 * 1.0, "retry_success_rate": 0.25,
                     "weakest_retry_connect_rate": 0.06},
        errors=[{"error_category": None, "error_code": code, "failures": n,
                 "recommended_action": action} for code, n, action in errors])
    verdict = judge(report)
    assert verdict.sentence.startswith("Investigate: failure 22.6% is at or above 15%. ")
    # The failure rate counts failed and canceled calls: its cause is among those.
    assert "of the 138 failed or canceled calls are calls that could not connect" in \
        verdict.sentence
    assert "unanswered" not in verdict.sentence
    # The retry rule fired (a retry below 10%): no advice anywhere says "more retries".
    assert not any("consider more retries" in c.action for c in verdict.causes)
    watch = CampaignData(meta=report.meta, performance={**report.performance,
                                                        "failure_rate": 0.05},
                         errors=report.errors)
    assert "a retry's connect rate 6.0% is below 10%" in judge(watch).sentence


def test_the_retry_rule_is_one_row_read_by_the_verdict_the_alert_and_the_mart() -> None:
    from orchestration.lib.rules import DBT_PROJECT_DIR, alert_thresholds, retry_rule

    rule = retry_rule()
    assert (rule.metric, rule.threshold, rule.in_verdict) == (
        "weakest_retry_connect_rate", 0.10, True)
    assert not any("reduce number_of_retries" in t.advice for t in alert_thresholds()
                   if t is not rule)
    model = (DBT_PROJECT_DIR / "models" / "marts" / "retry_effectiveness.sql").read_text()
    assert f"alert_rule = '{rule.alert_rule}'" in model
    voice = (DBT_PROJECT_DIR / "models" / "marts" / "voice_campaign_performance.sql").read_text()
    assert "'weakest_retry_connect_rate'" in voice.split("health_status(")[1]


# ---- the run the rest reads: a small account, hostile contact data -----------------------------

@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> dict[str, Any]:
    """One daily run over a small sandbox account whose contacts file names every person
    `=HYPERLINK(...)` with the external id `+cmd`, a formula tag and an HTML list name; the
    second SMS campaign has a DLT problem (an open alert). SMS credits have a price, voice
    pulses none."""
    from orchestration.runner import run_pipeline
    from orchestration.sandbox import SandboxServer
    from tests.ingest_helpers import sandbox_settings

    tmp = tmp_path_factory.mktemp("review")
    plans = plan_account(ACCOUNT)
    clock = dt.datetime.fromtimestamp(max(p.end_at for p in plans) + 80 * 3600, dt.UTC)
    contacts = sandbox_contacts(ACCOUNT)
    people = range(len(contacts.number))
    pd.DataFrame({"phone": [contacts.e164(i) for i in people], "name": FORMULA,
                  "external_id": "+cmd", "tags": f"{FORMULA};{IMG_TAG}", "lists": SCRIPT_LIST,
                  "Note": ""}).to_csv(tmp / "contacts.csv", index=False)
    warehouse = tmp / "warehouse.duckdb"
    target = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
    with SandboxServer(ACCOUNT, now=clock) as server:
        settings = sandbox_settings(server.url, warehouse,
                                    SMS_CREDIT_PRICE=str(SMS_CREDIT_PRICE))
        with _warehouse(warehouse) as con:
            load_contacts(con, tmp / "contacts.csv", region="IN")
            load_conversions_file(con, tmp, contacts)
        result = run_pipeline(settings, log_level="WARNING")
    assert result.success
    env = {"WAREHOUSE_PATH": str(warehouse), "PUBLISHED_PATH": str(settings.published_path),
           "CALLBACK_LANDING_DIR": str(tmp / "callbacks")}
    return {"settings": settings, "published": settings.published_path, "tmp": tmp,
            "run_id": result.run_id, "target": target, "env": env}


def load_conversions_file(con: duckdb.DuckDBPyConnection, folder: Path, contacts: Any) -> None:
    """A purchase by every tenth person, a day after the accounts' first campaign."""
    at = dt.datetime.fromtimestamp(min(p.start_at for p in plan_account(ACCOUNT)) + 86_400,
                                   dt.UTC)
    pd.DataFrame({"phone": [contacts.e164(i) for i in range(0, len(contacts.number), 10)],
                  "amount": "100.50", "currency": "INR", "occurred_at": at.isoformat()}
                 ).to_csv(folder / "conversions.csv", index=False)
    load_conversions(con, folder / "conversions.csv", region="IN", timezone="Asia/Kolkata")


def _campaign(run: dict[str, Any], channel: str) -> str:
    with duckdb.connect(str(run["published"]), read_only=True) as con:
        return con.execute("SELECT campaign_id FROM marts.dim_campaigns WHERE channel = ? "
                           "ORDER BY started_at LIMIT 1", [channel]).fetchone()[0]


def test_revenue_per_cost_divides_money_by_money(hostile_run) -> None:
    with duckdb.connect(str(hostile_run["published"]), read_only=True) as con:
        sms = con.execute("SELECT total_cost, total_cost_in_currency, revenue, revenue_per_cost "
                          "FROM marts.sms_campaign_performance WHERE revenue > 0").fetchall()
        voice = con.execute("SELECT total_cost_in_currency, revenue_per_cost "
                            "FROM marts.voice_campaign_performance").fetchall()
    assert sms, "the conversions credit an SMS campaign"
    for cost, in_currency, revenue, per_cost in sms:
        assert float(in_currency) == pytest.approx(float(cost) * SMS_CREDIT_PRICE)
        assert per_cost == pytest.approx(float(revenue) / (float(cost) * SMS_CREDIT_PRICE))
    assert voice and all(row == (None, None) for row in voice)  # no pulse price: no ratio


def test_exports_neutralise_formulas_and_keep_numbers(hostile_run, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    published = str(hostile_run["published"])
    sms = _campaign(hostile_run, "sms")
    for what in ("recipients", "failed", "contacts"):
        fields = ["--fields", "phone,name,external_id,tags,lists"] if what != "contacts" else []
        out = tmp_path / f"{what}.csv"
        code, _, err = cli("export", what, "--campaign", sms, "--out", str(out), *fields,
                           "--published", published)
        assert code == 0, err
        frame = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert len(frame), what
        text = out.read_text()
        assert "\n=" not in text and ",=" not in text and ",+cmd" not in text
        if fields:
            assert list(frame.columns) == ["phone", "name", "external_id", "tags", "lists"]
            assert set(frame["name"]) == {"'" + FORMULA}
            assert set(frame["external_id"]) == {"'+cmd"}
            assert frame["phone"].str.match(r"^\+91[0-9*]{10}$").all()
        xlsx = tmp_path / f"{what}.xlsx"
        code, _, err = cli("export", what, "--campaign", sms, "--out", str(xlsx), *fields,
                           "--published", published)
        assert code == 0, err
        sheet = load_workbook(xlsx).active
        cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        assert not any(c.data_type == "f" for c in cells), what
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert not any(t.startswith(("=", "@")) for t in texts)
        if fields:
            assert "'" + FORMULA in texts
        numbers = [c.value for c in cells if isinstance(c.value, int | float)
                   and not isinstance(c.value, bool)]
        if what == "contacts":  # detailed_status_code: a number cell, not text
            assert numbers
    with zipfile.ZipFile(tmp_path / "failed.xlsx") as book:  # an Excel file, by its extension
        assert "xl/workbook.xml" in book.namelist()


def test_an_export_or_report_format_follows_its_file_name(hostile_run, tmp_path: Path) -> None:
    published = str(hostile_run["published"])
    sms = _campaign(hostile_run, "sms")
    code, _, err = cli("export", "contacts", "--campaign", sms, "--format", "xlsx", "--out",
                       str(tmp_path / "y.csv"), "--published", published)
    assert code == 2 and "--format xlsx but --out" in err and not (tmp_path / "y.csv").exists()
    code, _, err = cli("report", "--campaign", sms, "--out", str(tmp_path / "r.pdf"),
                       "--published", published)
    assert code == 2 and "reports are HTML" in err and not (tmp_path / "r.pdf").exists()
    code, _, err = cli("export", "recipients", "--campaign", sms, "--fields", "recipient,phone",
                       "--out", str(tmp_path / "both.csv"), "--published", published)
    assert code == 0, err
    assert (tmp_path / "both.csv").read_text().splitlines()[0] == "recipient,phone"


def test_query_runs_one_reading_statement_and_keeps_duckdbs_hints(hostile_run) -> None:
    published = str(hostile_run["published"])
    for sql, words in (("CREATE TEMP TABLE t AS SELECT 1; SELECT * FROM t",
                        "one statement per query"),
                       ("LOAD json", "not LOAD"), ("CHECKPOINT", "reading statements only"),
                       ("SELECT * FROM dim_campaign", 'Did you mean "marts.dim_campaigns"'),
                       ("SELECT campaign_idd FROM marts.dim_campaigns", "Candidate bindings")):
        code, _, err = cli("query", sql, "--published", published)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, (sql, err)
    done = subprocess.run(
        f"{sys.executable} -m orchestration.cli query --published {published} "
        "'SELECT * FROM range(200000)' | head -2", shell=True, capture_output=True, text=True,
        executable="/bin/bash", timeout=120)
    assert done.stdout.splitlines()[0].strip() == "range" and done.stderr == ""


def test_dim_contacts_reads_in_pandas(hostile_run) -> None:
    """The README's Python recipe: open bounds are NULL, not DuckDB's infinities."""
    with duckdb.connect(str(hostile_run["published"]), read_only=True) as con:
        frame = con.execute("SELECT * FROM marts.dim_contacts").df()
    assert len(frame) and str(frame)
    assert frame["valid_from"].isna().all() and frame["valid_to"].isna().all()
    assert frame["is_current"].all()


def test_rejected_file_rows_are_in_the_published_copy(hostile_run) -> None:
    code, out, err = cli("query", "SELECT kind, line, reason FROM ops.rejected_file_rows",
                         "--published", str(hostile_run["published"]), "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == "kind,line,reason"


def test_a_date_range_keeps_the_open_alerts(hostile_run) -> None:
    published = hostile_run["published"]
    with duckdb.connect(str(published), read_only=True) as con:
        open_rules = {r for (r,) in con.execute(
            "SELECT rule FROM marts.alerts WHERE resolved_at IS NULL").fetchall()}
    assert "dlt_rejection_spike" in open_rules
    out = hostile_run["tmp"] / "future.html"
    code, printed, err = cli("report", "--overview", "--from", "2030-01-01", "--out", str(out),
                             "--no-campaign-reports", "--published", str(published))
    assert code == 0, err
    assert "No campaign started on or after 2030-01-01" in printed
    html = out.read_text()
    assert f"Open alerts ({len(open_rules)})" in html and "dlt_rejection_spike" in html
    assert "No campaigns in this range." in html


def test_this_runs_dbt_folder_is_gone(hostile_run) -> None:
    mine = list(hostile_run["target"].glob(f"warehouse_models-{hostile_run['run_id'][:7]}-*"))
    assert mine == []
    assert (hostile_run["target"] / "last_build" / "run_results.json").is_file()


def test_html_from_data_is_escaped_in_chromium(hostile_run) -> None:
    """List and tag names from a contacts file (`<script>`, `onerror`) show as text in
    Chromium: no script of theirs runs and no element of theirs is made."""
    from playwright.sync_api import sync_playwright

    from tests.test_reports import CHROMIUM, CHROMIUM_FLAGS

    sms = _campaign(hostile_run, "sms")
    out = hostile_run["tmp"] / "hostile.html"
    code, _, err = cli("report", "--campaign", sms, "--out", str(out),
                       "--published", str(hostile_run["published"]))
    assert code == 0, err
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(out.as_uri())
        body = page.inner_text("body")
        injected = page.evaluate("() => [document.querySelectorAll('img[src=x]').length, "
                                 "Array.from(document.scripts).filter(s => "
                                 "s.textContent.includes('alert(1)')).length]")
        browser.close()
    assert SCRIPT_LIST in body and dialogs == [] and injected == [0, 0]
