"""Reading a file a user hands over (CSV, XLSX or Parquet) into DuckDB, every column as text,
and finding its columns by the names people give them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.settings import ConfigError
from orchestration.lib.warehouse import sql_string


def read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    """The file as temp table `table` (its columns as text, plus `row_number`); its column
    names."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    literal = sql_string(str(path))
    if suffix in (".csv", ".txt", ".tsv"):
        source = f"read_csv({literal}, all_varchar = true, header = true)"
    elif suffix == ".parquet":
        source = f"read_parquet({literal})"
    elif suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=str, engine="openpyxl")
        con.register(f"{table}_xlsx", frame)
        source = f"{table}_xlsx"
    else:
        raise ConfigError(f"{path}: expected a .csv, .xlsx or .parquet file")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT row_number() OVER () AS row_number, * FROM {source}")
    except duckdb.Error as error:
        raise ConfigError(f"{path}: cannot be read as {suffix[1:]} "
                          f"({str(error).splitlines()[0]})") from None
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()][1:]


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


def rejected_lines(reasons: dict[str, int], table: str) -> list[str]:
    """A load's rejects in words, most common first, and where the rows are kept."""
    lines = [f"  rejected: {count:,} x {reason}" for reason, count in
             sorted(reasons.items(), key=lambda item: -item[1])]
    return [*lines, f"  (each with its row in {table})"] if lines else []
