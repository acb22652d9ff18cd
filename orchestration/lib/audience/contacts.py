"""`campaign-analytics contacts load FILE`: a contact list (CSV, XLSX or Parquet) into versioned
contacts, in bulk.

A file needs a phone column; external_id, name, email, tags and lists are read when present,
and any other column is kept as a custom attribute. Numbers become E.164 (numbers.py, default
region CONTACTS_DEFAULT_REGION); the rows are checked with Pandera and a row that fails (no
phone, a number that cannot be one, a malformed email) is quarantined in raw.rejected_contacts
with its reason, never dropped. Within a file the last row of a number wins (the others are
counted as duplicates).

Versions: a contact's first version is valid from the start of time; a later load that changes
it (new tags, a new email) closes the current version at the load's `as_of` and opens a new
one, so reports count a campaign by the tags its recipients had when it reached them. Tags
come from the file's tags column (a file with one replaces them); lists accumulate: `--list`
and a lists column add to the lists a contact is on.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa

from orchestration.lib.audience import numbers
from orchestration.lib.audience.files import find_columns, quoted, read_file, rejected_lines
from orchestration.lib.cells import counted
from orchestration.lib.phone import mask_numbers
from orchestration.lib.rules import VALID_PHONE_NUMBER_PATTERN
from orchestration.lib.settings import ConfigError
from orchestration.lib.warehouse import sql_string

# Header names (lower case, spaces and dashes as underscores) each field is read from.
ALIASES = {
    "phone": ("phone", "phone_number", "mobile", "mobile_number", "msisdn", "number", "to"),
    "external_id": ("external_id", "externalid", "customer_id", "user_id"),
    "name": ("name", "full_name"),
    "email": ("email", "email_address"),
    "tags": ("tags", "tag"),
    "lists": ("lists", "list"),
}
SEPARATORS = ";,|"  # between tags (or lists) in one cell (the README names these)
# A label: quoted text, a parenthesised group, or characters other than a separator, so a
# separator inside quotes or brackets ("north, east", =F("a","b")) is part of the label.
LABEL_PATTERN = f'(?:"[^"]*"|[(][^)]*[)]|[^{SEPARATORS}])+'
MAX_TEXT = 256
VALIDATION_BATCH_VECTORS = 50  # of 2,048 rows: about 100,000 rows per batch
CONTACT_SCHEMA = pa.DataFrameSchema(
    {
        "phone_e164": pa.Column(str, pa.Check.str_matches(VALID_PHONE_NUMBER_PATTERN),
                                nullable=False),
        "email": pa.Column(str, pa.Check.str_matches(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                           nullable=True),
        "external_id": pa.Column(str, pa.Check.str_length(1, MAX_TEXT), nullable=True),
        "name": pa.Column(str, pa.Check.str_length(1, MAX_TEXT), nullable=True),
    },
    coerce=False,
)
CHECK_WORDS = {
    "phone_e164": "no phone number it could parse",
    "email": "email is not an address",
    "external_id": f"external_id longer than {MAX_TEXT} characters",
    "name": f"name longer than {MAX_TEXT} characters",
}


@dataclass(frozen=True)
class ContactLoad:
    load_id: str
    rows_read: int
    new_contacts: int
    changed_contacts: int
    unchanged_contacts: int
    duplicate_rows: int
    rejected: int
    reasons: dict[str, int]
    seconds: float

    @property
    def summary(self) -> str:
        lines = [f"{counted(self.rows_read, 'row')} read in {self.seconds:.1f} s: "
                 f"{counted(self.new_contacts, 'new contact')}, {self.changed_contacts:,} "
                 f"changed (a new version), {self.unchanged_contacts:,} unchanged, "
                 f"{counted(self.duplicate_rows, 'duplicate row')} (the last of each number "
                 f"kept), {self.rejected:,} rejected."]
        return "\n".join([*lines, *rejected_lines(self.reasons, "contacts")])


def _text(found: dict, field: str) -> str:
    """The field's text, trimmed, without control characters (a NUL or an escape sequence in a
    name would reach terminals, spreadsheets and mail headers)."""
    column = found.get(field)
    return (f"nullif(trim(regexp_replace(CAST({quoted(column)} AS VARCHAR), '[[:cntrl:]]', '', "
            "'g')), '')") if column else "NULL"


def _labels(found: dict, field: str) -> str:
    column = found.get(field)
    if not column:
        return "CAST([] AS VARCHAR[])"
    # Each label is one match of LABEL_PATTERN; the quotes around a wholly quoted one go.
    return (f"list_sort(list_distinct(list_filter(list_transform(regexp_extract_all("
            f"coalesce(CAST({quoted(column)} AS VARCHAR), ''), '{LABEL_PATTERN}'), "
            "lambda x: CASE WHEN regexp_full_match(trim(x), '\"[^\"]*\"') "
            "THEN trim(trim(x)[2:-2]) ELSE trim(x) END), lambda x: x <> '')))")


def load_contacts(con: duckdb.DuckDBPyConnection, path: Path, *, region: str,
                  list_name: str | None = None, as_of: dt.datetime | None = None,
                  now: dt.datetime | None = None) -> ContactLoad:
    """Load one contacts file into raw.contact_versions, in one transaction."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    as_of = as_of or now
    load_id = uuid.uuid4().hex[:12]
    names = read_file(con, path, "contact_file")
    found: dict = find_columns(names, ALIASES)
    if "phone" not in found:
        raise ConfigError(f"{path} has no phone column (one of {', '.join(ALIASES['phone'])}); "
                          f"its columns: {', '.join(names)}")
    custom = [name for name in names if name not in found.values()]
    # Empty cells are left out (not kept as null): json_merge_patch drops null members, so a
    # null kept here would make an unchanged file hash differently on its next load.
    attributes = ("nullif(to_json(map_from_entries(list_filter([" + ", ".join(
        f"{{'k': {sql_string(name)}, 'v': nullif(trim(CAST({quoted(name)} AS VARCHAR)), '')}}"
        for name in custom) + "], lambda e: e.v IS NOT NULL))), '{}')") if custom else "NULL"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE contact_rows AS
        SELECT row_number,
               {numbers.unscientific_sql(f"CAST({quoted(found['phone'])} AS VARCHAR)")}
                   AS phone_text,
               {_text(found, 'external_id')} AS external_id, {_text(found, 'name')} AS name,
               lower({_text(found, 'email')}) AS email, {_labels(found, 'tags')} AS tags,
               {_labels(found, 'lists')} AS lists, {attributes} AS attributes
        FROM contact_file""")
    con.begin()
    numbers.learn(con, "SELECT phone_text AS number_text FROM contact_rows", region, now)
    parts, joins, e164 = numbers.e164_sql("phone_text", region)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE contact_numbers AS
        SELECT row_number, {e164}
        FROM (SELECT row_number, phone_text, {parts} FROM contact_rows) {joins}""")
    cursor = con.execute("""
        SELECT r.row_number, n.phone_e164, n.phone_problem, r.email, r.external_id, r.name
        FROM contact_rows AS r JOIN contact_numbers AS n USING (row_number)
        ORDER BY r.row_number""")
    reasons: dict[int, str] = {}
    while True:  # a batch at a time: memory stays flat however long the file
        batch = cursor.fetch_df_chunk(VALIDATION_BATCH_VECTORS)
        if batch.empty:
            break
        reasons.update(_validate(batch))
    con.register("contact_rejects", pd.DataFrame(
        {"row_number": list(reasons), "reason": list(reasons.values())},
        columns=["row_number", "reason"]).astype({"row_number": "int64", "reason": "object"}))
    con.execute("""
        INSERT INTO raw.rejected_contacts
        SELECT ?, ?, f.row_number, j.reason, to_json(f), ?
        FROM contact_file AS f JOIN contact_rejects AS j USING (row_number)""",
                [load_id, str(path), now])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE contact_latest AS
        SELECT n.phone_e164 AS phone, r.*, count(*) OVER (PARTITION BY n.phone_e164) AS copies
        FROM contact_rows AS r JOIN contact_numbers AS n USING (row_number)
        WHERE r.row_number NOT IN (SELECT row_number FROM contact_rejects)
        QUALIFY row_number() OVER (PARTITION BY n.phone_e164 ORDER BY r.row_number DESC) = 1""")
    keeps_tags = "tags" in found
    list_literal = f"[{sql_string(list_name)}]" if list_name else "CAST([] AS VARCHAR[])"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE contact_next AS
        WITH merged AS (
            SELECT l.phone, c.phone IS NULL AS is_new, c.version_hash AS old_hash,
                   coalesce(l.external_id, c.external_id) AS external_id,
                   coalesce(l.name, c.name) AS name, coalesce(l.email, c.email) AS email,
                   {'l.tags' if keeps_tags else "coalesce(c.tags, CAST([] AS VARCHAR[]))"}
                       AS tags,
                   list_sort(list_distinct(list_concat(coalesce(c.lists, []), l.lists,
                                                       {list_literal}))) AS lists,
                   CASE WHEN c.attributes IS NULL THEN l.attributes
                        WHEN l.attributes IS NULL THEN c.attributes
                        ELSE json_merge_patch(c.attributes, l.attributes) END AS attributes
            FROM contact_latest AS l
            LEFT JOIN raw.contact_versions AS c ON c.phone = l.phone AND c.valid_to IS NULL
        )
        SELECT *, md5(concat_ws('|', coalesce(external_id, ''), coalesce(name, ''),
                                coalesce(email, ''), array_to_string(tags, ';'),
                                array_to_string(lists, ';'),
                                coalesce(CAST(attributes AS VARCHAR), '')))
                  AS version_hash
        FROM merged""")
    con.execute("""
        UPDATE raw.contact_versions AS c SET valid_to = ?
        FROM contact_next AS n
        WHERE c.phone = n.phone AND c.valid_to IS NULL AND NOT n.is_new
          AND n.version_hash <> n.old_hash""", [as_of])
    con.execute("""
        INSERT INTO raw.contact_versions
        SELECT phone, external_id, name, email, tags, lists, attributes, version_hash,
               CASE WHEN is_new THEN '-infinity'::TIMESTAMPTZ ELSE ? END, NULL, ?, ?
        FROM contact_next WHERE is_new OR version_hash <> old_hash""", [as_of, load_id, now])
    new, changed, unchanged = con.execute("""
        SELECT count(*) FILTER (WHERE is_new),
               count(*) FILTER (WHERE NOT is_new AND version_hash <> old_hash),
               count(*) FILTER (WHERE NOT is_new AND version_hash = old_hash)
        FROM contact_next""").fetchone()
    rows_read = con.execute("SELECT count(*) FROM contact_rows").fetchone()[0]
    duplicates = con.execute("SELECT coalesce(sum(copies - 1), 0) FROM contact_latest"
                             ).fetchone()[0]
    seconds = time.perf_counter() - started
    con.execute("INSERT INTO raw.contact_loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [load_id, str(path), list_name, as_of, rows_read, new, changed, unchanged,
                 duplicates, len(reasons), seconds, now])
    con.commit()
    return ContactLoad(load_id, rows_read, new, changed, unchanged, int(duplicates),
                       len(reasons), dict(Counter(reasons.values())), seconds)


def _validate(frame: pd.DataFrame) -> dict[int, str]:
    """Each failing row's reasons, in words (row number -> reason), from the Pandera contract
    (the number's own problem, when it has one, is the better word for a bad phone)."""
    try:
        CONTACT_SCHEMA.validate(frame, lazy=True)
        return {}
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    reasons: dict[int, list[str]] = {}
    for column, index in zip(cases["column"], cases["index"], strict=True):
        if index is None or pd.isna(index):
            continue
        row = int(frame.loc[int(index), "row_number"])
        words = CHECK_WORDS.get(column, f"{column} failed its check")
        if column == "phone_e164":
            problem = frame.loc[int(index), "phone_problem"]
            words = problem if isinstance(problem, str) else words
        reasons.setdefault(row, [])
        if words not in reasons[row]:
            reasons[row].append(words)
    return {row: mask_numbers("; ".join(words)) for row, words in reasons.items()}
