"""Text from data on its way to a person: a spreadsheet cell, or a terminal.

Names, ids and the provider's words are data: a cell that starts like a formula gets a leading
apostrophe (OWASP's advice against CSV injection), and control characters never reach a file
or a terminal that would act on them (an escape sequence, a carriage return over a line).
"""

from __future__ import annotations

import re
from typing import Any

# What a spreadsheet reads as the start of a formula (OWASP: =, +, -, @, tab, carriage return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A phone number, full or masked (+91******3210): the one kind of cell that starts with '+'
# and stays as it is.
PHONE_NUMBER = re.compile(r"\+[0-9*]{4,20}")
# Control characters, less tab and line breaks (a reason may span lines; XLSX refuses the rest).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TERMINAL_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet should receive it: text neutralised, anything else as it is."""
    if not isinstance(value, str):
        return value
    text = CONTROL_CHARACTERS.sub("", value)
    if text.startswith(FORMULA_START) and not PHONE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def terminal_text(text: str) -> str:
    """`text` with each control character shown as an escape (\\x1b, \\r), not acted on."""
    return TERMINAL_CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 conversion`, `2 conversions`: a count with its noun in the right number."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
