"""Pandera contracts for the four entities the API returns, and the words for their failures.

Each frame holds, per field, the value as the API sent it (`<field>_text`, for fields that need
parsing) and the typed value DuckDB parsed from it (`TRY_CAST`, NULL when unparseable). The
contracts check both: the text has the documented shape (ISO 8601 with an offset, a whole
number, a caller ID...) and the typed value its range. Validation is lazy, so every failed check of
every record is reported, and the failing records are quarantined, not dropped.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandera.typing import Series

from orchestration.lib.ids import ID_PATTERN, ID_RULE
from orchestration.lib.phone import mask_number
from orchestration.lib.statuses import (
    CALL_STATUSES,
    CAMPAIGN_STATUSES,
    MESSAGE_TYPES,
    SMS_STATUSES,
)

STRING = pd.ArrowDtype(pyarrow.string())
TIMESTAMP = pd.ArrowDtype(pyarrow.timestamp("us", tz="UTC"))
INTEGER = pd.ArrowDtype(pyarrow.int64())
NUMBER = pd.ArrowDtype(pyarrow.float64())


# A time of day that can exist, and an offset the world uses (-12:00 to +14:00).
ISO_WITH_OFFSET = (r"^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?"
                   r"(Z|[+-](0\d|1[0-4]):?[0-5]\d)$")
WHOLE_NUMBER = r"^-?\d+(\.0+)?$"
DECIMAL_NUMBER = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$"
E164 = r"^\+[1-9]\d{7,14}$"
# A caller ID is the ExoPhone: national format with a leading 0, or E.164 (docs/api-contract.md).
CALLER_ID = r"^(\+[1-9]\d{7,14}|0[0-9X]{6,14})$"

# Sane ranges, inside what the raw columns can hold (INTEGER, DECIMAL(18, 6), BIGINT): a value
# past them is a broken record, quarantined with its reason, never a failed load.
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
LATEST = pd.Timestamp("2100-01-01", tz="UTC")
MAX_COST = 10_000  # credits or pulses for one message or call attempt
MAX_PARTS = 255  # the most parts a concatenated SMS can have
MAX_DETAILED_STATUS_CODE = 99_999  # five digits: 20000, 30001 ... 30099
MAX_CALL_SECONDS = 24 * 3600
MAX_ATTEMPTS = 100
MAX_COUNT = 10**12  # a campaign's stats
MAX_RETRY_INTERVAL_MINS = 366 * 24 * 60


def _text(pattern: str) -> pa.Field:
    return pa.Field(nullable=True, str_matches=pattern)


def _time() -> pa.Field:
    return pa.Field(nullable=True, ge=EARLIEST, lt=LATEST)


def _real_time(field: str) -> classmethod:
    """A frame check: where `<field>_text` is there, it must have parsed into `field` (DuckDB's
    TRY_CAST gives NULL for a time that cannot exist, such as Feb 30)."""

    def check(cls: type, frame: pd.DataFrame) -> Series[bool]:
        return frame[f"{field}_text"].isna() | frame[field].notna()

    return pa.dataframe_check(name=f"{field}_is_not_a_real_time")(classmethod(check))


def _in_order(first: str, then: str, name: str) -> classmethod:
    """A frame check: where both times are there, `then` is not before `first`."""

    def check(cls: type, frame: pd.DataFrame) -> Series[bool]:
        both = frame[first].notna() & frame[then].notna()
        return ~both | (frame[then] >= frame[first]).fillna(True)

    return pa.dataframe_check(name=name)(classmethod(check))


class SmsMessageContract(pa.DataFrameModel):
    """One SMS message (`sms-details` item)."""

    sms_sid: Series[STRING] = pa.Field(nullable=False)
    # Any number the provider sent to is data, E.164 or not: an invalid number is one of the
    # provider's own failure categories, so it lands and is flagged (is_valid_number in dbt).
    to_number: Series[STRING] = pa.Field(nullable=True)
    status: Series[STRING] = pa.Field(nullable=False, isin=SMS_STATUSES)
    submitted_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    delivered_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    updated_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    submitted_at: Series[TIMESTAMP] = _time()
    delivered_at: Series[TIMESTAMP] = _time()
    updated_at: Series[TIMESTAMP] = _time()
    detailed_status_code_text: Series[STRING] = _text(WHOLE_NUMBER)
    detailed_status_code: Series[INTEGER] = pa.Field(nullable=True, ge=0,
                                                     le=MAX_DETAILED_STATUS_CODE)
    parts_text: Series[STRING] = _text(WHOLE_NUMBER)
    parts: Series[INTEGER] = pa.Field(nullable=True, ge=0, le=MAX_PARTS)
    cost_text: Series[STRING] = _text(DECIMAL_NUMBER)
    cost: Series[NUMBER] = pa.Field(nullable=True, ge=0, le=MAX_COST)

    submitted_at_parses = _real_time("submitted_at")
    delivered_at_parses = _real_time("delivered_at")
    updated_at_parses = _real_time("updated_at")

    delivered_after_submitted = _in_order("submitted_at", "delivered_at",
                                          "delivered_before_submitted")

    class Config:
        strict = False  # error_code, error_message... are free text


class CallAttemptContract(pa.DataFrameModel):
    """One call attempt (`call-details` item, a CDR)."""

    call_sid: Series[STRING] = pa.Field(nullable=False)
    to_number: Series[STRING] = pa.Field(nullable=True)  # flagged, not refused (as for SMS)
    from_number: Series[STRING] = pa.Field(nullable=True, str_matches=CALLER_ID)
    status: Series[STRING] = pa.Field(nullable=False, isin=CALL_STATUSES)
    start_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    end_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    start_time: Series[TIMESTAMP] = _time()
    end_time: Series[TIMESTAMP] = _time()
    duration_text: Series[STRING] = _text(WHOLE_NUMBER)
    duration: Series[INTEGER] = pa.Field(nullable=True, ge=0, le=MAX_CALL_SECONDS)
    attempt_number_text: Series[STRING] = _text(WHOLE_NUMBER)
    attempt_number: Series[INTEGER] = pa.Field(nullable=True, ge=1, le=MAX_ATTEMPTS)
    price_text: Series[STRING] = _text(DECIMAL_NUMBER)
    price: Series[NUMBER] = pa.Field(nullable=True, ge=0, le=MAX_COST)

    end_not_before_start = _in_order("start_time", "end_time", "end_time_before_start_time")
    start_time_parses = _real_time("start_time")
    end_time_parses = _real_time("end_time")

    @pa.dataframe_check(name="connected_call_without_start_time")
    @classmethod
    def connected_has_start(cls, frame: pd.DataFrame) -> Series[bool]:
        return (frame["status"] != "completed").fillna(True) | frame["start_time"].notna()

    class Config:
        strict = False


class _CampaignContract(pa.DataFrameModel):
    campaign_id: Series[STRING] = pa.Field(nullable=False, str_matches=ID_PATTERN)
    status: Series[STRING] = pa.Field(nullable=False, isin=CAMPAIGN_STATUSES)
    created_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    start_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    end_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    created_at: Series[TIMESTAMP] = _time()
    start_time: Series[TIMESTAMP] = _time()
    end_time: Series[TIMESTAMP] = _time()

    created_at_parses = _real_time("created_at")
    start_time_parses = _real_time("start_time")
    end_time_parses = _real_time("end_time")
    end_not_before_start = _in_order("start_time", "end_time", "end_time_before_start_time")

    class Config:
        strict = False


def _count() -> pa.Field:
    return pa.Field(nullable=True, ge=0, le=MAX_COUNT)


VOICE_STATS = ("created", "completed", "failed", "pending", "in_progress", "busy", "no_answer")
SMS_STATS = ("total", "submitted", "delivered", "failed", "pending", "rejected")


def _with_stats(base: type[pa.DataFrameModel], stats: tuple[str, ...]) -> type:
    """`base` plus, for each stat, its text (a whole number) and its count (in range): the
    fields entities.py reads from the campaign's `stats` object, declared from the same list."""
    annotations: dict[str, object] = {}
    fields: dict[str, pa.Field] = {}
    for stat in stats:
        annotations[f"stats_{stat}_text"] = Series[STRING]
        fields[f"stats_{stat}_text"] = _text(WHOLE_NUMBER)
        annotations[f"stats_{stat}"] = Series[INTEGER]
        fields[f"stats_{stat}"] = _count()
    return type(f"{base.__name__}WithStats", (base,),
                {"__annotations__": annotations, "__module__": __name__, **fields})


