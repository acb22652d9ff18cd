"""Numbers and times as a campaign manager reads them: 12,345 · 97.6% · 3 min 5 s · 09:34 IST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DASH = "—"  # shown for a value that does not exist (a rate over zero, a time not reached)


def count(value: int | float | None) -> str:
    if value is None:
        return DASH
    return f"{round(value):,}"


def pct(value: float | None, *, signed: bool = False) -> str:
    """A fraction in [0, 1] as a percentage with one decimal."""
    if value is None:
        return DASH
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def duration(seconds: float | None) -> str:
    """3 s · 2 min 5 s · 3 h 10 min · 2 d 4 h: the two largest units are enough to read."""
    if seconds is None:
        return DASH
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    parts = []
    for name, size in units:
        amount, whole = divmod(whole, size)
        if amount or parts:
            parts.append(f"{amount} {name}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0 ")) or "0 s"


def local_time(value: dt.datetime | None, zone: ZoneInfo, *, with_date: bool = True) -> str:
    """Wall-clock time in the account's zone, the zone named: 'Wed 18 Nov 2026, 09:34 IST'."""
    if value is None:
        return DASH
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone)
    clock = f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a} {local.day} {local:%b %Y}, {clock}" if with_date else clock


def local_day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return DASH
    return f"{value:%a} {value.day} {value:%b %Y}"


def plural(amount: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if amount == 1 else (plural_form or singular + "s")
    return f"{amount:,} {word}"
