"""Phone numbers to E.164 with `phonenumbers`, a million at a time.

`phonenumbers` parses one number in about 30 us: 30 s for a million. But how a number is
parsed (which leading digits are a trunk prefix or a country code, whether its length is
possible) depends only on whether it has a '+', its length and its leading digits, not on its
last six digits. So each distinct *shape* (plus, length, all but the last six digits) is parsed
through its lowest and highest number, and when both agree the result (country code, digits to
drop, or why it cannot be a number) is applied to the whole shape in SQL. A shape whose two
ends disagree, whose parse does not read as "drop some leading digits, prefix a country code"
(Italy's leading zero), or with fewer than 4 leading digits to go on (short numbers, where a
trunk-prefix rule could look deeper), is parsed number by number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import phonenumbers

from orchestration.lib.warehouse import insert_rows

KEPT_DIGITS = 6  # the digits a shape leaves out: they never change how a number parses
MIN_SHAPE_PREFIX = 4


@dataclass(frozen=True)
class Parsed:
    country_code: int | None = None
    drop: int = 0  # leading digits that are not part of the national number
    reason: str | None = None  # why this is not a phone number
    one_by_one: bool = False  # parse each number of the shape on its own


def parse_one(text: str, region: str) -> tuple[str | None, str | None]:
    """(E.164, None) or (None, reason)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        return None, f"not a phone number ({_reason(error)})"
    if not phonenumbers.is_possible_number(number):
        return None, f"not a possible phone number for its country (+{number.country_code})"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def _reason(error: phonenumbers.NumberParseException) -> str:
    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits to dial",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }.get(error.error_type, "unparseable")


def parse_shape(example: str, plus: bool, region: str) -> Parsed:
    """How every number of `example`'s shape parses."""
    e164, reason = parse_one(("+" if plus else "") + example, region)
    if reason is not None:
        return Parsed(reason=reason)
    number = phonenumbers.parse(e164)
    national = e164[1 + len(str(number.country_code)):]
    if not example.endswith(national) or number.italian_leading_zero:
        return Parsed(one_by_one=True)
    return Parsed(number.country_code, len(example) - len(national))


def _parts(text_sql: str, prefix: str = "") -> str:
    """digits, plus and stray (anything but digits, separators and a leading '+': letters,
    an extension) of a number's text, named with `prefix`."""
    return (f"regexp_replace(coalesce({text_sql}, ''), '[^0-9]', '', 'g') AS {prefix}digits, "
            f"starts_with(ltrim(coalesce({text_sql}, '')), '+') AS {prefix}plus, "
            f"regexp_matches(coalesce({text_sql}, ''), '[^0-9+()./ -]') AS {prefix}stray")


def _shape_key(digits: str) -> str:
    return f"left({digits}, greatest(length({digits}) - {KEPT_DIGITS}, 0))"


def learn(con: duckdb.DuckDBPyConnection, texts_sql: str, region: str,
          now: dt.datetime) -> int:
    """Parse the shapes of the numbers `texts_sql` (a query with a `number_text` column) that
    raw.number_shapes does not know yet, and, for shapes read number by number, those numbers
    (raw.number_exceptions). Returns how many numbers `phonenumbers` parsed."""
    shapes = con.execute(f"""
        WITH texts AS (SELECT DISTINCT number_text FROM ({texts_sql})),
        parts AS (SELECT number_text, {_parts('number_text')} FROM texts)
        SELECT plus, length(digits) AS n, {_shape_key('digits')} AS prefix, min(digits),
               max(digits)
        FROM parts
        WHERE NOT stray AND digits <> '' AND NOT EXISTS (
            SELECT 1 FROM raw.number_shapes AS s WHERE s.region = ? AND s.plus = parts.plus
            AND s.n = length(parts.digits) AND s.prefix = {_shape_key('parts.digits')})
        GROUP BY ALL""", [region]).fetchall()
    parsed_count = 0
    rows = []
    for plus, n, prefix, low, high in shapes:
        parsed = parse_shape(low, plus, region)
        parsed_count += 1
        if high != low:
            parsed_count += 1
        if len(prefix) < MIN_SHAPE_PREFIX or (high != low
                                              and parse_shape(high, plus, region) != parsed):
            parsed = Parsed(one_by_one=True)
        rows.append((region, plus, n, prefix, parsed.country_code, parsed.drop, parsed.reason,
                     parsed.one_by_one, now))
    if rows:
        insert_rows(con, "raw.number_shapes", rows)
    singles = con.execute(f"""
        WITH texts AS (SELECT DISTINCT number_text FROM ({texts_sql})),
        parts AS (SELECT number_text, {_parts('number_text')} FROM texts)
        SELECT parts.number_text FROM parts
        JOIN raw.number_shapes AS s ON s.region = ? AND s.one_by_one AND s.plus = parts.plus
            AND s.n = length(parts.digits) AND s.prefix = {_shape_key('parts.digits')}
        WHERE NOT parts.stray AND NOT EXISTS (
            SELECT 1 FROM raw.number_exceptions AS e
            WHERE e.region = ? AND e.original_text = parts.number_text)""",
                          [region, region]).fetchall()
    if singles:
        insert_rows(con, "raw.number_exceptions",
                    [(region, text, *parse_one(text, region), now) for (text,) in singles])
    return parsed_count + len(singles)


