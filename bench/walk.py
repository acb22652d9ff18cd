"""Walk an account through the client: every campaign, every detail page, counted.

The benchmark's "ceiling": the client fetching and parsing every page, nothing else. A tool of
the benchmark, not part of the product.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.exotel.client import ExotelClient
from orchestration.lib.exotel.errors import CampaignNotFoundError

log = logging.getLogger("campaign_analytics.walk")


@dataclass
class CampaignCount:
    channel: str
    campaign_id: str
    name: str
    status: str
    records: int
    pages: int
    stats: dict[str, Any]


@dataclass
class AccountWalk:
    campaigns: list[CampaignCount] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(c.records for c in self.campaigns)


def walk_account(
    client: ExotelClient,
    *,
    campaign_ids: Iterable[tuple[str, str]] | None = None,
    on_campaign: Callable[[CampaignCount], None] | None = None,
) -> AccountWalk:
    """Count every record of every campaign (or of the given `(channel, id)` pairs).

    A campaign that answers 404 is recorded in `not_found` and the walk goes on; every other
    error stops the walk, because a half-read account must not pass for a whole one.
    """
    started = time.monotonic()
    if campaign_ids is None:
        campaign_ids = [("voice", c["id"]) for c in client.iter_voice_campaigns()]
        campaign_ids += [("sms", c["id"]) for c in client.iter_sms_campaigns()]
    walk = AccountWalk()
    for channel, campaign_id in campaign_ids:
        try:
            if channel == "voice":
                campaign = client.get_voice_campaign(campaign_id)
                pages = client.iter_call_detail_pages(campaign_id)
            else:
                campaign = client.get_sms_campaign(campaign_id)
                pages = client.iter_sms_detail_pages(campaign_id)
            records = page_count = 0
            for page in pages:
                records += len(page.records)
                page_count += 1
        except CampaignNotFoundError as exc:
            log.warning("%s; skipping it", exc)
            walk.not_found.append(campaign_id)
            continue
        count = CampaignCount(
            channel, campaign_id, campaign.get("name", ""), campaign.get("status", ""), records,
            page_count, campaign.get("stats") or {},
        )
        walk.campaigns.append(count)
        if on_campaign is not None:
            on_campaign(count)
    walk.seconds = time.monotonic() - started
    return walk
