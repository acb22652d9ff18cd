"""The API client against the real sandbox over loopback."""

from __future__ import annotations

import base64
import logging
import time

import pytest

from bench.walk import walk_account
from orchestration.lib.exotel import (
    AuthenticationError,
    ExotelClient,
    MalformedResponseError,
    RetryPolicy,
    TransientApiError,
)
from orchestration.lib.exotel.rate_limit import SlidingWindowRateLimiter
from orchestration.sandbox import AccountConfig, Faults
from orchestration.sandbox.generator import generate_calls, generate_sms
from tests.conftest import client_for

MULTI_PAGE = AccountConfig(
    seed=5, voice_campaigns=2, sms_campaigns=2, voice_contacts=(1500, 2500),
    sms_messages=(2300, 3700),
)


def _all_sms(client: ExotelClient, campaign_id: str) -> list[dict]:
    return [r for page in client.iter_sms_detail_pages(campaign_id) for r in page.records]


def _all_calls(client: ExotelClient, campaign_id: str) -> list[dict]:
    return [r for page in client.iter_call_detail_pages(campaign_id) for r in page.records]


def test_every_record_of_a_multi_page_campaign_arrives_exactly_once(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    with client_for(server, detail_page_limit=1000) as client:
        for plan in server.account.campaigns("sms"):
            records = _all_sms(client, plan.campaign_id)
            sids = [r["sms_sid"] for r in records]
            assert len(sids) == plan.size > 2000  # three pages or more
            assert len(set(sids)) == len(sids)
        for plan in server.account.campaigns("voice"):
            records = _all_calls(client, plan.campaign_id)
            truth = generate_calls(plan, MULTI_PAGE)
            sids = [r["call_sid"] for r in records]
            assert len(sids) == truth.end_at.size > 1000  # two pages or more
            assert len(set(sids)) == len(sids)


def test_paging_stops_on_a_short_page_even_when_size_is_a_multiple_of_limit(start_sandbox) -> None:
    config = AccountConfig(seed=2, voice_campaigns=0, sms_campaigns=1, sms_messages=(3000, 3000))
    server = start_sandbox(config)
    with client_for(server, detail_page_limit=1000) as client:
        [plan] = server.account.campaigns("sms")
        pages = list(client.iter_sms_detail_pages(plan.campaign_id))
    assert [len(p.records) for p in pages] == [1000, 1000, 1000, 0]


def test_pages_are_yielded_lazily(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    with client_for(server, detail_page_limit=500) as client:
        plan = server.account.campaigns("sms")[0]
        pages = client.iter_sms_detail_pages(plan.campaign_id)
        next(pages)
        assert client.stats.requests == 1  # nothing fetched ahead of the consumer
        pages.close()


def test_every_record_arrives_despite_429s_and_5xxs(start_sandbox) -> None:
    server = start_sandbox(
        MULTI_PAGE, faults=Faults(rate_429=0.2, rate_5xx=0.1, retry_after_seconds=0)
    )
    with client_for(server, detail_page_limit=250) as client:
        walk = walk_account(client)
        assert client.stats.retries > 5
    assert server.stats.faults["429"] > 0 and server.stats.faults["5xx"] > 0
    expected = {p.campaign_id: p.size for p in server.account.campaigns("sms")}
    expected |= {
        p.campaign_id: generate_calls(p, MULTI_PAGE).end_at.size
        for p in server.account.campaigns("voice")
    }
    assert {c.campaign_id: c.records for c in walk.campaigns} == expected


def test_retry_after_is_honoured(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE, faults=Faults(rate_429=0.5, retry_after_seconds=3))
    waits: list[float] = []
    with client_for(server, sleep=waits.append) as client:
        list(client.iter_sms_campaigns())
        for plan in server.account.campaigns("sms"):
            _all_sms(client, plan.campaign_id)
    assert waits and min(waits) >= 3.0


def test_retries_are_bounded_and_fail_clearly(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE, faults=Faults(rate_5xx=1.0))
    retry = RetryPolicy(max_attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.002)
    with client_for(server, retry=retry) as client, pytest.raises(TransientApiError) as caught:
        list(client.iter_voice_campaigns())
    assert "after 4 attempts" in str(caught.value)
    assert client.stats.requests == 4


def test_wrong_credentials_stop_at_once_without_showing_the_token(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    secret = "not-the-right-token-42"
    client = ExotelClient(server.url, server.account_sid, server.api_key, secret,
                          rate_limit_per_minute=0)
    with client, pytest.raises(AuthenticationError) as caught:
        list(client.iter_sms_campaigns())
    assert client.stats.requests == 1  # no retry on 401
    assert "EXOTEL_API_TOKEN" in str(caught.value)
    assert secret not in str(caught.value)


def test_a_missing_campaign_is_reported_and_the_rest_go_on(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    real = [("sms", p.campaign_id) for p in server.account.campaigns("sms")]
    with client_for(server) as client:
        walk = walk_account(client, campaign_ids=[real[0], ("sms", "sms_camp_gone"), real[1]])
    assert walk.not_found == ["sms_camp_gone"]
    assert [c.campaign_id for c in walk.campaigns] == [real[0][1], real[1][1]]
    assert all(c.records == c.stats["total"] for c in walk.campaigns)


def test_a_200_that_is_not_the_envelope_is_an_error_not_an_empty_page(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE, faults=Faults(broken_page_share=1.0))
    plan = server.account.campaigns("sms")[0]
    with client_for(server, detail_page_limit=1000) as client:
        pages = client.iter_sms_detail_pages(plan.campaign_id)
        first = next(pages)  # the sandbox breaks pages after the first
        assert len(first.records) == 1000
        with pytest.raises(MalformedResponseError, match="envelope"):
            next(pages)


def test_the_token_is_absent_from_captured_logs(start_sandbox, caplog) -> None:
    server = start_sandbox(MULTI_PAGE, faults=Faults(rate_429=0.3, rate_5xx=0.2,
                                                     retry_after_seconds=0))
    caplog.set_level(logging.DEBUG)
    with client_for(server) as client:
        walk_account(client)
    bad = ExotelClient(server.url, server.account_sid, server.api_key, "wrong-token",
                       rate_limit_per_minute=0)
    with bad, pytest.raises(AuthenticationError):
        list(bad.iter_sms_campaigns())
    assert any("retry" in r.getMessage() for r in caplog.records)  # we did log something
    basic = base64.b64encode(f"{server.api_key}:{server.api_token}".encode()).decode()
    for record in caplog.records:
        text = record.getMessage()
        assert server.api_token not in text and basic not in text and "wrong-token" not in text


def test_campaign_stats_agree_with_the_details_they_summarise(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    with client_for(server) as client:
        for plan in server.account.campaigns("sms"):
            stats = client.get_sms_campaign(plan.campaign_id)["stats"]
            statuses = [r["status"] for r in _all_sms(client, plan.campaign_id)]
            assert stats["total"] == len(statuses)
            assert stats["delivered"] == statuses.count("delivered")
            assert stats["rejected"] == statuses.count("rejected")
            assert stats["failed"] == statuses.count("failed") + statuses.count("expired")
            assert stats["submitted"] == stats["delivered"] + stats["failed"] + sum(
                statuses.count(s) for s in ("submitted", "sent"))
        for plan in server.account.campaigns("voice"):
            stats = client.get_voice_campaign(plan.campaign_id)["stats"]
            calls = _all_calls(client, plan.campaign_id)
            by_contact: dict[str, list[dict]] = {}
            for call in calls:
                by_contact.setdefault(call["to"], []).append(call)
            connected = sum(any(c["status"] == "completed" for c in v)
                            for v in by_contact.values())
            assert stats["created"] == len(by_contact) == plan.size
            assert stats["completed"] == connected
            finished = stats["completed"] + stats["failed"] + stats["busy"] + stats["no_answer"]
            assert finished + stats["pending"] + stats["in_progress"] == stats["created"]


def test_sliding_window_rate_limit() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = SlidingWindowRateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert slept == []
    now[0] = 10.0
    limiter.acquire()  # the 4th request in the window waits until the 1st leaves it
    assert slept == [pytest.approx(50.0)]
    assert SlidingWindowRateLimiter(0).per_minute == 0


def test_the_client_honours_its_rate_limit(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    with client_for(server) as client:
        client._limiter.window_seconds = 0.5  # 5 requests per half second
        client._limiter.per_minute = 5
        started = time.monotonic()
        for _ in range(11):
            client.get_sms_campaign(server.account.campaigns("sms")[0].campaign_id)
        assert time.monotonic() - started >= 1.0  # 11 requests need three windows


def test_limit_above_the_contract_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="detail_page_limit"):
        ExotelClient("http://127.0.0.1:1", "a", "k", "t", detail_page_limit=5000)


def test_generated_details_match_what_is_served(start_sandbox) -> None:
    server = start_sandbox(MULTI_PAGE)
    plan = server.account.campaigns("sms")[0]
    truth = generate_sms(plan, MULTI_PAGE)
    with client_for(server) as client:
        records = _all_sms(client, plan.campaign_id)
    assert [r["to"] for r in records] == [f"+91{n}" for n in truth.recipient.tolist()]
