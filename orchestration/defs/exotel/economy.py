"""Request economy: how little of a campaign's details a pull has to read.

On a real account the provider's rate limit (200 requests a minute) is the clock, so a campaign
pulled before is read only as far as it can have changed. The campaign record (one request)
carries its `stats`, the provider's own counts by status, and the pull ledger holds the stats
of the campaign's last pull and whether its details reconciled with them then:

- **Nothing changed.** The stats equal those of the last pull and that pull's details
  reconciled: every message (or contact) is in the status it was, so the detail pages would
  repeat what the warehouse holds. They are skipped, and the skip is recorded with its reason.
  (The SMS stats count `submitted` and `sent` together; a message moving between those two
  pending stages alone is the one change that can hide, and both are pending in every figure.)
- **Only pending messages can have changed.** An SMS campaign whose message count is the one
  held (no new messages) can only change in the messages not yet at their outcome. When those
  are fewer than the campaign's pages, each is asked for on its own
  (`GET /v1/Accounts/{sid}/Sms/Messages/{SmsSid}`, seed 004) and lands in raw as a new version.
  Messages whose outcome a callback already reported are not asked for: with callbacks, a
  campaign whose pending messages all arrived that way needs no detail request at all.
- **Otherwise** every page is read, as on a first pull: the pull stays the reconciliation of
  record.

**Final before the 72-hour window** (`settled_by_stats`): a campaign in a terminal status whose
stats show nothing pending (SMS `pending` = 0; voice `pending` = `in_progress` = 0), and whose
details reconcile with the stats and hold nothing pending either, can change no more: every
message has its outcome (delivered, failed, rejected and expired are last statuses; a delivery
receipt is what moves a pending message), and a finished voice campaign dials no one again. It
is marked final at once instead of being re-read until 72 hours after its end.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from orchestration.defs.exotel.selection import parse_time
from orchestration.lib.rules import SMS_PENDING_STATUSES, TERMINAL_CAMPAIGN_STATUSES

# The callback kinds that report one message's status (docs/api-contract.md, Callbacks).
MESSAGE_CALLBACK_KINDS = ("sms", "campaign-sms")


@dataclass(frozen=True)
class PreviousPull:
    """What the ledger says of a campaign's last pull that landed."""

    stats: dict[str, Any] | None
    is_reconciled: bool
    detail_total: int
    pending_units: int | None


@dataclass(frozen=True)
class PendingMessage:
    """A message whose latest version held is pending: what a re-poll keeps from it."""

    sms_sid: str
    to_number: str | None
    submitted_at: dt.datetime | None
    parts: int | None


# (campaign_id, campaign created_at, at most how many) -> the campaign's pending messages.
PendingLookup = Callable[[str, "dt.datetime | None", int], list[PendingMessage]]


@dataclass(frozen=True)
class DetailPlan:
    """How one campaign's details are read this run."""

    mode: str  # "pages" | "messages" | "skipped"
    reason: str = ""
    pending: tuple[PendingMessage, ...] = ()
    previous_total: int = 0
    pending_after: int | None = None


def _pages(total: int, page_size: int) -> int:
    # Paging ends on a short page: a campaign of exactly N pages needs one more, empty one.
    return total // page_size + 1


def plan_details(channel: str, record: dict[str, Any], previous: PreviousPull | None,
                 pending: PendingLookup, *, page_size: int) -> DetailPlan:
    """The cheapest way to bring the campaign's details up to date (module docstring)."""
    stats = record.get("stats")
    if previous is None or not isinstance(stats, dict) or previous.stats is None:
        return DetailPlan("pages", "first pull" if previous is None else "no stats to compare")
    if not previous.is_reconciled:
        return DetailPlan("pages", "the last pull did not reconcile with its stats")
    if stats == previous.stats:
        return DetailPlan("skipped", "stats unchanged since the last reconciled pull",
                          previous_total=previous.detail_total,
                          pending_after=previous.pending_units)
    if channel != "sms" or stats.get("total") != previous.detail_total:
        return DetailPlan("pages", "stats changed")
    pages = _pages(previous.detail_total, page_size)
    created_at = parse_time(record.get("created_at"))
    waiting = pending(str(record.get("id")), created_at, pages)
    if not waiting:
        if stats.get("pending") == 0:
            return DetailPlan("skipped", "every message already has its outcome (pulls and "
                              "callbacks)", previous_total=previous.detail_total,
                              pending_after=0)
        return DetailPlan("pages", "stats show pending messages the warehouse holds as done")
    if len(waiting) >= pages:
        return DetailPlan("pages", f"{pages}+ pending messages: the pages are fewer requests")
    return DetailPlan("messages", f"{len(waiting)} pending message(s) asked for one by one "
                      f"instead of {pages} page(s)", pending=tuple(waiting),
                      previous_total=previous.detail_total)


