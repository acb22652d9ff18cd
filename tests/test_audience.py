"""Audience (issue 18): contacts and conversions loaded from files, breakdowns by list and by
operator, revenue per campaign, the recipient look-up and exports with chosen identifiers.
Counts are checked against the sandbox's own arrays (and phonenumbers asked number by number),
never against the warehouse's own logic."""

from __future__ import annotations

import collections
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import phonenumbers
import pytest
from phonenumbers import carrier, geocoder

from orchestration.defs.warehouse.raw import RAW_DDL
from orchestration.lib.audience import numbers
from orchestration.lib.audience.contacts import load_contacts
from orchestration.sandbox import AccountConfig
from orchestration.sandbox.audience import (
    LISTS,
    TAGS,
    sandbox_contacts,
    sandbox_conversions,
    write_contacts_csv,
    write_conversions_csv,
)
from orchestration.sandbox.generator import (
    CALL_COMPLETED,
    CALL_STATUSES,
    generate_calls,
    generate_sms,
    plan_account,
)

ACCOUNT = AccountConfig(seed=7, voice_campaigns=2, sms_campaigns=3,
                        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        end=dt.datetime(2026, 1, 8, tzinfo=dt.UTC))
FULL_NUMBER = re.compile(r"\+91\d{10}")


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(RAW_DDL)
    return con


def test_every_shape_of_number_parses_as_phonenumbers_parses_it_alone(tmp_path: Path) -> None:
    """One parse per shape (numbers.py) gives what phonenumbers gives number by number, for
    Indian numbers written every way, other countries, Italy's leading zero and junk."""
    rng = np.random.default_rng(4)
    national = (6_000_000_000 + rng.integers(0, 4_000_000_000, 400)).astype(str)
    texts = [*(f"+91{n}" for n in national[:100]), *(f"0{n}" for n in national[100:200]),
             *(f"{n[:5]} {n[5:]}" for n in national[200:300]),
             *(f"91{n}" for n in national[300:]),
             "+44 20 7946 0018", "+44 7700 900123", "+1 415 555 2671", "(415) 555-2671",
             "+39 06 6982 1234", "+39 333 123 4567", "+33 1 42 68 53 00", "12", "+999 1234",
             "", "call me", "+91 98765 43210 ext 5", "1234567890123456789"]
    with _warehouse(tmp_path / "w.duckdb") as con:
        con.execute("CREATE TEMP TABLE t AS SELECT unnest(?::VARCHAR[]) AS number_text", [texts])
        numbers.learn(con, "SELECT number_text FROM t", "IN", dt.datetime.now(dt.UTC))
        parts, joins, e164 = numbers.e164_sql("number_text", "IN")
        got = {text: e164_number for text, e164_number, _ in con.execute(
            f"SELECT number_text, {e164} FROM (SELECT number_text, {parts} FROM t) {joins}"
        ).fetchall()}
    for text in texts:
        expected, _ = numbers.parse_one(text, "IN") if not re.search(r"[A-Za-z]", text) \
            else (None, "letters")
        assert got[text] == expected, text
    assert got["0" + national[100]] == "+91" + national[100]
    assert got["+39 06 6982 1234"] == "+390669821234"  # the leading zero kept


