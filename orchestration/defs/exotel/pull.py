"""Pull one campaign into `raw`: whole, or not at all.

The campaign record (with its `stats`), every detail page, the quarantined records and the
ledger row in `raw.campaign_pulls` are written in one DuckDB transaction. A run that dies half
way through a campaign leaves nothing of it behind (DuckDB discards the uncommitted transaction
when the file is next opened), and since the ledger has no row for it, the next run pulls it
again from the start: no duplicate, nothing lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from orchestration.defs.exotel.entities import (
    CALL_ATTEMPT,
    SMS_CAMPAIGN,
    SMS_MESSAGE,
    VOICE_CAMPAIGN,
    Entity,
)
from orchestration.defs.exotel.loader import BatchLoader, BatchResult
from orchestration.defs.exotel.selection import CampaignRef, is_final, parse_time
from orchestration.lib.exotel import ExotelClient, Page
from orchestration.lib.prefetch import prefetch


@dataclass(frozen=True)
class Channel:
    name: str  # "voice" or "sms"
    campaign_entity: Entity
    detail_entity: Entity
    total_stat: str  # the stats field the detail count reconciles with
    list_campaigns: Callable[[ExotelClient], Iterator[dict[str, Any]]]
    get_campaign: Callable[[ExotelClient, str], dict[str, Any]]
    detail_pages: Callable[[ExotelClient, str], Iterator[Page]]

    @property
    def unit_column(self) -> str:
        """What the campaign's stats count: messages, or (voice) contacts."""
        return "to_number" if self.name == "voice" else "sms_sid"


VOICE = Channel(
    "voice", VOICE_CAMPAIGN, CALL_ATTEMPT, "created",
    lambda c: c.iter_voice_campaigns(), lambda c, i: c.get_voice_campaign(i),
    lambda c, i: c.iter_call_detail_pages(i),
)
SMS = Channel(
    "sms", SMS_CAMPAIGN, SMS_MESSAGE, "total",
    lambda c: c.iter_sms_campaigns(), lambda c, i: c.get_sms_campaign(i),
    lambda c, i: c.iter_sms_detail_pages(i),
)
CHANNELS = {"voice": VOICE, "sms": SMS}


@dataclass
class CampaignPull:
    channel: str
    campaign_id: str
    status: str
    pages: int = 0
    details: BatchResult | None = None
    campaign_rejected: bool = False
    is_final: bool = False
    reported_total: int | None = None
    detail_total: int = 0
    seconds: float = 0.0

    @property
    def is_reconciled(self) -> bool:
        return self.reported_total is not None and self.reported_total == self.detail_total

    @property
    def records(self) -> int:
        return 0 if self.details is None else self.details.loaded + self.details.rejected


def to_campaign_ref(channel: str, record: dict[str, Any]) -> CampaignRef:
    return CampaignRef(
        channel=channel,
        campaign_id=str(record.get("id")),
        status=str(record.get("status")),
        created_at=parse_time(record.get("created_at")),
        start_time=parse_time(record.get("start_time")),
        end_time=parse_time(record.get("end_time")),
    )


def _page_lines(page: Page) -> bytes:
    # Runs in the prefetch thread: re-serialising each record is ~0.8 us, far cheaper than
    # building columns in Python, and hands DuckDB one record per line.
    return b"\n".join(map(orjson.dumps, page.records))


def pull_campaign(
    client: ExotelClient,
    con: duckdb.DuckDBPyConnection,
    channel: Channel,
    campaign_id: str,
    *,
    run_id: str,
    dlr_finalization_hours: int,
    batch_pages: int,
    workdir: Path,
    log: logging.Logger,
) -> CampaignPull:
    """Pull one campaign; raises CampaignNotFoundError (nothing written) on a 404."""
    started = time.monotonic()
    record = channel.get_campaign(client, campaign_id)
    loaded_at = dt.datetime.now(dt.UTC)
    pull = CampaignPull(channel.name, campaign_id, str(record.get("status")))
    options = {"campaign_id": campaign_id, "run_id": run_id, "loaded_at": loaded_at,
               "workdir": workdir}
    con.begin()
    try:
        campaign = BatchLoader(con, channel.campaign_entity, **options).load(
            [orjson.dumps(record)]
        )
        if campaign.rejected:
            # A campaign whose own record breaks the contract is quarantined and not pulled:
            # its details could not be tied to trustworthy campaign facts.
            pull.campaign_rejected = True
            con.commit()
            return pull
        details = BatchLoader(con, channel.detail_entity, unit_column=channel.unit_column,
                              **options)
        pull.details = BatchResult()
        batch: list[bytes] = []
        for lines in prefetch(channel.detail_pages(client, campaign_id), depth=2 * batch_pages,
                              transform=_page_lines):
            pull.pages += 1
            if lines:
                batch.append(lines)
            if len(batch) >= batch_pages:
                pull.details += details.load(batch)
                batch = []
                log.info("%s %s: %s records so far (%d pages)", channel.name, campaign_id,
                         f"{pull.records:,}", pull.pages)
        pull.details += details.load(batch)

        pulled_at = client.server_time or dt.datetime.now(dt.UTC)
        end_time = parse_time(record.get("end_time"))
        pull.is_final = is_final(pull.status, end_time, pulled_at, dlr_finalization_hours)
        stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
        reported = stats.get(channel.total_stat)
        pull.reported_total = reported if isinstance(reported, int) else None
        pull.detail_total = details.distinct_units()
        pull.seconds = time.monotonic() - started
        con.execute(
            "INSERT INTO raw.campaign_pulls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [channel.name, campaign_id, run_id, pull.status, end_time, pulled_at, pull.is_final,
             pull.pages, pull.records, pull.details.rejected, pull.detail_total,
             pull.reported_total, pull.is_reconciled, pull.seconds, loaded_at],
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return pull
