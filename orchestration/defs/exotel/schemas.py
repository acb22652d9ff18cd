"""Pandera contracts for the four entities the API returns, and the words for their failures.

Each frame holds, per field, the value as the API sent it (`<field>_text`, for fields that need
parsing) and the typed value DuckDB parsed from it (`TRY_CAST`, NULL when unparseable). The
contracts check both: the text has the documented shape (ISO 8601 with an offset, a whole
number, E.164...) and the typed value its range. Validation is lazy, so every failed check of
every record is reported, and the failing records are quarantined, not dropped.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandera.typing import Series

STRING = pd.ArrowDtype(pyarrow.string())
TIMESTAMP = pd.ArrowDtype(pyarrow.timestamp("us", tz="UTC"))
INTEGER = pd.ArrowDtype(pyarrow.int64())
NUMBER = pd.ArrowDtype(pyarrow.float64())

SMS_STATUSES = ["queued", "sending", "submitted", "sent", "delivered", "failed", "rejected",
                "expired"]
CALL_STATUSES = ["completed", "busy", "no-answer", "failed", "canceled"]
CAMPAIGN_STATUSES = ["Created", "Scheduled", "In-Progress", "Paused", "Completed", "Failed",
                     "Canceled"]
MESSAGE_TYPES = ["transactional", "promotional", "service"]

ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"
WHOLE_NUMBER = r"^-?\d+(\.0+)?$"
DECIMAL_NUMBER = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$"
E164 = r"^\+[1-9]\d{7,14}$"
# A caller ID is the ExoPhone: national format with a leading 0, or E.164 (docs/api-contract.md).
CALLER_ID = r"^(\+[1-9]\d{7,14}|0[0-9X]{6,14})$"


def _text(pattern: str) -> pa.Field:
    return pa.Field(nullable=True, str_matches=pattern)


class SmsMessageContract(pa.DataFrameModel):
    """One SMS message (`sms-details` item)."""

    sms_sid: Series[STRING] = pa.Field(nullable=False)
    to_number: Series[STRING] = pa.Field(nullable=False, str_matches=E164)
    status: Series[STRING] = pa.Field(nullable=False, isin=SMS_STATUSES)
    submitted_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    delivered_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    updated_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    submitted_at: Series[TIMESTAMP] = pa.Field(nullable=True)
    delivered_at: Series[TIMESTAMP] = pa.Field(nullable=True)
    updated_at: Series[TIMESTAMP] = pa.Field(nullable=True)
    detailed_status_code_text: Series[STRING] = _text(WHOLE_NUMBER)
    parts_text: Series[STRING] = _text(WHOLE_NUMBER)
    parts: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    cost_text: Series[STRING] = _text(DECIMAL_NUMBER)
    cost: Series[NUMBER] = pa.Field(nullable=True, ge=0)

    class Config:
        strict = False  # error_code, error_message... are free text


class CallAttemptContract(pa.DataFrameModel):
    """One call attempt (`call-details` item, a CDR)."""

    call_sid: Series[STRING] = pa.Field(nullable=False)
    to_number: Series[STRING] = pa.Field(nullable=False, str_matches=E164)
    from_number: Series[STRING] = pa.Field(nullable=True, str_matches=CALLER_ID)
    status: Series[STRING] = pa.Field(nullable=False, isin=CALL_STATUSES)
    start_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    end_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    start_time: Series[TIMESTAMP] = pa.Field(nullable=True)
    end_time: Series[TIMESTAMP] = pa.Field(nullable=True)
    duration_text: Series[STRING] = _text(WHOLE_NUMBER)
    duration: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    attempt_number_text: Series[STRING] = _text(WHOLE_NUMBER)
    attempt_number: Series[INTEGER] = pa.Field(nullable=True, ge=1)
    price_text: Series[STRING] = _text(DECIMAL_NUMBER)
    price: Series[NUMBER] = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check(name="end_time_before_start_time")
    @classmethod
    def end_not_before_start(cls, frame: pd.DataFrame) -> Series[bool]:
        both = frame["start_time"].notna() & frame["end_time"].notna()
        return ~both | (frame["end_time"] >= frame["start_time"]).fillna(True)

    class Config:
        strict = False


class _CampaignContract(pa.DataFrameModel):
    campaign_id: Series[STRING] = pa.Field(nullable=False)
    status: Series[STRING] = pa.Field(nullable=False, isin=CAMPAIGN_STATUSES)
    created_at_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    start_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    end_time_text: Series[STRING] = _text(ISO_WITH_OFFSET)
    created_at: Series[TIMESTAMP] = pa.Field(nullable=True)
    start_time: Series[TIMESTAMP] = pa.Field(nullable=True)
    end_time: Series[TIMESTAMP] = pa.Field(nullable=True)

    class Config:
        strict = False


class VoiceCampaignContract(_CampaignContract):
    """One voice campaign with its `stats` (seed 001)."""

    stats_created: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_completed: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_failed: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_pending: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_in_progress: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_busy: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_no_answer: Series[INTEGER] = pa.Field(nullable=True, ge=0)


class SmsCampaignContract(_CampaignContract):
    """One SMS campaign with its `stats` (seed 000)."""

    message_type: Series[STRING] = pa.Field(nullable=True, isin=MESSAGE_TYPES)
    stats_total: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_submitted: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_delivered: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_failed: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_pending: Series[INTEGER] = pa.Field(nullable=True, ge=0)
    stats_rejected: Series[INTEGER] = pa.Field(nullable=True, ge=0)


# ---- failures in words ------------------------------------------------------------------

_API_NAMES = {"to_number": "to", "from_number": "from"}
_PATTERN_WORDS = {
    ISO_WITH_OFFSET: "is not an ISO 8601 timestamp with a UTC offset",
    WHOLE_NUMBER: "is not a whole number",
    DECIMAL_NUMBER: "is not a number",
    E164: "is not an E.164 phone number",
    CALLER_ID: "is not a caller ID (0-prefixed national number or E.164)",
}
_DATAFRAME_CHECK_WORDS = {
    "end_time_before_start_time": "end_time is before start_time",
}


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
    value = repr(failure_case)
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
        return f"{field} {value} is below {bound}"
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
