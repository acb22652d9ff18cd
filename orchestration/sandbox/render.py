"""Turn the generator's arrays into the contract's JSON, one page at a time.

Pages are rendered from slices only, so serving cost is proportional to the page, not the
campaign. Per-record work is a single f-string: the varying parts (status fragments, costs) are
looked up in small tables, and timestamps are formatted vectorised with numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from orchestration.sandbox.generator import (
    CALL_COMPLETED,
    CALL_STATUSES,
    IST_OFFSET_SECONDS,
    IST_SUFFIX,
    MALFORMED_KINDS,
    SMS_DELIVERED,
    SMS_OUTCOMES,
    SMS_PENDING_STAGES,
    SMS_REJECTED_OUTCOMES,
    STAGE_FINAL,
    STAGE_QUEUED,
    STAGE_SENDING,
    STAGE_SENT,
    STAGE_SUBMITTED,
    CallDetails,
    CampaignPlan,
    SmsDetails,
)

ITEM_PREFIX = '{"code":200,"status":"success","error_data":null,"data":'
CREDITS_PER_PART = {"transactional": 1.0, "service": 1.0, "promotional": 0.8}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _status_fragments() -> list[str]:
    """`"status":…,"error_code":…,…` for each (stage, outcome) pair, indexed stage*N + outcome."""
    fragments = []
    for stage in range(STAGE_FINAL + 1):
        for outcome in SMS_OUTCOMES:
            if stage == STAGE_FINAL:
                status, code, message, detailed, detailed_code = outcome
            else:
                status, detailed = SMS_PENDING_STAGES[stage]
                code = message = detailed_code = None
            fragments.append(
                f'"status":{_json(status)},"error_code":{_json(code)},'
                f'"error_message":{_json(message)},"detailed_status":{_json(detailed)},'
                f'"detailed_status_code":{_json(detailed_code)}'
            )
    return fragments


SMS_FRAGMENTS = _status_fragments()
N_OUTCOMES = len(SMS_OUTCOMES)


def _iso(epochs: np.ndarray) -> list[str]:
    local = (epochs + IST_OFFSET_SECONDS).astype("datetime64[s]")
    return np.datetime_as_string(local, unit="s").tolist()


def _json_times(epochs: np.ndarray, shown: np.ndarray | None = None) -> list[str]:
    """Epoch seconds → quoted JSON timestamps in IST, `null` where not `shown`.

    Records of a page share few distinct seconds (messages go out at 20-200 a second), so only
    the distinct values are formatted; that is most of what makes a page cheap to serve.
    """
    unique, inverse = np.unique(epochs, return_inverse=True)
    local = (unique + IST_OFFSET_SECONDS).astype("datetime64[s]")
    quoted = np.strings.add(np.strings.add('"', np.datetime_as_string(local, unit="s")),
                            f'{IST_SUFFIX}"')
    out = quoted[inverse]
    if shown is not None:
        out = np.where(shown, out, "null")
    return out.tolist()


def render_sms_items(details: SmsDetails, now: int, offset: int, limit: int) -> list[str]:
    """The `response` items of one page of sms-details, as JSON strings."""
    sl = slice(offset, min(offset + limit, details.plan.size))
    if sl.start >= sl.stop:
        return []
    plan = details.plan
    stage = details.stages_at(now, sl)
    outcome = details.outcome[sl]
    submit = details.submit_at[sl]
    rejected = np.isin(outcome, list(SMS_REJECTED_OUTCOMES))
    updated = np.select(
        [stage == STAGE_QUEUED, stage == STAGE_SENDING, stage == STAGE_SUBMITTED,
         stage == STAGE_SENT],
        [np.full(stage.shape, plan.created_at), submit - 1, submit, submit + 2],
        details.final_at[sl],
    )
    shows_submit = (stage >= STAGE_SUBMITTED) & ~rejected
    submitted_json = _json_times(submit, shows_submit)
    updated_json = _json_times(updated)
    # A delivered message's receipt time is its last update.
    delivered_json = np.where(
        (stage == STAGE_FINAL) & (outcome == SMS_DELIVERED), updated_json, "null"
    ).tolist()
    fragment_index = (stage.astype(np.int32) * N_OUTCOMES + outcome).tolist()
    rate = CREDITS_PER_PART[plan.message_type]
    parts = details.parts[sl]
    charged = np.where(shows_submit, parts, 0).tolist()
    cost_text = {p: _json(round(p * rate, 4)) for p in set(charged)}
    token = plan.token
    items = [
        f'{ITEM_PREFIX}{{"sms_sid":"{token}{i:08d}","to":"+91{to}",{SMS_FRAGMENTS[frag]},'
        f'"submitted_at":{sub},"delivered_at":{dlv},"updated_at":{upd},"parts":{p},'
        f'"cost":{cost_text[c]}}}}}'
        for i, to, frag, sub, dlv, upd, p, c in zip(
            range(sl.start, sl.stop), details.recipient[sl].tolist(), fragment_index,
            submitted_json, delivered_json, updated_json, parts.tolist(), charged, strict=True,
        )
    ]
    _apply_faults(items, details.malformed[sl], details.extra_key[sl], _SMS_FIELDS)
    return items


def render_call_items(details: CallDetails, now: int, offset: int, limit: int) -> list[str]:
    """The `response` items of one page of call-details, as JSON strings."""
    rows = details.visible_rows(now)[offset:offset + limit]
    if rows.size == 0:
        return []
    plan = details.plan
    outcome = details.outcome[rows]
    start_s, end_s = _json_times(details.start_at[rows]), _json_times(details.end_at[rows])
    statuses = [CALL_STATUSES[o] for o in outcome.tolist()]
    answered = (outcome == CALL_COMPLETED).tolist()
    token, caller = plan.token, plan.caller_id
    items = []
    for contact, attempt, status, start, end, duration, price, to, ok in zip(
        details.contact[rows].tolist(), details.attempt_number[rows].tolist(), statuses, start_s,
        end_s, details.duration[rows].tolist(), details.price[rows].tolist(),
        details.recipient[rows].tolist(), answered, strict=True,
    ):
        sid = f"{token}{contact:07d}{attempt}"
        recording = (
            f'"https://recordings.exotel.com/{plan.campaign_id}/{sid}.mp3"' if ok else "null"
        )
        items.append(
            f'{ITEM_PREFIX}{{"call_sid":"{sid}","to":"+91{to}","from":"{caller}",'
            f'"status":"{status}","start_time":{start},"end_time":{end},"duration":{duration},'
            f'"recording_url":{recording},"attempt_number":{attempt},"price":{price}}}}}'
        )
    _apply_faults(items, details.malformed[rows], details.extra_key[rows], _CALL_FIELDS)
    return items


# Per entity: (id key, status key, a timestamp key, a money key, a count key).
_SMS_FIELDS = ("sms_sid", "status", "submitted_at", "cost", "parts")
_CALL_FIELDS = ("call_sid", "status", "start_time", "price", "duration")


def _apply_faults(
    items: list[str], malformed: np.ndarray, extra: np.ndarray, fields: tuple[str, ...]
) -> None:
    """Corrupt the chosen records in place (rare, so the slow dict round-trip is fine)."""
    hits = np.flatnonzero((malformed > 0) | extra)
    for position in hits.tolist():
        item = orjson.loads(items[position])
        record = item["data"]
        kind = int(malformed[position])
        if kind:
            id_key, status_key, time_key, money_key, count_key = fields
            name = MALFORMED_KINDS[kind - 1]
            if name == "unknown_status":
                record[status_key] = "in_limbo"
            elif name == "missing_id":
                del record[id_key]
            elif name == "bad_timestamp":
                record[time_key] = "15/02/2024 10:05"
            elif name == "negative_cost":
                record[money_key] = -abs(record[money_key] or 1)
            else:
                record[count_key] = "two"
        if extra[position]:
            record["carrier_ref"] = f"op-{position:05d}"
            record["x_routing"] = {"route": "primary", "region": "IN-KA"}
        items[position] = orjson.dumps(item).decode()


def voice_campaign_object(plan: CampaignPlan, now: int) -> dict[str, Any]:
    status = plan.status_at(now)
    return {
        "id": plan.campaign_id,
        "name": plan.name,
        "status": status,
        "created_at": _iso_one(plan.created_at),
        "start_time": _iso_one(plan.start_at),
        "end_time": _iso_one(plan.end_at) if status == "Completed" else None,
        "caller_id": plan.caller_id,
        "type": "static",
        "retries": {
            "number_of_retries": plan.number_of_retries,
            "interval_mins": plan.interval_mins,
            "mechanism": plan.mechanism,
            "on_status": list(plan.on_status),
        },
    }


def sms_campaign_object(plan: CampaignPlan, now: int) -> dict[str, Any]:
    status = plan.status_at(now)
    return {
        "id": plan.campaign_id,
        "name": plan.name,
        "status": status,
        "created_at": _iso_one(plan.created_at),
        "start_time": _iso_one(plan.start_at),
        "end_time": _iso_one(plan.end_at) if status == "Completed" else None,
        "sender_id": plan.sender_id,
        "message_type": plan.message_type,
        "dlt_template_id": plan.dlt_template_id,
    }


def _iso_one(epoch: int) -> str:
    return _json_times(np.array([epoch], dtype=np.int64))[0].strip('"')


def item_json(record: dict[str, Any]) -> str:
    return f"{ITEM_PREFIX}{_json(record)}}}"


def envelope_bytes(
    items: list[str], *, offset: int, limit: int, total: int | None, request_id: str,
    extra_keys: bool = False,
) -> bytes:
    metadata = {"count": len(items), "offset": offset, "limit": limit}
    if total is not None:
        metadata["total"] = total
    head = (
        f'{{"request_id":"{request_id}","method":"GET","http_code":200,'
        f'"metadata":{_json(metadata)}'
    )
    if extra_keys:
        head += ',"api_version":"v2.3","x_trace":{"node":"sandbox"}'
    return f'{head},"response":[{",".join(items)}]}}'.encode()
