"""Pulling a run's campaigns through one feed: each campaign lands whole or not at all, in order.

The fetching thread runs ahead across campaign boundaries, so these tests pin down what must not
change with it: a campaign the API fails for leaves nothing behind, and the campaigns after it
still land, with their own provider clock and ledger row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest

from orchestration.defs.exotel.pull import (
    SMS,
    CampaignFailure,
    CampaignPull,
    Channel,
    pull_campaigns,
)
from orchestration.lib.exotel import CampaignNotFoundError, ExotelClient, MalformedResponseError
from orchestration.lib.exotel.client import Page
from orchestration.lib.warehouse import connect
from orchestration.sandbox import AccountConfig
from tests.conftest import client_for
from tests.ingest_helpers import open_raw, sandbox_truth

ACCOUNT = AccountConfig(seed=5, voice_campaigns=0, sms_campaigns=3, sms_messages=(2300, 3700))
LOG = logging.getLogger("test_pull")


def _pull(client: ExotelClient, warehouse, channel, campaign_ids: list[str], *,
          workers: int = 1) -> list:
    with open_raw(warehouse) as raw:
        return list(pull_campaigns(client, raw, channel, campaign_ids, run_id="run-1",
                                   dlr_finalization_hours=72, batch_pages=2,
                                   workdir=warehouse.parent, log=LOG, fetch_workers=workers))


def _failing_part_way(campaign_id: str, error: Exception) -> Channel:
    """SMS, except that this campaign's third page raises `error` (after a batch has loaded)."""

    def pages(client: ExotelClient, pulled_id: str) -> Iterator[Page]:
        for number, page in enumerate(client.iter_sms_detail_pages(pulled_id)):
            if pulled_id == campaign_id and number == 2:
                raise error
            yield page

    return dataclasses.replace(SMS, detail_pages=pages)


def _raw_counts(warehouse) -> dict[str, int]:
    con = connect(warehouse, read_only=True)
    try:
        return dict(con.execute("SELECT campaign_id, count(*) FROM raw.sms_messages "
                                "GROUP BY ALL").fetchall())
    finally:
        con.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_a_missing_campaign_is_reported_and_the_ones_after_it_land(start_sandbox, tmp_path,
                                                                   workers: int) -> None:
    server = start_sandbox(ACCOUNT)
    first, second, third = (p.campaign_id for p in server.account.campaigns("sms"))
    warehouse = tmp_path / "warehouse.duckdb"
    with client_for(server) as client:
        outcomes = _pull(client, warehouse, SMS, [first, "sms_camp_gone", second, third],
                         workers=workers)
    # Every request counted once, the siblings' with the client's.
    pulls = [o for o in outcomes if isinstance(o, CampaignPull)]
    assert client.stats.by_kind["campaign"] == 4
    assert client.stats.by_kind["detail"] == sum(p.pages for p in pulls)
    assert client.stats.requests == 4 + sum(p.pages for p in pulls)
    assert [type(o) for o in outcomes] == [CampaignPull, CampaignFailure, CampaignPull,
                                           CampaignPull]
    assert isinstance(outcomes[1].error, CampaignNotFoundError)
    truth = sandbox_truth(server)
    assert _raw_counts(warehouse) == {c: truth[c] for c in (first, second, third)}
    assert all(o.is_reconciled and o.pages > 2 for o in outcomes if isinstance(o, CampaignPull))


@pytest.mark.parametrize("workers", [1, 3])
def test_a_campaign_broken_part_way_leaves_nothing_and_the_next_one_lands(
        start_sandbox, tmp_path, workers: int) -> None:
    server = start_sandbox(ACCOUNT)
    first, broken, last = (p.campaign_id for p in server.account.campaigns("sms"))
    channel = _failing_part_way(broken, MalformedResponseError("page 3 is not the envelope"))
    warehouse = tmp_path / "warehouse.duckdb"
    with client_for(server) as client:
        outcomes = _pull(client, warehouse, channel, [first, broken, last], workers=workers)
    assert [o.campaign_id for o in outcomes] == [first, broken, last]
    assert isinstance(outcomes[1], CampaignFailure)
    truth = sandbox_truth(server)
    assert _raw_counts(warehouse) == {first: truth[first], last: truth[last]}
    con = connect(warehouse, read_only=True)
    ledger = con.execute("SELECT campaign_id FROM raw.campaign_pulls ORDER BY ALL").fetchall()
    con.close()
    assert ledger == sorted([(first,), (last,)])


def test_an_error_that_stops_the_run_rolls_back_the_campaign_in_progress(start_sandbox,
                                                                         tmp_path) -> None:
    server = start_sandbox(ACCOUNT)
    first, stopped, _ = (p.campaign_id for p in server.account.campaigns("sms"))
    channel = _failing_part_way(stopped, RuntimeError("the machine ran out of something"))
    warehouse = tmp_path / "warehouse.duckdb"
    with client_for(server) as client, pytest.raises(RuntimeError, match="ran out"):
        _pull(client, warehouse, channel, [first, stopped], workers=2)
    assert _raw_counts(warehouse) == {first: sandbox_truth(server)[first]}
