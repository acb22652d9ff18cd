"""What a Brevo run reads, and landing it. At 100 requests an hour, requests are the clock:

- The campaign list (with statistics) is the change detector: a campaign whose status,
  statistics and `modifiedAt` are as last seen costs nothing more.
- A changed campaign's recipients come from the `all` export (request, poll, download). Once
  its 72-hour retry window has closed (sent, suspended or archived, and unmodified for 72 hours)
  it is exported once more, marked final, and never read again. `draft`/`queued` campaigns have
  sent nothing: no export.
- A failed or stuck export is recorded as such (raw.brevo_campaign_pulls) and taken again on
  the next run; a campaign is never recorded complete from a partial file.
- Transactional SMS: the per-day report over a look-back window is the change detector; a day
  whose counts changed has its events read again (offset paging, 100 a page), each event kept
  once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from orchestration.defs.warehouse.raw_writer import RawWriter

RETRY_WINDOW = dt.timedelta(hours=72)  # seed 003: soft bounces retried for 72 hours
NOTHING_SENT = frozenset({"draft", "queued"})
ENDED = frozenset({"sent", "suspended", "archive"})
RECIPIENT_EVENTS = frozenset({"delivered", "softbounce", "hardbounce", "processing", "replied",
                              "unsubscribed"})
STATISTICS = ("sent", "delivered", "processing", "softBounces", "hardBounces",
              "unsubscriptions", "answered")


@dataclass(frozen=True)
class SeenCampaign:
    """The campaign as the last complete pull left it."""

    modified_at: str | None
    status: str | None
    stats: str | None
    is_final: bool


@dataclass(frozen=True)
class ExportPlan:
    campaign: Mapping[str, Any]
    final: bool  # its retry window has closed: this export is the last


def campaign_key(campaign: Mapping[str, Any]) -> tuple[str | None, str | None, str]:
    return (campaign.get("modifiedAt"), campaign.get("status"),
            json.dumps({k: (campaign.get("statistics") or {}).get(k) for k in STATISTICS},
                       sort_keys=True))


def read_seen(con: duckdb.DuckDBPyConnection) -> dict[str, SeenCampaign]:
    """Each campaign's last complete pull (raw.brevo_campaign_pulls)."""
    rows = con.execute("""
        SELECT campaign_id, arg_max(strftime(modified_at AT TIME ZONE 'UTC',
                                             '%Y-%m-%dT%H:%M:%S.000Z'), pulled_at),
               arg_max(campaign_status, pulled_at), arg_max(CAST(stats AS VARCHAR), pulled_at),
               bool_or(is_final)
        FROM raw.brevo_campaign_pulls WHERE outcome = 'complete' GROUP BY campaign_id
        """).fetchall()
    return {cid: SeenCampaign(modified, status, stats, bool(final))
            for cid, modified, status, stats, final in rows}


def window_closed(campaign: Mapping[str, Any], now: dt.datetime) -> bool:
    modified = parse_time(campaign.get("modifiedAt"))
    return (campaign.get("status") in ENDED and modified is not None
            and now - modified >= RETRY_WINDOW)


def plan_exports(listed: Iterable[Mapping[str, Any]], seen: Mapping[str, SeenCampaign],
                 now: dt.datetime) -> list[ExportPlan]:
    """The campaigns whose recipients must be read this run, oldest first."""
    plans = []
    for campaign in listed:
        cid = str(campaign.get("id"))
        if campaign.get("status") in NOTHING_SENT:
            continue
        before = seen.get(cid)
        if before is not None and before.is_final:
            continue  # its last export after the window: never again
        key = campaign_key(campaign)
        changed = before is None or (before.modified_at, before.status, before.stats) != key
        closed = window_closed(campaign, now)
        if changed or closed:
            plans.append(ExportPlan(campaign, final=closed))
    return sorted(plans, key=lambda p: int(p.campaign.get("id") or 0))


