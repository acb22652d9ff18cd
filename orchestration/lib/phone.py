"""Masking phone numbers in text people read: error messages, rejection reasons, published copy.

+919876543210 -> +91******3210: the country code and the last four digits stay readable (enough
to tell numbers apart when following up), the rest is hidden. The published copy's SQL masks
phone columns the same way (`orchestration/lib/publish.py`).
"""

from __future__ import annotations

import re

# A phone number inside free text: 8 to 15 digits, optionally after '+', not part of a longer
# run of digits or a word (ids such as sm_12345678 are left alone).
_NUMBER = re.compile(r"(?<![\w+])\+?\d{8,15}(?![\d])")


def mask_number(number: str) -> str:
    if len(number) <= 7:
        return number
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_numbers(text: str) -> str:
    """Every phone-number-like run of digits in `text`, masked."""
    return _NUMBER.sub(lambda match: mask_number(match.group()), text)