def test_a_contacts_file_loads_with_bad_rows_quarantined_and_versions_kept(tmp_path: Path
                                                                          ) -> None:
    """CSV, XLSX and Parquet; a row without a phone or with an unparseable one is kept aside
    with its reason; a re-load changes nothing; a later file that re-tags a contact opens a new
    version from its as-of time and keeps the old one."""
    rows = pd.DataFrame({
        "Phone": ["+91 98765 43210", "09876543211", "919876543212", "", "not a number",
                  "98765 43213", "9876543210"],
        "External ID": ["C1", "C2", "C3", "C4", "C5", "C6", "C1"],
        "Email": ["A@Example.com", "b@example.com", "c@example.com", "d@example.com",
                  "e@example.com", "broken-email", "a@example.com"],
        "Tags": ["vip;north", "south", "north|new", "", "", "", "vip"],
        "City": ["Delhi", "Chennai", "Pune", "X", "Y", "Z", "Delhi"],
    })
    with _warehouse(tmp_path / "w.duckdb") as con:
        for suffix in ("csv", "xlsx", "parquet"):
            path = tmp_path / f"contacts.{suffix}"
            {"csv": lambda p: rows.to_csv(p, index=False),
             "xlsx": lambda p: rows.to_excel(p, index=False),
             "parquet": lambda p: rows.to_parquet(p, index=False)}[suffix](path)
            loaded = load_contacts(con, path, region="IN", list_name="Diwali")
            assert (loaded.rows_read, loaded.rejected, loaded.duplicate_rows) == (7, 3, 1)
            assert loaded.reasons == {"no phone number": 1, "email is not an address": 1,
                                      "not a phone number (letters or other characters)": 1}
            if suffix == "csv":
                assert (loaded.new_contacts, loaded.changed_contacts) == (3, 0)
            else:  # the same contents again: nothing changes
                assert (loaded.new_contacts, loaded.changed_contacts,
                        loaded.unchanged_contacts) == (0, 0, 3)
        current = {r[0]: r[1:] for r in con.execute(
            "SELECT phone, external_id, email, tags, lists, attributes->>'City' "
            "FROM raw.contact_versions WHERE valid_to IS NULL").fetchall()}
        assert current["+919876543210"] == ("C1", "a@example.com", ["vip"], ["Diwali"], "Delhi")
        assert set(current) == {"+919876543210", "+919876543211", "+919876543212"}
        rejected = con.execute("SELECT row_number, reason FROM raw.rejected_contacts "
                               "ORDER BY loaded_at, row_number LIMIT 3").fetchall()
        assert rejected == [(4, "no phone number"),
                            (5, "not a phone number (letters or other characters)"),
                            (6, "email is not an address")]

        later = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        retag = tmp_path / "retag.csv"
        pd.DataFrame({"Phone": ["+919876543211"], "Tags": ["north"]}).to_csv(retag, index=False)
        changed = load_contacts(con, retag, region="IN", as_of=later)
        assert (changed.changed_contacts, changed.new_contacts) == (1, 0)
        versions = con.execute(
            "SELECT tags, email, valid_from, valid_to FROM raw.contact_versions "
            "WHERE phone = '+919876543211' ORDER BY valid_from").fetchall()
    assert [v[0] for v in versions] == [["south"], ["north"]]
    assert versions[1][1] == "b@example.com"  # a file without the column keeps the email
    assert versions[0][3] == later and versions[1][2] == later and versions[1][3] is None


def test_a_file_without_a_phone_column_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nA,a@example.com\n")
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "contacts", "load",
                           str(path), "--no-build"], capture_output=True, text=True,
                          env={"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
                               "PUBLISHED_PATH": str(tmp_path / "p.duckdb"),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path} has no phone column (one of phone, phone_number, mobile, "
        "mobile_number, msisdn, number, to); its columns: name, email"]


def _truth(now: int) -> tuple[list[dict], dict[str, list[tuple[int, int, bool]]]]:
    """Per person reached: (channel, campaign, number, reached_at, outcome flags), from the
    sandbox's arrays; and per number its (reach time, campaign index, succeeded)."""
    people, reaches = [], collections.defaultdict(list)
    for plan in plan_account(ACCOUNT):
        if plan.channel == "sms":
            sms = generate_sms(plan, ACCOUNT)
            status = sms.statuses_at(now)
            for number, at, st in zip(sms.recipient, sms.submit_at, status, strict=True):
                flags = {"submitted": st in ("submitted", "sent", "delivered", "failed",
                                             "expired"),
                         "succeeded": st == "delivered", "failed": st in ("failed", "expired"),
                         "rejected": st == "rejected"}
                people.append({"channel": "sms", "campaign_id": plan.campaign_id,
                               "number": int(number), "at": int(at), **flags})
        else:
            calls = generate_calls(plan, ACCOUNT)
            by_contact = collections.defaultdict(list)
            for row in range(calls.contact.size):
                by_contact[int(calls.contact[row])].append(row)
            for rows in by_contact.values():
                rows.sort(key=lambda r: (calls.attempt_number[r], calls.start_at[r]))
                connected = any(calls.outcome[r] == CALL_COMPLETED for r in rows)
                last = CALL_STATUSES[calls.outcome[rows[-1]]]
                people.append({"channel": "voice", "campaign_id": plan.campaign_id,
                               "number": int(calls.recipient[rows[0]]),
                               "at": int(min(calls.start_at[r] for r in rows)),
                               "submitted": True, "succeeded": connected,
                               "failed": not connected and last in ("failed", "canceled"),
                               "rejected": False})
    for person in people:
        reaches[person["number"]].append((person["at"], person["campaign_id"],
                                          person["succeeded"]))
    return people, reaches


