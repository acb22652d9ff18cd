"""Ids that came from the API are data: checked before they become part of a URL or a file name.

The provider's ids are short tokens (`camp_abc123`, `sms_camp_xyz789`, `a1b2c3d4e5f6`). Anything
else (a `/`, a `..`, a NUL, an empty string) could turn a request or a report file into a path
of the sender's choosing, so it is refused here and the record carrying it is quarantined.
"""

from __future__ import annotations

import re

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
_ID = re.compile(ID_PATTERN)
ID_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit, at most 128"


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_id(value: object, what: str = "campaign id") -> str:
    """`value` if it is a safe id; ValueError naming the rule otherwise."""
    if not is_valid_id(value):
        raise ValueError(f"{value!r} is not a valid {what} ({ID_RULE})")
    return value  # type: ignore[return-value]