class VoiceCampaignContract(_with_stats(_CampaignContract, VOICE_STATS)):
    """One voice campaign with its `stats` (seed 001)."""

    number_of_retries_text: Series[STRING] = _text(WHOLE_NUMBER)
    number_of_retries: Series[INTEGER] = pa.Field(nullable=True, ge=0, le=MAX_ATTEMPTS)
    retry_interval_mins_text: Series[STRING] = _text(WHOLE_NUMBER)
    retry_interval_mins: Series[INTEGER] = pa.Field(nullable=True, ge=0,
                                                    le=MAX_RETRY_INTERVAL_MINS)


class SmsCampaignContract(_with_stats(_CampaignContract, SMS_STATS)):
    """One SMS campaign with its `stats` (seed 000)."""

    message_type: Series[STRING] = pa.Field(nullable=True, isin=MESSAGE_TYPES)


# ---- failures in words ------------------------------------------------------------------

_API_NAMES = {"to_number": "to", "from_number": "from"}
_PATTERN_WORDS = {
    ISO_WITH_OFFSET: "is not an ISO 8601 timestamp with a UTC offset",
    ID_PATTERN: f"is not a valid campaign id ({ID_RULE})",
    WHOLE_NUMBER: "is not a whole number",
    DECIMAL_NUMBER: "is not a number",
    E164: "is not an E.164 phone number",
    CALLER_ID: "is not a caller ID (0-prefixed national number or E.164)",
}
_DATAFRAME_CHECK_WORDS = {
    "end_time_before_start_time": "end_time is before start_time",
    "delivered_before_submitted": "delivered_at is before submitted_at",
    "connected_call_without_start_time": "a completed call has no start_time",
    **{f"{field}_is_not_a_real_time": f"{field} is not a real date and time"
       for field in ("submitted_at", "delivered_at", "updated_at", "start_time", "end_time",
                     "created_at")},
}
# Fields whose values are phone numbers: shown masked in every reason.
_PHONE_FIELDS = frozenset({"to", "from"})