def e164_sql(text_sql: str, region: str) -> tuple[str, str, str]:
    """(select expressions, joins, problem expression) turning `text_sql` into `phone_e164`
    through the learned shapes; `learn` must have seen these numbers."""
    region_literal = "'" + region.replace("'", "''") + "'"
    parts = _parts(text_sql, prefix="n_")
    joins = f"""
        LEFT JOIN raw.number_shapes AS n_shape ON n_shape.region = {region_literal}
            AND n_shape.plus = n_plus AND n_shape.n = length(n_digits)
            AND n_shape.prefix = {_shape_key('n_digits')}
        LEFT JOIN raw.number_exceptions AS n_single ON n_shape.one_by_one
            AND n_single.region = {region_literal} AND n_single.original_text = {text_sql}"""
    e164 = ("CASE WHEN n_stray OR n_digits = '' THEN NULL WHEN n_shape.one_by_one "
            "THEN n_single.phone_e164 WHEN n_shape.reason IS NULL "
            "THEN '+' || n_shape.country_code || substr(n_digits, n_shape.drop_digits + 1) END")
    problem = (f"CASE WHEN regexp_full_match(trim({text_sql}), '{SCIENTIFIC}') "
               f"THEN '{SCIENTIFIC_PROBLEM}' "
               "WHEN n_stray THEN 'not a phone number (letters or other characters)' "
               "WHEN n_digits = '' THEN 'no phone number' "
               "WHEN n_shape.one_by_one THEN n_single.reason ELSE n_shape.reason END")
    return parts, joins, f"{e164} AS phone_e164, {problem} AS phone_problem"


# Excel shows a long number as 9.19876E+11 and, saved as CSV, writes that text: the digits after
# the sixth are gone. A number whose mantissa still has every digit (9.16002821260E+11) is read
# back; one that lost digits is rejected with the way to save the column as text.
SCIENTIFIC = "[0-9]([.][0-9]+)?[eE][+]?[0-9]{1,2}"
SCIENTIFIC_PROBLEM = ("written in scientific notation (as Excel shows long numbers), its last "
                      "digits lost: format the column as Text in Excel and save again")


def unscientific(text: str) -> str:
    """`text` with a scientific-notation number that kept all its digits written out."""
    import re

    match = re.fullmatch(r"\s*([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})\s*", text)
    if not match:
        return text
    whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    if len(fraction) < exponent or set(fraction[exponent:]) - {"0"}:
        return text
    return whole + fraction[:exponent]


def unscientific_sql(text_sql: str) -> str:
    """unscientific() in SQL, for a million rows at a time."""
    value = f"trim({text_sql})"
    mantissa = f"replace(split_part(lower({value}), 'e', 1), '.', '')"
    exponent = f"TRY_CAST(ltrim(split_part(lower({value}), 'e', 2), '+') AS INTEGER)"
    return (f"CASE WHEN regexp_full_match({value}, '{SCIENTIFIC}') "
            f"AND length({mantissa}) >= {exponent} + 1 "
            f"AND ltrim(substr({mantissa}, {exponent} + 2), '0') = '' "
            f"THEN left({mantissa}, {exponent} + 1) ELSE {text_sql} END")
