"""Rows as people read them on a terminal (aligned tables) or take them away (CSV, JSON): one
formatter for every command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from orchestration.lib.cells import safe_cell, terminal_text


def _cell(value: Any, group_digits: bool = True) -> str:
    if value is None:
        return ""
    comma = "," if group_digits else ""
    if isinstance(value, float):
        return (f"{value:{comma}.4f}".rstrip("0").rstrip(".") if value % 1
                else f"{value:{comma}.0f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:{comma}}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return terminal_text(str(value))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
                 group_digits: bool = True) -> str:
    """A plain-text table: numbers right-aligned (with thousands separators: counts)."""
    cells = [[_cell(v, group_digits) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def format_rows(headers: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, *,
                group_digits: bool = True) -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([safe_cell(h) for h in headers])
        writer.writerows([[("" if v is None else safe_cell(v)) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps([dict(zip(headers, row, strict=True)) for row in rows], default=str,
                          indent=2)
    return format_table(headers, rows, group_digits=group_digits)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
