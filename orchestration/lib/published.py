"""The published copy, opened read-only, and the SQL a person types against it (one reading
statement, sandboxed, with memory and time limits)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.settings import DEFAULT_QUERY_MEMORY_LIMIT, DEFAULT_QUERY_TIMEOUT_SECONDS


class ReadError(RuntimeError):
    """The published copy is missing, or a query against it failed; the message says why."""


# What an ad-hoc query may do: read the published copy, nothing else. With external access off,
# DuckDB refuses COPY ... TO, ATTACH, EXPORT, INSTALL/LOAD and reading any other file (so
# `read_csv` of a local file is refused too: analysts do that in the duckdb CLI or a notebook,
# against the copy read-only); the configuration is then locked so a query cannot undo it.
# The copy itself is opened read-only, so no statement can change it.
QUERY_SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_persistent_secrets": False,
}


def open_published(path: Path, *, sandboxed: bool = False,
                   memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """The published copy, read-only; `sandboxed` for SQL a person typed (see QUERY_SANDBOX)."""
    if not path.exists():
        raise ReadError(
            f"no published copy at {path}: run `campaign-analytics sync` (or `demo`) first, "
            "or set PUBLISHED_PATH"
        )
    if path.is_dir():
        raise ReadError(f"{path} is a folder, not a published copy: point --published or "
                        "PUBLISHED_PATH at the published .duckdb file")
    try:
        # No Python replacement scans: a table missing from the copy must be an error, not a
        # lookup among this module's Python variables.
        con = duckdb.connect(str(path), read_only=True,
                             config={"python_enable_replacements": False,
                                     **(QUERY_SANDBOX if sandboxed else {}),
                                     **({"memory_limit": memory_limit} if memory_limit else {})})
        con.execute("SET TimeZone = 'UTC'")
        if sandboxed:
            con.execute("SET lock_configuration = true")  # no query can switch it back
    except duckdb.Error as error:
        raise ReadError(f"{path} is not a DuckDB file this version can read "
                        f"({_first_line(error)}): point --published or PUBLISHED_PATH at the "
                        "published copy") from None
    return con


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def run_query(path: Path, sql: str, *, memory_limit: str = DEFAULT_QUERY_MEMORY_LIMIT,
              timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One reading statement against the published copy, within a memory limit and a time
    limit (QUERY_MEMORY_LIMIT, QUERY_TIMEOUT_SECONDS): a runaway query stops with a line that
    says which limit it hit, not when the machine runs out."""
    if not sql.strip().strip(";").strip():
        raise ReadError("the query is empty: give a SQL statement, e.g. "
                        "\"SELECT * FROM marts.dim_campaigns\"")
    con = open_published(path, sandboxed=True, memory_limit=memory_limit)
    timer = threading.Timer(timeout_seconds, con.interrupt)
    timer.start()
    try:
        return _run_one(con, sql)
    except duckdb.InterruptException:
        raise ReadError(f"query stopped after {timeout_seconds:g} s (QUERY_TIMEOUT_SECONDS): "
                        "narrow it (a WHERE, a LIMIT) or raise the limit") from None
    except duckdb.OutOfMemoryException:
        raise ReadError(f"query needed more than {memory_limit} of memory (QUERY_MEMORY_LIMIT): "
                        "narrow it (a WHERE, a LIMIT) or raise the limit") from None
    finally:
        timer.cancel()
        con.close()


def _run_one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as error:
            raise ReadError(f"query failed: {_with_hints(error)}") from None
        if len(statements) != 1:
            raise ReadError(f"give one statement per query, not {len(statements)}: run each "
                            "on its own")
        if statements[0].type not in READ_STATEMENTS:
            kind = statements[0].type.name
            raise ReadError(f"query runs reading statements only (SELECT, WITH, FROM, DESCRIBE, "
                            f"SHOW, SUMMARIZE, EXPLAIN), not {kind}: the published copy is "
                            "read-only")
        cursor = con.execute(statements[0])
        headers = [d[0] for d in cursor.description or []]
        return headers, cursor.fetchall()
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error as error:
        raise ReadError(f"query failed: {_with_hints(error)}") from None


READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# DuckDB's own help after an error's first line: kept, on the same line.
_HINTS = ("Did you mean", "Candidate bindings", "Candidate tables")


def _with_hints(error: BaseException) -> str:
    """An error's first line and DuckDB's hints ("Did you mean ...?"), as one line."""
    lines = [line.strip() for line in str(error).splitlines()]
    hints = [line for line in lines[1:] if line.startswith(_HINTS)]
    return " ".join([_first_line(error), *hints])