def _tally(rows: list[dict]) -> tuple[int, ...]:
    return (len(rows), sum(r["submitted"] for r in rows), sum(r["succeeded"] for r in rows),
            sum(r["failed"] for r in rows), sum(r["rejected"] for r in rows))


@pytest.fixture(scope="module")
def audience_run(tmp_path_factory):
    """The sandbox's contacts and conversions files loaded through the CLI, one daily run. Half
    way through, a second contacts file moves every third person to the list "Moved" (as of
    a time between the first and the last campaign)."""
    from orchestration.runner import run_pipeline
    from orchestration.sandbox import SandboxServer
    from orchestration.sandbox.server import sandbox_environment
    from tests.ingest_helpers import sandbox_settings

    tmp = tmp_path_factory.mktemp("audience")
    plans = plan_account(ACCOUNT)
    last = max(plans, key=lambda p: p.start_at)
    moved_at = last.start_at - 60  # just before the last campaign starts
    assert any(p.end_at < moved_at for p in plans)
    clock = dt.datetime.fromtimestamp(max(p.end_at for p in plans) + 80 * 3600, dt.UTC)
    contacts = sandbox_contacts(ACCOUNT)
    conversions = sandbox_conversions(ACCOUNT, contacts)
    write_contacts_csv(contacts, tmp / "contacts.csv")
    write_conversions_csv(contacts, conversions, tmp / "conversions.csv")
    moved = [i for i in np.flatnonzero(contacts.in_file) if i % 3 == 0]
    pd.DataFrame({"phone": [contacts.e164(i) for i in moved]}).to_csv(tmp / "moved.csv",
                                                                      index=False)
    warehouse = tmp / "warehouse.duckdb"
    with SandboxServer(ACCOUNT, now=clock) as server:
        settings = sandbox_settings(server.url, warehouse)
        env = {**sandbox_environment(server.url), "WAREHOUSE_PATH": str(warehouse),
               "PUBLISHED_PATH": str(settings.published_path), "PATH": "/usr/bin:/bin",
               "CALLBACK_LANDING_DIR": str(tmp / "callbacks")}

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "orchestration.cli", *args],
                                  capture_output=True, text=True, env=env, timeout=300)

        loaded = [cli("contacts", "load", str(tmp / "contacts.csv"), "--no-build"),
                  cli("contacts", "load", str(tmp / "moved.csv"), "--list", "Moved",
                      "--as-of", dt.datetime.fromtimestamp(moved_at, dt.UTC).isoformat(),
                      "--no-build"),
                  cli("conversions", "load", str(tmp / "conversions.csv"), "--no-build")]
        for done in loaded:
            assert done.returncode == 0, done.stderr
        run_pipeline(settings, log_level="WARNING")
    return {"settings": settings, "contacts": contacts, "conversions": conversions,
            "moved": set(moved), "moved_at": moved_at, "now": int(clock.timestamp()),
            "cli": cli, "loaded": loaded, "env": env}


def test_metrics_by_list_and_tag_count_people_by_their_lists_when_reached(audience_run
                                                                         ) -> None:
    contacts, moved = audience_run["contacts"], audience_run["moved"]
    people, _ = _truth(audience_run["now"])
    index = {int(n): i for i, n in enumerate(contacts.number)}
    expected = collections.defaultdict(list)
    for person in people:
        i = index[person["number"]]
        key = (person["channel"], person["campaign_id"])
        if not contacts.in_file[i]:
            expected[(*key, "none", "(not in contacts)")].append(person)
            continue
        expected[(*key, "list", LISTS[contacts.list_index[i]])].append(person)
        if i in moved and person["at"] >= audience_run["moved_at"]:
            expected[(*key, "list", "Moved")].append(person)
        for tag, on in zip(TAGS, contacts.tags[i], strict=True):
            if on:
                expected[(*key, "tag", tag)].append(person)
    with duckdb.connect(str(audience_run["settings"].published_path), read_only=True) as con:
        got = {tuple(r[:4]): tuple(r[4:]) for r in con.execute(
            "SELECT channel, campaign_id, label_kind, label, volume, submitted, succeeded, "
            "failed, rejected FROM marts.campaign_list_performance").fetchall()}
    assert got == {key: _tally(rows) for key, rows in expected.items()}
    assert any(key[3] == "Moved" for key in got)  # the later list counts only later sends


