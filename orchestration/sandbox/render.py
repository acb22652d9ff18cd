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


SMS_FRAGMENTS = np.array(_status_fragments(), dtype=object)
N_OUTCOMES = len(SMS_OUTCOMES)
# Record ids carry a fixed-width number; adding this base avoids a format spec per record.
SID_BASE = 10_000_000


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


# "HH:MM:SS" for every second of a day: timestamps become two table look-ups.
_TIME_OF_DAY = np.array(
    [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)], dtype=object
)


def _day_and_time(epochs: np.ndarray) -> tuple[list[str], list[str]]:
    """Local (IST) dates and times of day, for records whose timestamps are mostly distinct."""
    local = epochs + IST_OFFSET_SECONDS
    days, inverse = np.unique(local // 86400, return_inverse=True)
    day_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    return day_text[inverse].tolist(), _TIME_OF_DAY[local % 86400].tolist()


def render_sms_items(details: SmsDetails, now: int, offset: int, limit: int) -> list[str]:
    """The records of one page of sms-details, as JSON strings (unwrapped)."""
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
    shows_delivery = (stage == STAGE_FINAL) & (outcome == SMS_DELIVERED)
    times = _sms_times(submit, shows_submit, updated, shows_delivery)
    # Status and tail fragments combined: one lookup per record instead of two.
    tail_index, tails = _sms_tails(details.parts[sl], shows_submit,
                                   CREDITS_PER_PART[plan.message_type])
    key = (stage.astype(np.int32) * N_OUTCOMES + outcome) * len(tails) + tail_index
    unique_keys, inverse = np.unique(key, return_inverse=True)
    middles = np.array(
        [f"{SMS_FRAGMENTS[k // len(tails)]},{{times}}{tails[k % len(tails)]}"
         for k in unique_keys.tolist()],
        dtype=object,
    )
    # Split each middle template at the times placeholder so records need no .format().
    heads = np.array([m.split("{times}")[0] for m in middles], dtype=object)[inverse].tolist()
    ends = np.array([m.split("{times}")[1] for m in middles], dtype=object)[inverse].tolist()
    token = plan.token
    items = [
        f'{{"sms_sid":"{token}{i}","to":"+91{to}",{head}{when}{end}'
        for i, to, head, when, end in zip(
            range(sl.start + SID_BASE, sl.stop + SID_BASE), details.recipient[sl].tolist(),
            heads, times, ends, strict=True,
        )
    ]
    _apply_faults(items, details.malformed[sl], details.extra_key[sl], _SMS_FIELDS)
    return items


def sms_message_v1(details: SmsDetails, index: int, now: int) -> dict[str, Any]:
    """Message `index` as the single-message endpoint answers it (seed 004's `SMSMessage`):
    rendered from the same page code as the campaign's details, so the two always agree."""
    record = orjson.loads(render_sms_items(details, now, index, 1)[0])
    cost = record.get("cost")
    return {
        "Sid": record.get("sms_sid"),
        "Status": record.get("status"),
        "DetailedStatus": record.get("detailed_status"),
        "DetailedStatusCode": record.get("detailed_status_code"),
        "DateCreated": _iso_one(details.plan.created_at),
        "DateUpdated": record.get("updated_at"),
        "From": details.plan.sender_id,
        "To": record.get("to"),
        "Body": f"{details.plan.name}: message {index + 1}",
        "Direction": "outbound-api",
        "Price": None if cost is None else f"{cost:.2f}" if isinstance(cost, float) else str(cost),
    }


def _sms_tails(
    parts: np.ndarray, charged: np.ndarray, rate: float
) -> tuple[np.ndarray, list[str]]:
    """`,"parts":N,"cost":X}` per message (charged once submitted): indices into a table."""
    width = int(parts.max(initial=1)) + 1
    table = [f',"parts":{p},"cost":{_json(round(p * rate * c, 4))}}}' for c in (0, 1)
             for p in range(width)]
    return charged.astype(np.int32) * width + parts, table


def _sms_times(
    submit: np.ndarray, shows_submit: np.ndarray, updated: np.ndarray, shows_delivery: np.ndarray
) -> list[str]:
    """`"submitted_at":…,"delivered_at":…,"updated_at":…` per message.

    A page holds few distinct (submitted, updated, delivered?) triples, so each distinct one is
    formatted once and the records share the strings.
    """
    # One int64 key per record: (submitted or 0, updated, delivered?) relative to the page.
    base = int(min(updated.min(), submit.min()))
    span = int(updated.max()) - base + 1
    submitted_rel = np.where(shows_submit, submit - base + 1, 0)  # 0 = not submitted
    key = (submitted_rel * span + (updated - base)) * 2 + shows_delivery
    unique, inverse = np.unique(key, return_inverse=True)
    delivered = (unique % 2).astype(bool).tolist()
    updated_u = base + (unique // 2) % span
    submitted_u = unique // 2 // span
    submitted = _json_times(submitted_u + base - 1, submitted_u > 0)
    updated_json = _json_times(updated_u)
    texts = np.array(
        [f'"submitted_at":{s},"delivered_at":{u if d else "null"},"updated_at":{u}'
         for s, u, d in zip(submitted, updated_json, delivered, strict=True)],
        dtype=object,
    )
    return texts[inverse].tolist()


def render_call_items(details: CallDetails, now: int, offset: int, limit: int) -> list[str]:
    """The records of one page of call-details, as JSON strings (unwrapped)."""
    rows = details.visible_rows(now)[offset:offset + limit]
    if rows.size == 0:
        return []
    plan = details.plan
    outcome = details.outcome[rows]
    attempt = details.attempt_number[rows]
    # call_sid = token + fixed-width contact number + attempt digit, as one integer.
    sid_numbers = (details.contact[rows].astype(np.int64) + SID_BASE) * 10 + attempt
    answered = np.flatnonzero(outcome == CALL_COMPLETED)
    recordings = np.full(rows.size, "null", dtype=object)
    recordings[answered] = [
        f'"https://recordings.exotel.com/{plan.campaign_id}/{plan.token}{n}.mp3"'
        for n in sid_numbers[answered].tolist()
    ]
    heads = _CALL_STATUS_FRAGMENTS[outcome].tolist()
    token, caller = plan.token, plan.caller_id
    start_day, start_time = _day_and_time(details.start_at[rows])
    end_day, end_time = _day_and_time(details.end_at[rows])
    items = [
        f'{{"call_sid":"{token}{n}","to":"+91{to}","from":"{caller}",{head}'
        f'"start_time":"{sd}T{st}{IST_SUFFIX}","end_time":"{ed}T{et}{IST_SUFFIX}",'
        f'"duration":{d},"recording_url":{r},"attempt_number":{a},"price":{p}}}'
        for n, to, head, sd, st, ed, et, d, r, a, p in zip(
            sid_numbers.tolist(), details.recipient[rows].tolist(), heads, start_day,
            start_time, end_day, end_time, details.duration[rows].tolist(), recordings.tolist(),
            attempt.tolist(), details.price[rows].tolist(), strict=True,
        )
    ]
    _apply_faults(items, details.malformed[rows], details.extra_key[rows], _CALL_FIELDS)
    return items


_CALL_STATUS_FRAGMENTS = np.array([f'"status":"{s}",' for s in CALL_STATUSES], dtype=object)


# Per entity: (id key, status key, a timestamp key, a money key, a count key).
_SMS_FIELDS = ("sms_sid", "status", "submitted_at", "cost", "parts")
_CALL_FIELDS = ("call_sid", "status", "start_time", "price", "duration")


def _apply_faults(
    items: list[str], malformed: np.ndarray, extra: np.ndarray, fields: tuple[str, ...]
) -> None:
    """Corrupt the chosen records in place (rare, so the slow dict round-trip is fine)."""
    hits = np.flatnonzero((malformed > 0) | extra)
    for position in hits.tolist():
        record = orjson.loads(items[position])
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
        items[position] = orjson.dumps(record).decode()


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


def record_json(record: dict[str, Any]) -> str:
    return _json(record)


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
    # Each record is wrapped as {"code":200,...,"data":RECORD}; the wrapper rides in the join.
    response = f'{ITEM_PREFIX}{("}," + ITEM_PREFIX).join(items)}}}' if items else ""
    return f'{head},"response":[{response}]}}'.encode()
