"""A number's original operator and region, from `phonenumbers`' carrier and geocoder data.

Both are prefix tables: the answer for a number is that of its longest listed prefix. So one
lookup per *prefix* as long as the longest listed for its country (India: the country code and
5 digits) answers every number that starts with it; a million recipients cost a few thousand
lookups, kept in raw.number_prefixes and only looked up once. The operator is the one the
number range was allocated to: a ported number keeps its original operator here (the data has
no way to know), and reports say "original operator". For many mobile ranges the region is the
country alone (the data places Indian mobiles in "India", landlines in their city).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import duckdb
import phonenumbers
from phonenumbers import carrier, geocoder
from phonenumbers.carrierdata import CARRIER_DATA
from phonenumbers.geodata import GEOCODE_DATA

from orchestration.lib.rules import VALID_PHONE_NUMBER_PATTERN
from orchestration.lib.warehouse import insert_rows


@cache
def prefix_lengths() -> dict[int, int]:
    """Per country calling code: how many leading digits (code included) decide a number's
    operator and region."""
    lengths: dict[int, int] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        lengths[code] = len(str(code))
    for table in (CARRIER_DATA, GEOCODE_DATA):
        for key in table:
            for size in (1, 2, 3):
                code = int(key[:size])
                if code in lengths:
                    lengths[code] = max(lengths[code], len(key))
                    break
    return lengths


def write_country_codes(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TABLE raw.number_country_codes "
                "(country_code VARCHAR, prefix_length INTEGER)")
    insert_rows(con, "raw.number_country_codes",
                [(str(code), size) for code, size in sorted(prefix_lengths().items())])


def prefix_sql(digits: str) -> tuple[str, str]:
    """(joins, expression): the lookup prefix of `digits` (an E.164 number without its '+'),
    through raw.number_country_codes; country codes are prefix-free, so at most one of the
    three joins matches."""
    joins = "\n".join(
        f"LEFT JOIN raw.number_country_codes AS cc{size} "
        f"ON cc{size}.country_code = left({digits}, {size})" for size in (1, 2, 3))
    length = "coalesce(cc1.prefix_length, cc2.prefix_length, cc3.prefix_length)"
    return joins, f"left({digits}, {length})"


def describe(prefix: str) -> tuple[int, str | None, str | None]:
    """(country code, original operator, region) of every number starting with `prefix`."""
    # Padding to a full length: the data answers by the longest listed prefix, which `prefix`
    # already covers, so the padding digits never change the answer.
    number = phonenumbers.parse("+" + prefix.ljust(max(len(prefix) + 1, 12), "0"))
    operator = carrier.name_for_valid_number(number, "en") or None
    region = geocoder.description_for_valid_number(number, "en") or None
    return number.country_code, operator, region


def update(con: duckdb.DuckDBPyConnection, numbers_sql: str, now: dt.datetime,
           parameters: dict | None = None) -> int:
    """Look up the prefixes of `numbers_sql`'s numbers (a query with a `number` column, bound
    to the named `parameters`) that raw.number_prefixes does not hold yet; how many were
    looked up."""
    write_country_codes(con)
    joins, prefix = prefix_sql("digits")
    missing = [row[0] for row in con.execute(f"""
        WITH numbers AS (
            SELECT DISTINCT ltrim(number, '+') AS digits FROM ({numbers_sql})
            WHERE regexp_full_match(number, '{VALID_PHONE_NUMBER_PATTERN}')
        )
        SELECT DISTINCT {prefix} AS phone_prefix FROM numbers {joins}
        WHERE {prefix} IS NOT NULL AND {prefix} NOT IN (
            SELECT phone_prefix FROM raw.number_prefixes)""", parameters or {}).fetchall()]
    if missing:
        insert_rows(con, "raw.number_prefixes",
                    [(prefix_, *describe(prefix_), now) for prefix_ in missing])
    return len(missing)