def test_metrics_by_original_operator_match_phonenumbers_number_by_number(audience_run
                                                                         ) -> None:
    people, _ = _truth(audience_run["now"])
    expected = collections.defaultdict(list)
    for person in people:
        number = phonenumbers.parse(f"+91{person['number']}")
        operator = carrier.name_for_valid_number(number, "en") or "unknown"
        region = geocoder.description_for_valid_number(number, "en") or "unknown"
        expected[(person["channel"], person["campaign_id"], operator, region)].append(person)
    with duckdb.connect(str(audience_run["settings"].published_path), read_only=True) as con:
        got = {tuple(r[:4]): tuple(r[4:]) for r in con.execute(
            "SELECT channel, campaign_id, original_operator, region, volume, submitted, "
            "succeeded, failed, rejected FROM marts.campaign_operator_performance").fetchall()}
    assert got == {key: _tally(rows) for key, rows in expected.items()}
    assert len({key[2] for key in got}) >= 5


def test_revenue_is_credited_to_the_latest_campaign_that_reached_the_person(audience_run
                                                                           ) -> None:
    contacts, conversions = audience_run["contacts"], audience_run["conversions"]
    _, reaches = _truth(audience_run["now"])
    window = 7 * 86400
    expected = collections.defaultdict(lambda: [0, 0.0])
    for person, at, amount in zip(conversions.person, conversions.occurred_at,
                                  conversions.amount, strict=True):
        candidates = [(when, campaign) for when, campaign, ok in
                      reaches[int(contacts.number[person])] if ok and at - window < when <= at]
        if candidates:
            credited = expected[max(candidates)[1]]
            credited[0] += 1
            credited[1] += float(amount)
    with duckdb.connect(str(audience_run["settings"].published_path), read_only=True) as con:
        got = {r[0]: (r[1], float(r[2])) for r in con.execute(
            "SELECT campaign_id, conversions, revenue FROM marts.sms_campaign_performance "
            "WHERE conversions > 0 UNION ALL SELECT campaign_id, conversions, revenue "
            "FROM marts.voice_campaign_performance WHERE conversions > 0").fetchall()}
        unattributed = con.execute("SELECT count(*) FROM marts.conversion_attribution "
                                   "WHERE NOT is_attributed").fetchone()[0]
    assert {k: (n, round(v, 2)) for k, (n, v) in got.items()} == {
        k: (n, round(v, 2)) for k, (n, v) in expected.items()}
    assert unattributed == conversions.person.size - sum(n for n, _ in expected.values()) > 0
    assert "1 x no phone or external_id" in audience_run["loaded"][2].stdout


def test_one_person_found_by_phone_external_id_and_email_in_a_masked_copy(audience_run
                                                                         ) -> None:
    """Seed 002's Find Person: the same history by any identifier; the copy stays masked, and
    the look-up never prints a full number."""
    contacts, cli = audience_run["contacts"], audience_run["cli"]
    published = str(audience_run["settings"].published_path)
    people, _ = _truth(audience_run["now"])
    voice_numbers = {p["number"] for p in people if p["channel"] == "voice"}
    person = next(i for i in np.flatnonzero(contacts.in_file)
                  if int(contacts.number[i]) in voice_numbers)
    number = str(int(contacts.number[person]))
    answers = [cli("recipient", query, "--published", published, "--format", "csv")
               for query in (f"0{number[:5]} {number[5:]}", contacts.external_id(person),
                             contacts.email(person).upper())]
    for done in answers:
        assert done.returncode == 0, done.stderr
    bodies = [done.stdout.split("\n", 1)[1] for done in answers]
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0].count("\n") >= 2
    assert [done.stdout.split("(matched by ")[1].split(";")[0] for done in answers] == [
        "phone", "external_id", "email"]
    assert not any(FULL_NUMBER.search(done.stdout) for done in answers)
    with duckdb.connect(published, read_only=True) as con:
        for table in ("recipient_history", "dim_contacts", "conversion_attribution",
                      "sms_recipients", "voice_contacts"):
            text = " ".join(str(v) for row in con.execute(f"FROM marts.{table}").fetchall()
                            for v in row)
            assert not FULL_NUMBER.search(text), table
        keyed = con.execute("SELECT count(*) FROM marts.recipient_history "
                            "WHERE recipient_key IS NULL").fetchone()[0]
    assert keyed == 0


