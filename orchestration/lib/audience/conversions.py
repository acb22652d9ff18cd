"""`campaign-analytics conversions load FILE`: purchases or sign-ups, for revenue per campaign.

A row names the person (a phone, or an external_id of a contact loaded before) and has an
amount, a currency and when it happened (occurred_at; a time without a zone is read in
ACCOUNT_TIMEZONE). dbt credits each to the latest campaign that reached the person within
ATTRIBUTION_WINDOW_DAYS before it (mart conversion_attribution). Rows that cannot be stored are
quarantined in raw.rejected_conversions with the reason; a conversion already loaded (same
conversion_id, or the same person, amount, currency and time) is not counted twice.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.audience import numbers
from orchestration.lib.audience.files import (
    csv_delimiter,
    decimal_mark,
    find_columns,
    number_problem_sql,
    number_sql,
    quoted,
    read_file,
    rejected_lines,
)
from orchestration.lib.cells import counted
from orchestration.lib.settings import ConfigError
from orchestration.lib.warehouse import sql_string

ALIASES = {
    "conversion_id": ("conversion_id", "order_id", "transaction_id", "id"),
    "phone": ("phone", "phone_number", "mobile", "msisdn", "number"),
    "external_id": ("external_id", "externalid", "customer_id", "user_id"),
    "amount": ("amount", "revenue", "value"),
    "currency": ("currency", "currency_code"),
    "occurred_at": ("occurred_at", "converted_at", "timestamp", "date", "time"),
}
REQUIRED = ("amount", "currency", "occurred_at")


@dataclass(frozen=True)
class ConversionLoad:
    rows_read: int
    loaded: int
    already_loaded: int
    rejected: int
    reasons: dict[str, int]
    seconds: float
    decimal_mark: str = "point"  # how the file's amounts were read (files.decimal_mark)

    @property
    def summary(self) -> str:
        marks = {"comma": "a decimal comma (1.234,56)", "point": "a decimal point (1,234.56)",
                 "mixed": "both decimal marks (a value only one of them reads; others rejected)"}
        lines = [f"{counted(self.rows_read, 'row')} read in {self.seconds:.1f} s: "
                 f"{counted(self.loaded, 'conversion')} loaded, {self.already_loaded:,} already "
                 f"loaded, {self.rejected:,} rejected; amounts read with "
                 f"{marks[self.decimal_mark]}."]
        return "\n".join([*lines, *rejected_lines(self.reasons, "conversions")])


def _text(found: dict, field: str) -> str:
    column = found.get(field)
    return f"nullif(trim(CAST({quoted(column)} AS VARCHAR)), '')" if column else "NULL"


def load_conversions(con: duckdb.DuckDBPyConnection, path: Path, *, region: str,
                     timezone: str, now: dt.datetime | None = None) -> ConversionLoad:
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    load_id = uuid.uuid4().hex[:12]
    names = read_file(con, path, "conversion_file")
    found = find_columns(names, ALIASES)
    missing = [field for field in REQUIRED if field not in found]
    if missing or not ({"phone", "external_id"} & found.keys()):
        need = missing + ([] if {"phone", "external_id"} & found.keys()
                          else ["phone or external_id"])
        raise ConfigError(f"{path} has no {', '.join(need)} column; its columns: "
                          f"{', '.join(names)}")
    zone = sql_string(timezone)
    mark = decimal_mark(con, "conversion_file", _text(found, "amount"),
                        csv_delimiter(con, path))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE conversion_rows AS
        SELECT row_number, {_text(found, 'conversion_id')} AS conversion_id,
               {numbers.unscientific_sql(_text(found, 'phone'))} AS phone_text,
               {_text(found, 'external_id')} AS external_id,
               {_text(found, 'amount')} AS amount_text,
               upper({_text(found, 'currency')}) AS currency,
               {_text(found, 'occurred_at')} AS occurred_text,
               {number_sql(_text(found, 'amount'), mark)} AS amount,
               {number_problem_sql(_text(found, 'amount'), mark, 'amount')} AS amount_problem,
               CASE WHEN regexp_matches({_text(found, 'occurred_at')},
                                        '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$')
                    THEN TRY_CAST({_text(found, 'occurred_at')} AS TIMESTAMPTZ)
                    ELSE timezone({zone}, TRY_CAST({_text(found, 'occurred_at')} AS TIMESTAMP))
               END AS occurred_at
        FROM conversion_file""")
    con.begin()
    numbers.learn(con, "SELECT phone_text AS number_text FROM conversion_rows "
                  "WHERE phone_text IS NOT NULL", region, now)
    parts, joins, e164 = numbers.e164_sql("phone_text", region)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE conversion_checked AS
        SELECT r.*, n.phone_e164,
               concat_ws('; ',
                   CASE WHEN r.phone_text IS NULL AND r.external_id IS NULL
                        THEN 'no phone or external_id' END,
                   CASE WHEN r.phone_text IS NOT NULL AND n.phone_e164 IS NULL
                        THEN n.phone_problem END,
                   CASE WHEN r.amount IS NULL THEN r.amount_problem
                        WHEN r.amount < 0 THEN 'amount is negative' END,
                   CASE WHEN NOT coalesce(regexp_full_match(r.currency, '[A-Z]{{3}}'), false)
                        THEN 'currency is not a three-letter code' END,
                   CASE WHEN r.occurred_at IS NULL THEN 'occurred_at is not a time' END
               ) AS reason
        FROM conversion_rows AS r
        LEFT JOIN (SELECT row_number, {e164}
                   FROM (SELECT row_number, phone_text, {parts} FROM conversion_rows) {joins})
            AS n USING (row_number)""")
    con.execute("""
        INSERT INTO raw.rejected_conversions
        SELECT ?, ?, f.row_number, c.reason, to_json(f), ?
        FROM conversion_checked AS c JOIN conversion_file AS f USING (row_number)
        WHERE c.reason <> ''""", [load_id, str(path), now])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE conversion_new AS
        SELECT DISTINCT ON (conversion_key) * FROM (
            SELECT *, coalesce('id:' || conversion_id, 'row:' || md5(concat_ws('|',
                       coalesce(phone_e164, ''), coalesce(external_id, ''), amount::VARCHAR,
                       currency, occurred_at::VARCHAR))) AS conversion_key
            FROM conversion_checked WHERE reason = '')
        WHERE conversion_key NOT IN (SELECT conversion_key FROM raw.conversions)""")
    con.execute("""
        INSERT INTO raw.conversions
        SELECT conversion_key, phone_e164, external_id, amount, currency, occurred_at, ?, ?, ?
        FROM conversion_new""", [load_id, str(path), now])
    rows_read, rejected = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason <> '') FROM conversion_checked"
    ).fetchone()
    loaded = con.execute("SELECT count(*) FROM conversion_new").fetchone()[0]
    reasons = dict(con.execute("SELECT reason, count(*) FROM conversion_checked "
                               "WHERE reason <> '' GROUP BY reason").fetchall())
    seconds = time.perf_counter() - started
    con.execute("INSERT INTO raw.conversion_loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [load_id, str(path), rows_read, loaded, rows_read - rejected - loaded,
                 rejected, seconds, now])
    con.commit()
    return ConversionLoad(rows_read, loaded, rows_read - rejected - loaded, rejected, reasons,
                          seconds, mark)
