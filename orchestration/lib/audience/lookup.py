"""Finding a person in a published copy whose numbers are masked, without unmasking it.

Every published table with a phone number (recipient_history, dim_contacts, the facts, the
recipient lists) carries `recipient_key` beside it: SHA-256 of a secret key followed by the
number in E.164. Whoever holds the key (the look-up command) hashes a full
number the same way and matches it; whoever only holds the copy cannot reverse the key column
(without the key, 10 billion candidate numbers do not help). The key is RECIPIENT_LOOKUP_KEY
or, when that is unset, a random one kept beside the warehouse (`<warehouse>.lookup-key`,
readable by its owner only), made on first use. It never enters the copy, a log or an error.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from orchestration.lib.settings import Settings

KEY_COLUMN = "recipient_key"


def key_file(settings: Settings) -> Path:
    return settings.warehouse_path.with_name(settings.warehouse_path.name + ".lookup-key")


def lookup_key(settings: Settings) -> str:
    """The key publishing uses: RECIPIENT_LOOKUP_KEY, else the key file (made on first use)."""
    configured = settings.recipient_lookup_key.reveal()
    if configured:
        return configured
    path = key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def recipient_key(key: str, number_e164: str) -> str:
    return hashlib.sha256((key + number_e164).encode()).hexdigest()


def fingerprint(key: str) -> str:
    """Tells copies made with different keys apart, and says nothing of the key."""
    return hashlib.sha256(hashlib.sha256(("fingerprint:" + key).encode()).digest()).hexdigest()
