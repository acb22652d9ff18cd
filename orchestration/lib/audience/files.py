"""Reading a file a user hands over (CSV, XLSX or Parquet) into DuckDB, every column as text,
and finding its columns by the names people give them."""

from __future__ import annotations

import atexit
import codecs
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.settings import ConfigError
from orchestration.lib.warehouse import sql_string

MAX_LINE_BYTES = 2_097_152  # DuckDB's max_line_size: a longer CSV line is refused, named
EXCEL_HINT = ("re-save it from Excel as \"CSV UTF-8 (Comma delimited)\", or as an .xlsx "
              "workbook")


def read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    """The file as temp table `table` (its columns as text, plus `row_number`, the row's place
    among the data rows: its line in the file is row_number + 1); its column names.

    Every way a user's file fails to read ends in one line naming the fix (ConfigError)."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder: give the path of a .csv, .xlsx or .parquet "
                          "file inside it")
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xlsm"):
        raise ConfigError(f"{path}: expected a .csv, .xlsx or .parquet file")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path} is empty: it needs a header row and at least one row")
    if suffix in (".xlsx", ".xlsm"):
        source = _register_workbook(con, path, table)
    elif suffix == ".parquet":
        source = f"read_parquet({sql_string(str(path))})"
    else:
        utf8 = _as_utf8(path)
        # Short rows (a trailing field left out) load with the missing fields empty.
        source = (f"read_csv({sql_string(str(utf8))}, all_varchar = true, header = true, "
                  f"null_padding = true, max_line_size = {MAX_LINE_BYTES})")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT row_number() OVER () AS row_number, * FROM {source}")
    except duckdb.Error as error:
        text = str(error)
        if "maximum line size" in text.lower():
            raise ConfigError(f"{path}: a line is longer than {MAX_LINE_BYTES // 1_048_576} MB, "
                              "the most a CSV line may hold: is a field missing its closing "
                              "quote? Shorten it, or save the file as .xlsx or .parquet") from None
        raise ConfigError(f"{path}: cannot be read as {suffix[1:]} "
                          f"({text.splitlines()[0]})") from None
    names = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()][1:]
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if rows == 0:
        raise ConfigError(f"{path} has no rows under its header ({', '.join(names)})")
    return names


def _register_workbook(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> str:
    try:
        frame = pd.read_excel(path, dtype=str, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ConfigError(f"{path} is not an Excel workbook this can read ({type(error).__name__}"
                          f"): open it in Excel and save it as .xlsx again, or as CSV") from None
    if frame.empty and not len(frame.columns):
        raise ConfigError(f"{path} is empty: its first sheet needs a header row and rows")
    con.register(f"{table}_xlsx", frame)
    return f"{table}_xlsx"


def _as_utf8(path: Path) -> Path:
    """`path` itself when it is UTF-8; else a UTF-8 copy in the temp folder, read as UTF-16
    (with its byte-order mark) or Windows-1252 (Excel's plain "CSV"), which DuckDB needs."""
    with path.open("rb") as file:
        head = file.read(4)
    encoding = "utf-16" if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else None
    if encoding is None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            with path.open("rb") as file:
                while chunk := file.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return path
        except UnicodeDecodeError:
            encoding = "cp1252"
    copy = Path(tempfile.mkstemp(prefix="campaign-analytics-", suffix=".csv")[1])
    try:
        with path.open(encoding=encoding, newline="") as source, \
                copy.open("w", encoding="utf-8", newline="") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
    except UnicodeError:
        copy.unlink(missing_ok=True)
        raise ConfigError(f"{path} is not UTF-8 (nor Windows-1252, Excel's plain CSV): "
                          f"{EXCEL_HINT}") from None
    atexit.register(copy.unlink, missing_ok=True)
    return copy


def find_columns(names: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Which of `names` holds each field, by the field's aliases (case, spaces and dashes
    ignored)."""
    by_key = {name.strip().lower().replace(" ", "_").replace("-", "_"): name for name in names}
    found = {}
    for field, candidates in aliases.items():
        match = next((by_key[a] for a in candidates if a in by_key), None)
        if match is not None:
            found[field] = match
    return found


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


REJECTS_HINT = ("  (each with its line and whole row in the published copy: campaign-analytics "
                "query \"SELECT * FROM ops.rejected_file_rows WHERE kind = '{kind}'\"; "
                "in the warehouse raw.rejected_{kind})")


def rejected_lines(reasons: dict[str, int], kind: str) -> list[str]:
    """A load's rejects in words, most common first, and where people can read the rows."""
    lines = [f"  rejected: {count:,} x {reason}" for reason, count in
             sorted(reasons.items(), key=lambda item: -item[1])]
    return [*lines, REJECTS_HINT.format(kind=kind)] if lines else []


def csv_delimiter(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The delimiter DuckDB found in a CSV file (None for other files)."""
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        return None
    try:
        return con.execute("SELECT Delimiter FROM sniff_csv(?)", [str(path)]).fetchone()[0]
    except duckdb.Error:
        return None


# A number written with a decimal comma (1.234,56; 2,5) or a decimal point (1,234.56; 2.5), as
# only that convention can read it: a comma or point followed by other than three digits is a
# decimal mark, and so is the last of two different marks.
_SIGN, _D = "[+-]?", "[0-9]"
COMMA_DECIMAL = (f"{_SIGN}{_D}{{1,3}}([.]{_D}{{3}})+,{_D}+|"
                 f"{_SIGN}{_D}+,({_D}{{1,2}}|{_D}{{4,}})")
POINT_DECIMAL = (f"{_SIGN}{_D}{{1,3}}(,{_D}{{3}})+[.]{_D}+|"
                 f"{_SIGN}{_D}+[.]({_D}{{1,2}}|{_D}{{4,}})")
AMBIGUOUS_NUMBER = "is ambiguous: this file writes decimals both with a comma and with a point"


def _compact(text_sql: str) -> str:
    return f"replace(replace(trim({text_sql}), ' ', ''), chr(160), '')"


def decimal_mark(con: duckdb.DuckDBPyConnection, table: str, text_sql: str,
                 delimiter: str | None) -> str:
    """How a file writes the decimals of one numeric column: 'comma', 'point', or 'mixed'
    (both conventions appear; only values one of them alone can read are read). A column that
    shows neither is read by the file's convention: a decimal comma in a semicolon-separated
    file (Excel's CSV where the comma is the decimal mark), else a point."""
    value = _compact(text_sql)
    commas, points = con.execute(
        f"SELECT count(*) FILTER (WHERE regexp_full_match({value}, '{COMMA_DECIMAL}')), "
        f"count(*) FILTER (WHERE regexp_full_match({value}, '{POINT_DECIMAL}')) "
        f"FROM {table}").fetchone()
    if commas and points:
        return "mixed"
    if commas or points:
        return "comma" if commas else "point"
    return "comma" if delimiter == ";" else "point"


def number_sql(text_sql: str, mark: str) -> str:
    """`text_sql` as DECIMAL(18, 4) read with `mark` (decimal_mark); NULL where it is not a
    number that convention can read."""
    value = _compact(text_sql)
    as_comma = (f"TRY_CAST(replace(replace({value}, '.', ''), ',', '.') AS DECIMAL(18, 4))")
    as_point = f"TRY_CAST(replace({value}, ',', '') AS DECIMAL(18, 4))"
    comma_grouped = f"{_SIGN}{_D}{{1,3}}([.]{_D}{{3}})*(,{_D}+)?|{_SIGN}{_D}+(,{_D}+)?"
    point_grouped = f"{_SIGN}{_D}{{1,3}}(,{_D}{{3}})*([.]{_D}+)?|{_SIGN}{_D}+([.]{_D}+)?"
    if mark == "comma":
        return f"CASE WHEN regexp_full_match({value}, '{comma_grouped}') THEN {as_comma} END"
    if mark == "point":
        return f"CASE WHEN regexp_full_match({value}, '{point_grouped}') THEN {as_point} END"
    return (f"CASE WHEN regexp_full_match({value}, '{_SIGN}{_D}+') THEN {as_point} "
            f"WHEN regexp_full_match({value}, '{COMMA_DECIMAL}') THEN {as_comma} "
            f"WHEN regexp_full_match({value}, '{POINT_DECIMAL}') THEN {as_point} END")


def number_problem_sql(text_sql: str, mark: str, field: str) -> str:
    """Why `text_sql` is no number under `mark`, in words (NULL when it is one)."""
    value = _compact(text_sql)
    ambiguous = (f"WHEN regexp_full_match({value}, '{_SIGN}{_D}{{1,3}}([.,]{_D}{{3}})+') "
                 f"THEN '{field} {AMBIGUOUS_NUMBER}' ") if mark == "mixed" else ""
    return (f"CASE WHEN {number_sql(text_sql, mark)} IS NOT NULL THEN NULL {ambiguous}"
            f"ELSE '{field} is not a number' END")