def changed_campaigns(con: duckdb.DuckDBPyConnection,
                      listed: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The listed campaigns whose version (status, statistics, modifiedAt) raw does not hold."""
    columns = ", ".join(f"stats_{snake(k)}" for k in STATISTICS)
    held = {tuple(row) for row in con.execute(f"""
        SELECT campaign_id, modified_at, status, {columns} FROM raw.brevo_sms_campaigns
        """).fetchall()}

    def version(c: Mapping[str, Any]) -> tuple[Any, ...]:
        stats = c.get("statistics") or {}
        return (str(c.get("id")), parse_time(c.get("modifiedAt")), c.get("status"),
                *(_count(stats.get(k)) for k in STATISTICS))

    return [c for c in listed if version(c) not in held]


def land_campaigns(raw: RawWriter, campaigns: Sequence[Mapping[str, Any]],
                   run_id: str, now: dt.datetime) -> None:
    rows = []
    for c in campaigns:
        stats = c.get("statistics") or {}
        rows.append({
            "campaign_id": str(c.get("id")), "name": c.get("name"), "status": c.get("status"),
            "sender": c.get("sender"), "scheduled_at": parse_time(c.get("scheduledAt")),
            "created_at": parse_time(c.get("createdAt")),
            "modified_at": parse_time(c.get("modifiedAt")),
            "list_ids": [str(x) for x in (c.get("recipients") or {}).get("lists") or []],
            **{f"stats_{snake(k)}": _count(stats.get(k)) for k in STATISTICS},
            "record_json": json.dumps(c), "run_id": run_id, "loaded_at": now})
    if rows:
        _insert(raw, "brevo_sms_campaigns", rows)


def land_recipients(raw: RawWriter, campaign_id: str, process_id: int,
                    rows: Iterable[Mapping[str, str]], run_id: str,
                    now: dt.datetime) -> tuple[int, int]:
    """The export's rows, and those that cannot be stored quarantined with the reason: (kept,
    rejected). An event name the contract does not list is kept as given (counted unknown)."""
    kept, rejected = [], []
    for row in rows:
        digits = (row.get("sms") or "").strip().lstrip("+")
        when = parse_time(row.get("date"))
        reason = ("sms is not a phone number" if not (digits.isdigit() and 6 <= len(digits) <= 15)
                  else "date is not a time" if when is None else None)
        if reason:
            rejected.append(_rejected("recipient", campaign_id, reason, row, run_id, now))
            continue
        kept.append({"campaign_id": campaign_id, "process_id": process_id,
                     "contact_id": row.get("contact_id"), "sms": digits,
                     "email": row.get("email") or None, "event": (row.get("event") or "").strip(),
                     "event_at": when, "reason": row.get("reason") or None,
                     "reply": row.get("reply") or None, "record_json": json.dumps(dict(row)),
                     "run_id": run_id, "loaded_at": now})
    if kept:
        _insert(raw, "brevo_recipients", kept)
    if rejected:
        _insert(raw, "brevo_rejected", rejected)
    return len(kept), len(rejected)


def record_pull(raw: RawWriter, campaign: Mapping[str, Any], run_id: str,
                now: dt.datetime, *, outcome: str, process_id: int | None = None,
                detail: str | None = None, recipients: int = 0, rejected: int = 0,
                is_final: bool = False) -> None:
    stats = {k: (campaign.get("statistics") or {}).get(k) for k in STATISTICS}
    raw.insert("brevo_campaign_pulls", "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [str(campaign.get("id")), run_id, parse_time(campaign.get("modifiedAt")),
                campaign.get("status"), json.dumps(stats, sort_keys=True), process_id, outcome,
                detail, recipients, rejected, is_final, now])


def days_to_read(con: duckdb.DuckDBPyConnection,
                 reports: Iterable[Mapping[str, Any]]) -> list[tuple[dt.date, str]]:
    """The report days whose counts differ from the last ones read: (day, counts JSON)."""
    held = dict(con.execute("""
        SELECT day, arg_max(CAST(counts AS VARCHAR), loaded_at)
        FROM raw.brevo_transactional_days GROUP BY day""").fetchall())
    out = []
    for report in reports:
        try:
            day = dt.date.fromisoformat(str(report.get("date"))[:10])
        except ValueError:
            continue
        counts = json.dumps({k: v for k, v in report.items() if k != "date"}, sort_keys=True)
        if held.get(day) != counts:
            out.append((day, counts))
    return out


def land_events(raw: RawWriter, day: dt.date, counts: str,
                events: Iterable[Mapping[str, Any]], run_id: str,
                now: dt.datetime) -> tuple[int, int]:
    """A day's events, each (message, event, time) kept once; then the day's counts, so a run
    killed in between reads the day again. (new, rejected)."""
    fresh, rejected = [], []
    for event in events:
        when = parse_time(event.get("date"))
        message_id = str(event.get("messageId") or "").strip()
        reason = ("messageId is missing" if not message_id
                  else "date is not a time" if when is None else None)
        if reason:
            rejected.append(_rejected("transactional_event", None, reason, event, run_id, now))
            continue
        fresh.append({"message_id": message_id,
                      "phone_number": str(event.get("phoneNumber") or "").lstrip("+") or None,
                      "event": str(event.get("event") or "").strip(), "event_at": when,
                      "reason": event.get("reason") or None, "reply": event.get("reply") or None,
                      "tag": event.get("tag") or None, "record_json": json.dumps(dict(event)),
                      "run_id": run_id, "loaded_at": now})
    added = 0
    con = raw.con
    if fresh:
        con.register("incoming_events", pa.Table.from_pylist(fresh, schema=_EVENT_SCHEMA))
        try:
            # Against the events of this day the lake holds (an event's day is its folder).
            added = raw.insert("brevo_transactional_events", """
                SELECT DISTINCT ON (i.message_id, i.event, i.event_at) i.* FROM incoming_events i
                ANTI JOIN raw.brevo_transactional_events e
                    ON e.message_id = i.message_id AND e.event = i.event
                    AND e.event_at = i.event_at""")
        finally:
            con.unregister("incoming_events")
    if rejected:
        _insert(raw, "brevo_rejected", rejected)
    raw.insert("brevo_transactional_days", "VALUES (?, ?, ?, ?, ?)",
               [day, counts, len(fresh), run_id, now])
    return int(added), len(rejected)


def _rejected(entity: str, campaign_id: str | None, reason: str, record: Mapping[str, Any],
              run_id: str, now: dt.datetime) -> dict[str, Any]:
    """A raw.brevo_rejected row: the record whole, with why it cannot be stored."""
    return {"entity": entity, "campaign_id": campaign_id, "reason": reason,
            "record_json": json.dumps(dict(record)), "run_id": run_id, "loaded_at": now}


def parse_time(value: Any) -> dt.datetime | None:
    """Brevo's UTC ISO times (`2024-05-20T12:30:00.000Z`); None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_EVENT_SCHEMA = pa.schema([
    ("message_id", pa.string()), ("phone_number", pa.string()), ("event", pa.string()),
    ("event_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string()), ("reply", pa.string()),
    ("tag", pa.string()), ("record_json", pa.string()), ("run_id", pa.string()),
    ("loaded_at", pa.timestamp("us", tz="UTC"))])


def _insert(raw: RawWriter, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows in bulk, by column name (an Arrow table through DuckDB's replacement scan)."""
    batch = pa.Table.from_pylist(rows)
    raw.con.register("incoming_rows", batch)
    try:
        columns = ", ".join(f'"{name}"' for name in batch.column_names)
        raw.insert(table, f"({columns}) SELECT {columns} FROM incoming_rows")
    finally:
        raw.con.unregister("incoming_rows")
