"""Breakdown tables (by list, tag, operator, region) as people read them: the named groups by
volume, then the groups that stand for "we could not say" last, with the share of volume they
hold and why; the rate's denominator shown beside it, so the columns divide to the rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

Row = TypeVar("Row")

# The labels the marts give what they cannot place, and why each cannot be placed.
UNPLACED = {
    "unknown": "numbers whose range the number directory (phonenumbers' carrier and geocoder "
               "data) does not place",
    "(not in contacts)": "numbers in no contacts file loaded (`campaign-analytics contacts "
                         "load`)",
}


def placed_first(rows: Iterable[Row], label: Callable[[Row], str],
                 volume: Callable[[Row], float | None]) -> list[Row]:
    """Named groups by volume, largest first; the unplaced ones after them."""
    return sorted(rows, key=lambda row: (label(row) in UNPLACED, -(volume(row) or 0),
                                         str(label(row))))


def top_groups(rows: Sequence[tuple], most: int) -> list[tuple]:
    """Breakdown rows (channel, label, reached, submitted, succeeded, rate) as placed_first
    ordered them, the named groups past the `most` largest folded into one `(N others)` row
    (its counts summed, its rate theirs)."""
    named = [row for row in rows if row[1] not in UNPLACED]
    if len(named) <= most:
        return list(rows)
    rest = named[most:]
    reached, submitted, succeeded = (sum(row[i] or 0 for row in rest) for i in (2, 3, 4))
    folded = (rest[0][0], f"({len(rest)} others)", reached, submitted, succeeded,
              succeeded / submitted if submitted else None)
    return [*named[:most], folded, *[row for row in rows if row[1] in UNPLACED]]


def unplaced_notes(rows: Sequence[Row], label: Callable[[Row], str],
                   volume: Callable[[Row], float | None], *, what: str) -> list[str]:
    """`unknown: 12.3% of messages, numbers whose range ...` for each unplaced group present."""
    total = sum(volume(row) or 0 for row in rows)
    notes = []
    for name, why in UNPLACED.items():
        held = sum(volume(row) or 0 for row in rows if label(row) == name)
        if held and total:
            notes.append(f"{name}: {held / total:.1%} of {what}, {why}")
    return notes