def settled_by_stats(channel: str, status: str, stats: dict[str, Any],
                     pending_units: int | None) -> bool:
    """A terminal campaign whose stats and details both hold nothing pending (module doc)."""
    if status not in TERMINAL_CAMPAIGN_STATUSES:
        return False
    if channel == "voice":
        return stats.get("pending") == 0 and stats.get("in_progress") == 0
    return stats.get("pending") == 0 and pending_units == 0


def message_as_detail(answer: dict[str, Any], known: PendingMessage) -> dict[str, Any]:
    """A single-message answer (seed 004's `SMSMessage`) as a detail record (api-contract.md:
    `Sid` is `sms_sid`, `DateUpdated` `updated_at`, `Price` `cost`). What the answer does not
    carry comes from the version held: submission time and parts. The provider's error code and
    message are not in it: they stay empty, and the warehouse names a failure by its detailed
    status code (dim_error_codes)."""
    status = answer.get("Status")
    price = answer.get("Price")
    try:
        cost: Any = float(price) if price is not None else None
    except (TypeError, ValueError):
        cost = price  # kept as sent: the contract rejects it with its reason
    return {
        "sms_sid": answer.get("Sid"),
        "to": answer.get("To") or known.to_number,
        "status": status,
        "submitted_at": known.submitted_at.isoformat() if known.submitted_at else None,
        "delivered_at": answer.get("DateUpdated") if status == "delivered" else None,
        "updated_at": answer.get("DateUpdated"),
        "error_code": None,
        "error_message": None,
        "detailed_status": answer.get("DetailedStatus"),
        "detailed_status_code": answer.get("DetailedStatusCode"),
        "parts": known.parts,
        "cost": cost,
        "source": "single-message endpoint",
    }


def read_previous_pulls(con: duckdb.DuckDBPyConnection, channel: str) -> dict[str, PreviousPull]:
    """Each campaign's last pull that landed, from `raw.campaign_pulls`."""
    rows = con.execute(
        """
        SELECT campaign_id, arg_max(stats, loaded_at), arg_max(is_reconciled, loaded_at),
               arg_max(detail_total, loaded_at), arg_max(pending_units, loaded_at)
        FROM raw.campaign_pulls
        WHERE channel = ? AND NOT coalesce(campaign_rejected, false)
        GROUP BY campaign_id
        """, [channel]).fetchall()
    return {campaign_id: PreviousPull(orjson.loads(stats) if stats else None,
                                      bool(reconciled), int(total or 0), pending)
            for campaign_id, stats, reconciled, total, pending in rows}


def pending_lookup(con: duckdb.DuckDBPyConnection) -> PendingLookup:
    """Reads a campaign's pending messages from raw (latest version of each) minus those a
    callback reported at their outcome; the fetching threads take turns on `con`."""
    turn = threading.Lock()
    pending_list = ", ".join(f"'{status}'" for status in SMS_PENDING_STATUSES)
    kinds = ", ".join(f"'{kind}'" for kind in MESSAGE_CALLBACK_KINDS)

    def lookup(campaign_id: str, created_at: dt.datetime | None, limit: int
               ) -> list[PendingMessage]:
        with turn:
            return _pending(campaign_id, created_at, limit)

    def _pending(campaign_id: str, created_at: dt.datetime | None, limit: int
                 ) -> list[PendingMessage]:
        rows = con.execute(
            f"""
            WITH latest AS (
                SELECT sms_sid, to_number, status, submitted_at, parts
                FROM raw.sms_messages WHERE campaign_id = $campaign
                QUALIFY row_number() OVER (
                    PARTITION BY sms_sid ORDER BY loaded_at DESC, record_seq DESC) = 1
            ),
            reported AS (
                SELECT DISTINCT payload ->> 'SmsSid' AS sms_sid
                FROM raw.callbacks
                WHERE kind IN ({kinds}) AND reject_reason IS NULL
                  AND received_at >= coalesce($created, TIMESTAMPTZ '1970-01-01 00:00:00+00')
                  AND lower(payload ->> 'Status') NOT IN ({pending_list})
            )
            SELECT sms_sid, to_number, submitted_at, parts FROM latest
            WHERE status IN ({pending_list})
              AND sms_sid NOT IN (SELECT sms_sid FROM reported WHERE sms_sid IS NOT NULL)
            ORDER BY sms_sid
            LIMIT $limit
            """, {"campaign": campaign_id, "created": created_at, "limit": limit}).fetchall()
        return [PendingMessage(*row) for row in rows]

    return lookup
