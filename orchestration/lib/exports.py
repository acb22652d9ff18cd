"""`campaign-analytics export`: a campaign's recipients as a file people open in a spreadsheet.

Text from data (names, ids, reasons, the provider's words) is written so no spreadsheet runs it:
a cell that starts like a formula gets a leading apostrophe (OWASP's advice against CSV
injection), control characters are removed (a terminal escape, or a byte XLSX cannot hold), and
XLSX cells from text are string cells, never formulas. Phone numbers keep their E.164 form and
numbers stay numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from orchestration.lib.cells import safe_cell
from orchestration.lib.published import ReadError, open_published
from orchestration.lib.text_tables import format_rows

FORMATS = ("csv", "xlsx")


def format_for(out: Path, chosen: str | None) -> str:
    """The file format: --format when given, else the --out file's extension (csv by default);
    a --format the extension contradicts is refused, never written under the wrong name."""
    suffix = out.suffix.lower().lstrip(".")
    if chosen is None:
        return suffix if suffix in FORMATS else "csv"
    if suffix in FORMATS and suffix != chosen:
        raise ReadError(f"--format {chosen} but --out {out} ends in .{suffix}: name the file "
                        f".{chosen}, or drop --format to write {suffix}")
    return chosen


@dataclass(frozen=True)
class Export:
    """Rows for a file people open: times in the account's zone, named in the header."""

    title: str
    headers: list[str]
    rows: list[tuple[Any, ...]]


# What each export holds, per channel: a list of recipients with their outcome in words.
# (title, columns (a name, or (name, column)), table, order): `recipients` is `contacts` with
# the people's identifiers.
_EXPORTS = {
    ("failed", "sms"): ("Failed recipients", (
        ("recipient", "recipient_number"), ("status", "final_status"), "fail_reason",
        "error_code", "error_category", "bounce_type", "attempts", "last_attempt_at", "provider"),
        "failed_recipients", "error_category, recipient_number"),
    ("contacts", "sms"): ("Recipients", (
        ("recipient", "recipient_number"), "is_valid_number", "status", "detailed_status",
        "detailed_status_code", "fail_reason", "submitted_at", "delivered_at", "provider"),
        "sms_recipients", "submitted_at NULLS LAST, sms_sid"),
    ("contacts", "voice"): ("Contacts", (
        ("contact", "contact_number"), "is_valid_number", "final_status", "attempts",
        "last_duration_seconds", "outcome_reason", "first_attempt_at", "last_attempt_at",
        "provider"),
        "voice_contacts", "first_attempt_at NULLS LAST, contact_number"),
}
_EXPORTS[("failed", "voice")] = _EXPORTS[("failed", "sms")]
_EXPORTS[("recipients", "sms")] = _EXPORTS[("contacts", "sms")]
_EXPORTS[("recipients", "voice")] = _EXPORTS[("contacts", "voice")]
# Fields from the person's contact (dim_contacts, current version), matched by recipient_key.
IDENTIFIER_FIELDS = ("external_id", "email", "name", "lists", "tags")
RECIPIENTS_DEFAULT = ("phone", "external_id", "email", "name")


def _export_fields(what: str, own: list[str], fields: Sequence[str] | None) -> list[str]:
    """The columns, in order; each keeps the name it was asked for (`phone` stays `phone`)."""
    number = own[0]  # recipient or contact
    if fields is None:
        if what != "recipients":
            return own
        return [number, *RECIPIENTS_DEFAULT[1:],
                *[f for f in own[1:] if f != "is_valid_number"]]
    allowed = ["phone", *own, *IDENTIFIER_FIELDS]
    unknown = [f for f in fields if f not in allowed]
    if unknown or not fields:
        raise ReadError(f"unknown field(s) {', '.join(unknown) or '(none given)'} for "
                        f"`export {what}`: choose from {', '.join(allowed)}")
    return [f"{number} AS phone" if f == "phone" else f for f in dict.fromkeys(fields)]


def export_rows(path: Path, campaign_id: str, what: str,
                fields: Sequence[str] | None = None) -> Export:
    """The `export` command's rows: `failed` (recipients to follow up), `contacts` (every
    recipient or contact with its outcome) or `recipients` (the same, with the identifiers of
    the people's contacts), the chosen `fields` in their order, times in the account's zone."""
    con = open_published(path)
    try:
        found = con.execute("SELECT channel FROM marts.dim_campaigns WHERE campaign_id = ?",
                            [campaign_id]).fetchall()
        if not found:
            raise ReadError(f"unknown campaign {campaign_id!r}: not in the published copy "
                            "(see `campaign-analytics query \"SELECT campaign_id, campaign_name "
                            "FROM marts.dim_campaigns\"`)")
        zone = ZoneInfo(con.execute("SELECT account_timezone FROM ops.publish").fetchall()[0][0])
        title, spec, table, order = _EXPORTS[(what, found[0][0])]
        named = [(c, c) if isinstance(c, str) else c for c in spec]
        own = [name for name, _ in named]
        columns = ", ".join(c if c == n else f"{c} AS {n}" for n, c in named)
        chosen = _export_fields(what, own, fields)
        wants_contact = bool(set(chosen) & set(IDENTIFIER_FIELDS))
        keyed = "recipient_key" in {c for c, _ in _published_columns(con, table)}
        if wants_contact and not keyed:
            raise ReadError("this published copy has no recipient keys to match contacts by: "
                            "run `campaign-analytics sync` to publish it again")
        contact = ("LEFT JOIN (SELECT recipient_key, external_id, email, contact_name AS name, "
                   "lists, tags FROM marts.dim_contacts WHERE is_current) AS contact "
                   "USING (recipient_key)") if wants_contact else ""
        cursor = con.execute(
            f"WITH base AS (SELECT {columns}{', recipient_key' if keyed else ''}, "
            f"row_number() OVER (ORDER BY {order}) AS export_order "
            f"FROM marts.{table} WHERE campaign_id = ?) "
            f"SELECT {', '.join(chosen)} FROM base {contact} ORDER BY export_order",
            [campaign_id])
        names = [c[0] for c in cursor.description or []]
        rows = [tuple(v.astimezone(zone).replace(tzinfo=None) if isinstance(v, dt.datetime)
                      else ";".join(v) if isinstance(v, list) else v for v in row)
                for row in cursor.fetchall()]
    finally:
        con.close()
    is_time = [any(isinstance(row[i], dt.datetime) for row in rows) or "_at" in name
               for i, name in enumerate(names)]
    headers = [f"{name} ({zone.key})" if timed else name
               for name, timed in zip(names, is_time, strict=True)]
    return Export(title, headers, rows)


def _published_columns(con: Any, table: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = 'marts' AND table_name = ?", [table]).fetchall()


def write_xlsx(path: Path, export: Export) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = export.title
    for values in (export.headers, *export.rows):
        sheet.append([safe_cell(v) for v in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
    book.save(path)


def write_export(path: Path, export: Export, fmt: str) -> None:
    if fmt == "xlsx":
        write_xlsx(path, export)
    else:
        # text_tables.format_rows neutralises each cell (cells.safe_cell), as write_xlsx does.
        path.write_text(format_rows(export.headers, export.rows, "csv") + "\n",
                        encoding="utf-8")
