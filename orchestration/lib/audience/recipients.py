"""`campaign-analytics recipient PHONE|EXTERNAL_ID|EMAIL`: every message and call to one person,
across campaigns, from the published copy (seed 002's Find Person). A number is matched by its
keyed hash (lookup.py), so the copy stays masked; an external id or an email is matched through
dim_contacts to the numbers it has had."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.audience.lookup import fingerprint, key_file, recipient_key
from orchestration.lib.audience.numbers import parse_one, unscientific
from orchestration.lib.published import ReadError, open_published
from orchestration.lib.settings import Settings

HEADERS = ("provider", "channel", "campaign", "sent_at", "status", "detailed_status", "fail_reason",
           "attempt", "number")


@dataclass(frozen=True)
class History:
    matched_by: str  # "phone", "external_id" or "email"
    numbers: int  # how many numbers the person has had
    zone: str
    rows: list[tuple]


def _key_for(con: duckdb.DuckDBPyConnection, settings: Settings, published: Path) -> str:
    wanted = con.execute("SELECT lookup_key_fingerprint FROM ops.publish").fetchone()[0]
    if wanted is None:
        raise ReadError(f"{published} was published without recipient keys: run "
                        "`campaign-analytics sync` to publish it again")
    candidates = [settings.recipient_lookup_key.reveal()]
    for path in [key_file(settings), *sorted(published.parent.glob("*.lookup-key"))]:
        if path.is_file():
            candidates.append(path.read_text().strip())
    for key in candidates:
        if key and fingerprint(key) == wanted:
            return key
    raise ReadError(f"{published}'s numbers were keyed with a look-up key this machine does not "
                    "have: set RECIPIENT_LOOKUP_KEY to the key of the warehouse that published it")


def find(settings: Settings, published: Path, query: str) -> History:
    query = query.strip()
    if not query:
        raise ReadError("give a phone number, an external id or an email")
    con = open_published(published)
    try:
        zone = con.execute("SELECT account_timezone FROM ops.publish").fetchone()[0]
        key = _key_for(con, settings, published)
        if "@" in query:
            matched_by = "email"
            keys = [r[0] for r in con.execute(
                "SELECT DISTINCT recipient_key FROM marts.dim_contacts WHERE email = lower(?)",
                [query]).fetchall()]
        else:
            query = unscientific(query)  # 9.16009310695E+11, pasted from a spreadsheet
            number, problem = parse_one(query, settings.contacts_default_region)
            looks_like_number = problem is None and not any(c.isalpha() for c in query)
            if looks_like_number:
                matched_by, keys = "phone", [recipient_key(key, number)]
            else:
                matched_by = "external_id"
                keys = [r[0] for r in con.execute(
                    "SELECT DISTINCT recipient_key FROM marts.dim_contacts "
                    "WHERE external_id = ?", [query]).fetchall()]
        rows = con.execute(
            "SELECT provider, channel, campaign_name, sent_at_local, status, detailed_status, "
            "fail_reason, attempt_number, recipient_number FROM marts.recipient_history "
            "WHERE recipient_key IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY sent_at_local, channel, attempt_number", [keys]).fetchall()
    finally:
        con.close()
    return History(matched_by, len(keys), zone, rows)
