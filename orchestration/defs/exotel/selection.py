"""Which campaigns a run pulls: a pure function of the campaign list and the pull ledger.

A campaign's receipt window is closed once it is in a terminal status and ended at least
`DLR_FINALIZATION_HOURS` before the pull (delivery receipts arrive up to 72 hours late, seeds
002-004). It is *final* when, in addition, its details reconcile with its stats: a short or empty
page mid-stream looks like the end of the paging, and only the stats can tell. A daily run pulls
campaigns never pulled before and campaigns whose last pull was not final. A campaign whose
window closed but whose details do not reconcile is pulled again on the next runs, up to the
rule `unreconciled_pull_attempts` (dbt_project.yml), then left for a person to look at (the
ingest's stats_reconciliation check names it). A final campaign is not pulled again unless a
backfill names it (by id, or by a range of start dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from orchestration.lib.pull_ledger import LedgerState
from orchestration.lib.rules import TERMINAL_CAMPAIGN_STATUSES


@dataclass(frozen=True)
class CampaignRef:
    channel: str
    campaign_id: str
    status: str
    created_at: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None


@dataclass(frozen=True)
class Backfill:
    """Re-pull chosen campaigns, or those that started within [start_from, start_to] (local)."""

    campaign_ids: frozenset[str] = frozenset()
    start_from: dt.date | None = None
    start_to: dt.date | None = None

    @property
    def is_requested(self) -> bool:
        return bool(self.campaign_ids) or self.start_from is not None or self.start_to is not None


def receipt_window_closed(status: str, end_time: dt.datetime | None, at: dt.datetime,
                          hours: int) -> bool:
    return (
        status in TERMINAL_CAMPAIGN_STATUSES
        and end_time is not None
        and at - end_time >= dt.timedelta(hours=hours)
    )


def parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else None


def campaigns_to_pull(
    listed: Iterable[CampaignRef],
    ledger: Mapping[str, LedgerState],
    *,
    backfill: Backfill | None = None,
    timezone: str = "Asia/Kolkata",
) -> list[CampaignRef]:
    """The campaigns to pull, in list order (oldest first).

    `ledger` holds each campaign with a complete pull; a campaign without one is new.
    """
    if backfill is not None and backfill.is_requested:
        zone = ZoneInfo(timezone)
        chosen = []
        for ref in listed:
            if ref.campaign_id in backfill.campaign_ids:
                chosen.append(ref)
                continue
            if backfill.start_from is None and backfill.start_to is None:
                continue
            started = ref.start_time or ref.created_at
            if started is None:
                continue
            day = started.astimezone(zone).date()
            if (backfill.start_from is None or day >= backfill.start_from) and (
                backfill.start_to is None or day <= backfill.start_to
            ):
                chosen.append(ref)
        return chosen
    return [ref for ref in listed
            if not (state := ledger.get(ref.campaign_id, LedgerState())).is_final
            and not state.given_up]