def _field_name(column: str) -> str:
    base = column.removesuffix("_text")
    return _API_NAMES.get(base, base)


def describe_check(column: str | None, check: str, failure_case: object) -> str:
    """One failed check as a sentence a campaign manager can act on."""
    if check in _DATAFRAME_CHECK_WORDS:
        return _DATAFRAME_CHECK_WORDS[check]
    if column is None:
        return f"failed {check}"
    field = _field_name(column)
    if check == "not_nullable":
        return f"{field} is missing"
    value = repr(mask_number(failure_case) if field in _PHONE_FIELDS and
                 isinstance(failure_case, str) else failure_case)
    if check.startswith("isin("):
        return f"{field} {value} is not one of the documented values"
    if check.startswith("str_matches("):
        for pattern, words in _PATTERN_WORDS.items():
            if pattern in check:
                return f"{field} {value} {words}"
        return f"{field} {value} does not have the expected shape"
    if match := re.fullmatch(r"greater_than_or_equal_to\((.+)\)", check):
        bound = match.group(1)
        if bound == "0":
            return f"{field} {value} is negative"
        return f"{field} {value} is before {bound}" if "-" in bound else \
            f"{field} {value} is below {bound}"
    if match := re.fullmatch(r"(less_than_or_equal_to|less_than)\((.+)\)", check):
        return f"{field} {value} is out of range (above {match.group(2)})"
    if check.startswith("dtype("):
        return f"{field} has the wrong type ({check})"
    return f"{field} {value} failed {check}"


def failure_reasons(failure_cases: pd.DataFrame) -> pd.DataFrame:
    """Pandera's failure cases → one row per failing record: `(batch_pos, failed_checks)`.

    Frame-wide failures (no row index: a wrong dtype) are raised, because they mean the loader
    and the contract disagree, not that a record is bad.
    """
    frame_wide = failure_cases[failure_cases["index"].isna()]
    if not frame_wide.empty:
        raise ValueError(
            "the batch as a whole failed its contract: "
            + "; ".join(describe_check(r.column, str(r.check), r.failure_case)
                        for r in frame_wide.itertuples())
        )
    reasons: dict[int, list[str]] = {}
    for row in failure_cases.itertuples():
        sentence = describe_check(row.column, str(row.check), row.failure_case)
        bucket = reasons.setdefault(int(row.index), [])
        if sentence not in bucket:  # a frame check repeats itself once per column
            bucket.append(sentence)
    return pd.DataFrame(
        {"batch_pos": list(reasons), "failed_checks": ["; ".join(v) for v in reasons.values()]}
    )
