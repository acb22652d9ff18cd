"""Which `raw` tables live in the lake, and how each is laid out there.

Their columns are declared once, in the raw DDL (`raw.py`, the providers' `raw.py`); the
warehouse creates them empty in `raw_layout` (the types every reader gets) and `raw.<table>` is
a view over the layout and the table's committed Parquet files (raw_writer.py). The partition
expressions only ever yield safe folder names: a campaign id that is not a plain token (those
are quarantined) lands under `campaign=unnamed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.lib.ids import ID_PATTERN
from orchestration.lib.warehouse import sql_string

LAYOUT_SCHEMA = "raw_layout"


@dataclass(frozen=True)
class LakeTable:
    name: str  # raw.<name>, and the lake's entity
    provider: str  # SQL over a row: its provider's folder
    partition_key: str  # "campaign" or "day"
    partition: str  # SQL over a row: its partition's folder
    order_by: str  # the readers' filters: campaign, then key, then load order


def _campaign(column: str = "campaign_id") -> str:
    return (f"CASE WHEN regexp_full_match(coalesce({column}, ''), {sql_string(ID_PATTERN)}) "
            f"THEN {column} ELSE 'unnamed' END")


def _day(column: str) -> str:
    return f"coalesce(strftime({column}, '%Y-%m-%d'), 'undated')"


_CALLBACK_PROVIDER = "CASE WHEN kind LIKE 'brevo%' THEN 'brevo' ELSE 'exotel' END"

LAKE_TABLES = {t.name: t for t in (
    LakeTable("voice_campaigns", "'exotel'", "campaign", _campaign(), "loaded_at, record_seq"),
    LakeTable("sms_campaigns", "'exotel'", "campaign", _campaign(), "loaded_at, record_seq"),
    LakeTable("call_attempts", "'exotel'", "campaign", _campaign(), "call_sid, record_seq"),
    LakeTable("sms_messages", "'exotel'", "campaign", _campaign(), "sms_sid, record_seq"),
    LakeTable("campaign_pulls", "'exotel'", "campaign", _campaign(), "loaded_at"),
    LakeTable("campaign_pull_failures", "'exotel'", "day", _day("failed_at"), "failed_at"),
    LakeTable("rejected_records",
              "CASE WHEN entity LIKE 'callback%' THEN 'receiver' ELSE 'exotel' END", "day",
              _day("loaded_at"), "entity, campaign_id, loaded_at"),
    LakeTable("ingest_runs", "coalesce(provider, 'exotel')", "day", _day("started_at"),
              "started_at"),
    LakeTable("callbacks", _CALLBACK_PROVIDER, "day", _day("received_at"),
              "kind, received_at, callback_key"),
    LakeTable("callback_segments", "'receiver'", "day", _day("loaded_at"), "segment"),
    LakeTable("brevo_sms_campaigns", "'brevo'", "campaign", _campaign(), "loaded_at"),
    LakeTable("brevo_recipients", "'brevo'", "campaign", _campaign(), "sms, event_at"),
    LakeTable("brevo_campaign_pulls", "'brevo'", "campaign", _campaign(), "pulled_at"),
    LakeTable("brevo_transactional_events", "'brevo'", "day", _day("event_at"),
              "message_id, event_at"),
    LakeTable("brevo_transactional_days", "'brevo'", "day", _day("day"), "loaded_at"),
    LakeTable("brevo_rejected", "'brevo'", "day", _day("loaded_at"), "entity, loaded_at"),
)}


def table_name(name: str) -> str:
    """`raw.sms_messages` or `sms_messages` -> `sms_messages`, if it is a lake table."""
    short = name.removeprefix("raw.")
    if short not in LAKE_TABLES:
        raise KeyError(f"raw.{short} is not a lake table")
    return short
