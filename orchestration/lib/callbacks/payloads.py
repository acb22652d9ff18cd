"""What each callback endpoint accepts, as the provider sends it (docs/api-contract.md).

A callback is kept as received (every field, known or not) with a reason when it cannot be used.
The checks are only what the warehouse needs to place a status: the id that names the message,
call or campaign (a safe token: it may end up in a URL or a file name), a status from the
provider's vocabulary, times that parse, and numbers that are numbers. Everything else is
interpreted downstream, in dbt staging.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from orchestration.lib.ids import is_valid_id
from orchestration.lib.statuses import CALL_STATUSES, CAMPAIGN_STATUSES, SMS_STATUSES

# The provider's timestamps: seed 004's sample carries an offset ("2025-01-15T10:30:05+05:30"),
# its table shows none ("2025-01-15 10:30:05", read in the account's zone downstream).
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
WHOLE_NUMBER = re.compile(r"^\d{1,9}$")
EPOCH = re.compile(r"^\d{9,11}$")
# Brevo's webhook statuses (../shared/brevo-contract.md; reply and unsubscribe added there).
BREVO_SMS_STATUSES = ("sent", "delivered", "soft_bounce", "hard_bounce", "reply", "unsubscribe")
# A status time this far ahead of the receiver's clock is impossible, not "newest".
MAX_CLOCK_AHEAD_HOURS = 24


@dataclass(frozen=True)
class Endpoint:
    """One callback endpoint: its URL path, the kind stored with each callback, and its rules."""

    kind: str
    path: str
    what: str
    required: tuple[str, ...]
    ids: tuple[str, ...] = ()
    status_field: str | None = None
    statuses: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    lower_status: bool = True
    # UTC epoch seconds (Brevo's ts_event): whole, and not ahead of the receiver's clock.
    epochs: tuple[str, ...] = ()
    # How the sender proves itself: "query" (?token=, Exotel's URLs) or "bearer" (an
    # `Authorization: Bearer` header, or the token as the password of the URL's credentials:
    # Brevo's unsigned webhooks).
    auth: str = "query"
    _status_set: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_status_set", frozenset(
            s.lower() if self.lower_status else s for s in self.statuses))

    def problems(self, payload: Mapping[str, Any]) -> list[str]:
        """Why this payload cannot be used, in words (empty when it can)."""
        found: list[str] = []
        for name in self.required:
            if _blank(payload.get(name)):
                found.append(f"{name} is missing")
        for name in self.ids:
            value = payload.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # Brevo's webhook ids are integers: compared as text
            if not _blank(value) and not is_valid_id(value):
                found.append(f"{name} is not a valid id")
        if self.status_field and not _blank(payload.get(self.status_field)):
            status = str(payload[self.status_field])
            if (status.lower() if self.lower_status else status) not in self._status_set:
                found.append(f"{self.status_field} {status[:40]!r} is not one of "
                             f"{', '.join(self.statuses)}")
        for name in self.times:
            value = payload.get(name)
            if not _blank(value) and not _is_time(value):
                found.append(f"{name} {str(value)[:40]!r} is not a timestamp")
            elif not _blank(value) and _is_ahead(value):
                found.append(f"{name} {str(value)[:40]!r} is more than "
                             f"{MAX_CLOCK_AHEAD_HOURS} hours ahead of the receiver's clock")
        for name in self.numbers:
            value = payload.get(name)
            if not _blank(value) and not WHOLE_NUMBER.fullmatch(str(value)):
                found.append(f"{name} {str(value)[:20]!r} is not a whole number")
        for name in self.epochs:
            value = payload.get(name)
            if _blank(value):
                continue
            if not EPOCH.fullmatch(str(value)):
                found.append(f"{name} {str(value)[:20]!r} is not a time in epoch seconds")
            elif int(str(value)) > dt.datetime.now(dt.UTC).timestamp() + \
                    MAX_CLOCK_AHEAD_HOURS * 3600:
                found.append(f"{name} {str(value)[:20]!r} is more than "
                             f"{MAX_CLOCK_AHEAD_HOURS} hours ahead of the receiver's clock")
        return found


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("sms", "/callbacks/exotel/sms", "SMS delivery report",
             required=("SmsSid", "Status"), ids=("SmsSid",), status_field="Status",
             statuses=tuple(SMS_STATUSES), times=("SentAt", "UpdatedAt"),
             numbers=("DetailedStatusCode",)),
    Endpoint("campaign_sms", "/callbacks/exotel/campaign-sms", "campaign SMS callback",
             required=("SmsSid", "Status"), ids=("SmsSid", "CampaignSid"),
             status_field="Status", statuses=tuple(SMS_STATUSES), times=("DeliveredAt",)),
    Endpoint("call", "/callbacks/exotel/call", "call status callback",
             required=("CallSid", "Status"), ids=("CallSid", "CampaignSid"),
             status_field="Status", statuses=tuple(CALL_STATUSES), times=("DateCreated",),
             numbers=("Duration",)),
    Endpoint("call_schedule", "/callbacks/exotel/call-schedule",
             "call schedule callback",
             required=("To", "FinalStatus", "CampaignSid"), ids=("CampaignSid",),
             status_field="FinalStatus", statuses=tuple(CALL_STATUSES),
             numbers=("AttemptCount",)),
    Endpoint("campaign", "/callbacks/exotel/campaign", "campaign status callback",
             required=("CampaignSid", "Status"), ids=("CampaignSid",), status_field="Status",
             statuses=tuple(CAMPAIGN_STATUSES), lower_status=False),
    Endpoint("inbound_sms", "/callbacks/exotel/inbound-sms", "a recipient's reply",
             required=("From", "Body"), times=("ReceivedAt",)),
    # Brevo's date is Paris local time: ts_event (UTC epoch) is the one used downstream.
    Endpoint("brevo_sms", "/callbacks/brevo/sms", "Brevo SMS webhook (transactional and "
             "marketing)", required=("messageId", "msg_status", "ts_event"),
             ids=("messageId", "campaign_id"), status_field="msg_status",
             statuses=BREVO_SMS_STATUSES, epochs=("ts_event",), auth="bearer"),
)
BY_PATH = {endpoint.path: endpoint for endpoint in ENDPOINTS}
BY_KIND = {endpoint.kind: endpoint for endpoint in ENDPOINTS}


def callback_key(kind: str, payload: Mapping[str, Any]) -> str:
    """The same callback sent again (the provider's retry) has the same key: duplicates count
    once downstream, however often they arrived."""
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(kind.encode() + b"\0" + canonical, digest_size=16).hexdigest()


def landing_line(kind: str, payload: dict[str, Any], reject_reason: str | None) -> bytes:
    """One landed callback, received now, as a line of the landing log (NDJSON)."""
    return orjson.dumps({
        "callback_key": callback_key(kind, payload),
        "kind": kind,
        "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "payload": payload,
        "reject_reason": reject_reason,
    }, default=str) + b"\n"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_ahead(value: str) -> bool:
    """A provider time later than the receiver's clock allows (9999-12-31 would otherwise be
    the newest status for ever). A time without a zone is read in the farthest zone ahead."""
    moment = dt.datetime.fromisoformat(value.replace(" ", "T", 1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=14)))
    limit = dt.datetime.now(dt.UTC) + dt.timedelta(hours=MAX_CLOCK_AHEAD_HOURS)
    return moment > limit


def _is_time(value: object) -> bool:
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:  # Feb 30, 25:61
        return False
    return True
