"""The sandbox: deterministic, consistent with the seeds, and receipts that arrive late."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import httpx
import numpy as np
import pytest

from orchestration.sandbox import AccountConfig, Faults
from orchestration.sandbox.generator import generate_calls, generate_sms, plan_account, to_epoch
from orchestration.sandbox.render import render_call_items, render_sms_items
from tests.conftest import SANDBOX_NOW, client_for

CONFIG = AccountConfig(seed=21, voice_campaigns=3, sms_campaigns=6, voice_contacts=(400, 900),
                       sms_messages=(1500, 4000))
NOW = to_epoch(SANDBOX_NOW)


def _pages(plan, config, now):
    if plan.channel == "sms":
        details = generate_sms(plan, config)
        return [render_sms_items(details, now, o, 1000) for o in range(0, plan.size, 1000)]
    details = generate_calls(plan, config)
    return [render_call_items(details, now, o, 1000) for o in range(0, details.end_at.size, 1000)]


def test_the_generator_is_deterministic_for_a_seed() -> None:
    first = [_pages(p, CONFIG, NOW) for p in plan_account(CONFIG)]
    again = [_pages(p, CONFIG, NOW) for p in plan_account(CONFIG)]
    assert first == again
    other = AccountConfig(**{**CONFIG.__dict__, "seed": 22})
    assert [_pages(p, other, NOW) for p in plan_account(other)] != first


def test_a_campaign_does_not_depend_on_the_others() -> None:
    bigger = AccountConfig(**{**CONFIG.__dict__, "voice_campaigns": 5})
    sms = [p for p in plan_account(CONFIG) if p.channel == "sms"]
    sms_bigger = [p for p in plan_account(bigger) if p.channel == "sms"]
    assert _pages(sms[0], CONFIG, NOW) == _pages(sms_bigger[0], bigger, NOW)


def test_records_follow_the_contract_rules(start_sandbox) -> None:
    server = start_sandbox(CONFIG)
    with client_for(server) as client:
        statuses: Counter[str] = Counter()
        error_codes: Counter[str] = Counter()
        types = set()
        for campaign in client.iter_sms_campaigns():
            types.add(campaign["message_type"])
            for page in client.iter_sms_detail_pages(campaign["id"]):
                for r in page.records:
                    statuses[r["status"]] += 1
                    assert r["to"].startswith("+91") and len(r["to"]) == 13
                    assert (r["submitted_at"] is None) == (r["status"] in ("rejected", "queued",
                                                                           "sending"))
                    assert (r["delivered_at"] is not None) == (r["status"] == "delivered")
                    has_error = r["status"] in ("failed", "rejected", "expired")
                    assert (r["error_code"] is not None) == has_error
                    if has_error:
                        error_codes[r["error_code"]] += 1
                    assert r["updated_at"].endswith("+05:30")
                    assert r["parts"] >= 1 and r["cost"] >= 0
        attempts: Counter[int] = Counter()
        for campaign in client.iter_voice_campaigns():
            retries = campaign["retries"]["number_of_retries"]
            per_contact: dict[str, list[dict]] = {}
            for page in client.iter_call_detail_pages(campaign["id"]):
                for r in page.records:
                    per_contact.setdefault(r["to"], []).append(r)
                    attempts[r["attempt_number"]] += 1
                    assert (r["recording_url"] is not None) == (r["status"] == "completed")
                    assert r["end_time"] >= r["start_time"]
                    assert (r["duration"] > 0) == (r["status"] == "completed")
            for calls in per_contact.values():
                numbers = [c["attempt_number"] for c in calls]
                assert numbers == list(range(1, len(numbers) + 1))  # oldest first
                assert len(calls) <= retries + 1
                # Only a retriable outcome is followed by another attempt, never a success.
                for call in calls[:-1]:
                    assert call["status"] in campaign["retries"]["on_status"]
    assert {"delivered", "failed", "rejected", "expired"} <= set(statuses)
    assert statuses["delivered"] / sum(statuses.values()) > 0.85
    assert any(code.startswith("DLT_") for code in error_codes)
    assert {"FAILED_OPERATOR", "FAILED_EXPIRED"} <= set(error_codes)
    assert attempts[2] > 0  # contacts were retried
    assert types <= {"transactional", "promotional", "service"}


def test_receipts_arrive_late_as_the_clock_moves(start_sandbox) -> None:
    # The last campaign ends a few hours before "now": some receipts are still outstanding.
    config = AccountConfig(seed=4, voice_campaigns=0, sms_campaigns=3, sms_messages=(3000, 6000),
                           start=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
                           end=dt.datetime(2026, 1, 12, tzinfo=dt.UTC))
    last = plan_account(config)[-1]
    now = dt.datetime.fromtimestamp(last.end_at + 6 * 3600, dt.UTC)
    server = start_sandbox(config, now=now)
    with client_for(server) as client:
        campaign = client.get_sms_campaign(last.campaign_id)
        assert campaign["status"] == "Completed"
        assert campaign["stats"]["pending"] > 0
        before = {r["sms_sid"]: r for p in client.iter_sms_detail_pages(last.campaign_id)
                  for r in p.records}
        server.clock.advance(72 * 3600)
        after = {r["sms_sid"]: r for p in client.iter_sms_detail_pages(last.campaign_id)
                 for r in p.records}
        assert client.get_sms_campaign(last.campaign_id)["stats"]["pending"] == 0
    assert before.keys() == after.keys()
    late = [sid for sid, r in before.items() if r["status"] in ("submitted", "sent")]
    assert late
    for sid in late:
        assert after[sid]["status"] in ("delivered", "failed", "expired")
        assert after[sid]["updated_at"] > before[sid]["updated_at"]


def test_a_running_voice_campaign_shows_only_finished_calls(start_sandbox) -> None:
    plan = [p for p in plan_account(CONFIG) if p.channel == "voice"][0]
    middle = dt.datetime.fromtimestamp((plan.start_at + plan.end_at) // 2, dt.UTC)
    server = start_sandbox(CONFIG, now=middle)
    with client_for(server) as client:
        campaign = client.get_voice_campaign(plan.campaign_id)
        calls = [r for p in client.iter_call_detail_pages(plan.campaign_id) for r in p.records]
    assert campaign["status"] == "In-Progress" and campaign["end_time"] is None
    assert 0 < len(calls) < generate_calls(plan, CONFIG).end_at.size
    assert campaign["stats"]["pending"] + campaign["stats"]["in_progress"] > 0
    assert all(c["end_time"] <= middle.astimezone(dt.timezone(dt.timedelta(hours=5.5)))
               .isoformat() for c in calls)


def test_malformed_records_and_extra_keys_are_injected_on_request(start_sandbox) -> None:
    config = AccountConfig(**{**CONFIG.__dict__, "malformed_share": 0.05,
                              "extra_keys_share": 0.1})
    server = start_sandbox(config, faults=Faults(extra_envelope_keys=True))
    plan = next(p for p in server.account.plans if p.channel == "sms")
    with client_for(server) as client:
        records = [r for p in client.iter_sms_detail_pages(plan.campaign_id) for r in p.records]
    kinds = Counter()
    for r in records:
        if "sms_sid" not in r:
            kinds["missing_id"] += 1
        elif r["status"] == "in_limbo":
            kinds["unknown_status"] += 1
        elif r["parts"] == "two":
            kinds["bad_parts"] += 1
        elif isinstance(r["cost"], (int, float)) and r["cost"] < 0:
            kinds["negative_cost"] += 1
        elif r["submitted_at"] == "15/02/2024 10:05":
            kinds["bad_timestamp"] += 1
    assert set(kinds) == {"missing_id", "unknown_status", "bad_parts", "negative_cost",
                          "bad_timestamp"}
    assert 0.03 < sum(kinds.values()) / len(records) < 0.07
    assert 0.05 < sum("carrier_ref" in r for r in records) / len(records) < 0.15


def test_bad_paging_parameters_get_a_400(start_sandbox) -> None:
    server = start_sandbox(CONFIG)
    plan = next(p for p in server.account.plans if p.channel == "sms")
    url = (f"{server.url}/v2/accounts/{server.account_sid}/sms-campaigns/"
           f"{plan.campaign_id}/sms-details")
    auth = (server.api_key, server.api_token)
    assert httpx.get(url, params={"limit": 5000}, auth=auth).status_code == 400
    assert httpx.get(url, params={"offset": "x"}, auth=auth).status_code == 400
    assert httpx.get(url, params={"limit": 1000}, auth=auth).status_code == 200


def test_campaign_list_filters_by_status(start_sandbox) -> None:
    running = [p for p in plan_account(CONFIG) if p.channel == "sms"][3]
    server = start_sandbox(CONFIG, now=dt.datetime.fromtimestamp(running.start_at + 1, dt.UTC))
    with client_for(server, list_page_limit=2) as client:  # several list pages
        everything = list(client.iter_sms_campaigns())
        completed = list(client.iter_sms_campaigns(status="Completed"))
    assert 0 < len(completed) < len(everything)
    assert all(c["status"] == "Completed" for c in completed)
    assert {c["id"]: c["status"] for c in everything}[running.campaign_id] == "In-Progress"
    starts = [c["created_at"] for c in everything]
    assert starts == sorted(starts)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seed_000_mix_is_plausible(seed: int) -> None:
    config = AccountConfig(seed=seed, voice_campaigns=0, sms_campaigns=10,
                           sms_messages=(5000, 5000))
    delivery_rates = []
    for plan in plan_account(config):
        stats = generate_sms(plan, config).stats_at(NOW + 10**7)
        delivery_rates.append(stats["delivered"] / stats["submitted"])
    assert 0.85 < float(np.median(delivery_rates)) < 0.99


def test_campaigns_reach_one_audience_over_several_hours() -> None:
    """The account sends to one set of people: they recur across campaigns and channels (one
    person's history, lists over time, voice then SMS), and an SMS campaign is sent over hours,
    so an hour of the day holds several campaigns."""
    from orchestration.sandbox.generator import audience

    config = AccountConfig()
    plans = plan_account(config)
    sms = [generate_sms(p, config).recipient for p in plans if p.channel == "sms"]
    voice = [np.unique(generate_calls(p, config).recipient)
             for p in plans if p.channel == "voice"]
    people = audience(config)
    assert all(np.isin(numbers, people).all() for numbers in [*sms, *voice])
    every_sms = np.concatenate(sms)
    assert np.unique(every_sms).size < 0.7 * every_sms.size  # people recur across campaigns
    voice_contacts = np.concatenate(voice)
    assert np.isin(voice_contacts, every_sms).mean() > 0.5  # called, then also messaged
    for numbers in sms:  # still one message per person within a campaign
        assert np.unique(numbers).size == numbers.size
    hours = [(p.end_at - p.start_at) / 3600 for p in plans if p.channel == "sms"]
    assert min(hours) >= 1.0 and max(hours) <= 4.01