def test_failed_recipients_export_with_the_identifiers_chosen(audience_run, tmp_path: Path
                                                              ) -> None:
    contacts, cli = audience_run["contacts"], audience_run["cli"]
    published = str(audience_run["settings"].published_path)
    sms = next(p for p in plan_account(ACCOUNT) if p.channel == "sms")
    out = tmp_path / "failed.csv"
    done = cli("export", "failed", "--campaign", sms.campaign_id, "--published", published,
               "--fields", "phone,external_id,email,name,fail_reason,lists", "--out", str(out))
    assert done.returncode == 0, done.stderr
    exported = pd.read_csv(out, dtype=str, keep_default_na=False)
    # Each field keeps the name it was asked by (`phone`, not the export's `recipient`).
    assert list(exported.columns) == ["phone", "external_id", "email", "name",
                                      "fail_reason", "lists"]
    index = {f"+91{int(n)}": i for i, n in enumerate(contacts.number)}
    for row in exported.itertuples():
        i = index[row.phone]  # the follow-up list keeps full numbers, by design
        assert row.external_id == (contacts.external_id(i) if contacts.in_file[i] else "")
        assert row.fail_reason
    unknown = cli("export", "failed", "--campaign", sms.campaign_id, "--published", published,
                  "--fields", "phone,shoe_size")
    assert unknown.returncode == 2 and "unknown field(s) shoe_size" in unknown.stderr
    recipients = cli("export", "recipients", "--campaign", sms.campaign_id, "--published",
                     published, "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"))
    assert recipients.returncode == 0, recipients.stderr
    sheet = pd.read_excel(tmp_path / "r.xlsx")
    assert list(sheet.columns[:4]) == ["recipient", "external_id", "email", "name"]
    assert "submitted_at (Asia/Kolkata)" in sheet.columns
    assert len(sheet) == sms.size


def test_status_lists_the_files_loaded(audience_run) -> None:
    done = audience_run["cli"]("status", "--published",
                               str(audience_run["settings"].published_path))
    assert done.returncode == 0, done.stderr
    section = done.stdout.split("Contact and conversion files loaded")[1]
    rows = [line.split() for line in section.splitlines()[3:] if line.strip()]
    assert [(r[0], Path(r[1]).name) for r in rows] == [
        ("conversions", "conversions.csv"), ("contacts", "moved.csv"),
        ("contacts", "contacts.csv")]
    contacts = audience_run["contacts"]
    assert rows[2][-3:] == [f"{int(contacts.in_file.sum()) + 2:,}",
                            f"{int(contacts.in_file.sum()):,}", "2"]


def test_a_later_contacts_load_recounts_campaigns_already_counted(audience_run) -> None:
    """The list breakdown is incremental by campaign, but a contacts load can change any
    campaign: people who were in no file join the list "Late" (their first version applies
    back in time), and the rebuild `contacts load` runs counts every campaign again. (Last in
    this file: it changes the module's published copy.)"""
    contacts, cli = audience_run["contacts"], audience_run["cli"]
    people, _ = _truth(audience_run["now"])
    late = {int(contacts.number[i]) for i in np.flatnonzero(~contacts.in_file)[::2]}
    path = audience_run["settings"].warehouse_path.with_name("late.csv")
    pd.DataFrame({"phone": [f"+91{n}" for n in sorted(late)]}).to_csv(path, index=False)
    done = cli("contacts", "load", str(path), "--list", "Late")  # loads, rebuilds, publishes
    assert done.returncode == 0, done.stderr
    expected_late, expected_unknown = collections.defaultdict(list), collections.defaultdict(list)
    index = {int(n): i for i, n in enumerate(contacts.number)}
    for person in people:
        key = (person["channel"], person["campaign_id"])
        if person["number"] in late:
            expected_late[key].append(person)
        elif not contacts.in_file[index[person["number"]]]:
            expected_unknown[key].append(person)
    with duckdb.connect(str(audience_run["settings"].published_path), read_only=True) as con:
        rows = con.execute(
            "SELECT channel, campaign_id, label, volume, submitted, succeeded, failed, rejected "
            "FROM marts.campaign_list_performance WHERE label IN ('Late', '(not in contacts)')"
        ).fetchall()
    got_late = {(c, k): tuple(v) for c, k, label, *v in rows if label == "Late"}
    got_unknown = {(c, k): tuple(v) for c, k, label, *v in rows if label != "Late"}
    assert got_late == {key: _tally(rows) for key, rows in expected_late.items()} != {}
    assert got_unknown == {key: _tally(rows) for key, rows in expected_unknown.items()}
