"""What each API entity looks like on the way into `raw`: the fields, how to type them, where.

A field is read from the record as text (DuckDB `read_json` with VARCHAR columns turns numbers
into their text too), then typed with `TRY_CAST`, so a malformed value becomes NULL next to its
original text instead of failing the whole batch; the Pandera contract then names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

from orchestration.defs.exotel.schemas import (
    SMS_STATS,
    VOICE_STATS,
    CallAttemptContract,
    SmsCampaignContract,
    SmsMessageContract,
    VoiceCampaignContract,
)

SQL_TYPES = {"timestamp": "TIMESTAMPTZ", "integer": "BIGINT", "number": "DOUBLE"}


@dataclass(frozen=True)
class FieldSpec:
    column: str  # column in raw and in the validation frame
    source: str  # SQL expression over the read_json row, text-valued
    kind: str = "text"  # text | timestamp | integer | number

    def select_sql(self) -> str:
        if self.kind == "text":
            return f"{self.source} AS {self.column}"
        return (f"{self.source} AS {self.column}_text, "
                f"TRY_CAST({self.source} AS {SQL_TYPES[self.kind]}) AS {self.column}")


@dataclass(frozen=True)
class Entity:
    name: str  # as written to raw.rejected_records.entity
    table: str
    key: str  # natural key column
    read_columns: dict[str, str]  # read_json's columns= argument
    fields: tuple[FieldSpec, ...]
    contract: type[pa.DataFrameModel]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields]


def _flat(*names: str) -> dict[str, str]:
    return {name: "VARCHAR" for name in names}


def _struct(*names: str) -> str:
    return "STRUCT(" + ", ".join(f'"{n}" VARCHAR' for n in names) + ")"


F = FieldSpec

SMS_MESSAGE = Entity(
    name="sms_message",
    table="raw.sms_messages",
    key="sms_sid",
    read_columns=_flat("sms_sid", "to", "status", "submitted_at", "delivered_at", "updated_at",
                       "error_code", "error_message", "detailed_status",
                       "detailed_status_code", "parts", "cost"),
    fields=(
        F("sms_sid", "r.sms_sid"), F("to_number", 'r."to"'), F("status", "r.status"),
        F("submitted_at", "r.submitted_at", "timestamp"),
        F("delivered_at", "r.delivered_at", "timestamp"),
        F("updated_at", "r.updated_at", "timestamp"),
        F("error_code", "r.error_code"), F("error_message", "r.error_message"),
        F("detailed_status", "r.detailed_status"),
        F("detailed_status_code", "r.detailed_status_code", "integer"),
        F("parts", "r.parts", "integer"), F("cost", "r.cost", "number"),
    ),
    contract=SmsMessageContract,
)

CALL_ATTEMPT = Entity(
    name="call_attempt",
    table="raw.call_attempts",
    key="call_sid",
    read_columns=_flat("call_sid", "to", "from", "status", "start_time", "end_time", "duration",
                       "recording_url", "attempt_number", "price"),
    fields=(
        F("call_sid", "r.call_sid"), F("to_number", 'r."to"'), F("from_number", 'r."from"'),
        F("status", "r.status"), F("start_time", "r.start_time", "timestamp"),
        F("end_time", "r.end_time", "timestamp"), F("duration", "r.duration", "integer"),
        F("recording_url", "r.recording_url"),
        F("attempt_number", "r.attempt_number", "integer"), F("price", "r.price", "number"),
    ),
    contract=CallAttemptContract,
)

_CAMPAIGN_COMMON = ("id", "name", "status", "created_at", "start_time", "end_time")
_CAMPAIGN_FIELDS = (
    F("campaign_id", "r.id"), F("name", "r.name"), F("status", "r.status"),
    F("created_at", "r.created_at", "timestamp"), F("start_time", "r.start_time", "timestamp"),
    F("end_time", "r.end_time", "timestamp"),
)

VOICE_CAMPAIGN = Entity(
    name="voice_campaign",
    table="raw.voice_campaigns",
    key="campaign_id",
    read_columns={
        **_flat(*_CAMPAIGN_COMMON, "caller_id"),
        "retries": _struct("number_of_retries", "interval_mins", "mechanism", "on_status"),
        "stats": _struct(*VOICE_STATS),
    },
    fields=(
        *_CAMPAIGN_FIELDS, F("caller_id", "r.caller_id"),
        F("number_of_retries", "r.retries.number_of_retries", "integer"),
        F("retry_interval_mins", "r.retries.interval_mins", "integer"),
        F("retry_mechanism", "r.retries.mechanism"), F("retry_on_status", "r.retries.on_status"),
        *(F(f"stats_{s}", f"r.stats.{s}", "integer") for s in VOICE_STATS),
    ),
    contract=VoiceCampaignContract,
)

SMS_CAMPAIGN = Entity(
    name="sms_campaign",
    table="raw.sms_campaigns",
    key="campaign_id",
    read_columns={
        **_flat(*_CAMPAIGN_COMMON, "sender_id", "message_type", "dlt_template_id"),
        "stats": _struct(*SMS_STATS),
    },
    fields=(
        *_CAMPAIGN_FIELDS, F("sender_id", "r.sender_id"), F("message_type", "r.message_type"),
        F("dlt_template_id", "r.dlt_template_id"),
        *(F(f"stats_{s}", f"r.stats.{s}", "integer") for s in SMS_STATS),
    ),
    contract=SmsCampaignContract,
)
