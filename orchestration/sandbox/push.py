"""The sandbox pushes status callbacks the way the provider does (seed 000, 001, 004).

`CallbackPusher.push(start, end)` sends one callback for every status change that happens in
(start, end] on the sandbox's clock: each SMS message's submitted, sent and final status (a
delivery report, seed 004; the final one also as a campaign message callback, seed 000), each
call attempt's end (seed 001), and each campaign that completes. Like the provider it retries
a callback that got no 200 within 5 seconds, with backoff; and, for testing the receiver, it can
send a share twice, out of order, or late (held back to the end of the push).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from orchestration.sandbox.generator import (
    CALL_COMPLETED,
    CALL_STATUSES,
    IST_OFFSET_SECONDS,
    SMS_DELIVERED,
    SMS_OUTCOMES,
    SMS_REJECTED_OUTCOMES,
    CallDetails,
    CampaignPlan,
    SmsDetails,
)
from orchestration.sandbox.render import SID_BASE

PROVIDER_TIMEOUT_SECONDS = 5.0  # seed 001: "returns HTTP 200 within 5 seconds"
IST = dt.timezone(dt.timedelta(seconds=IST_OFFSET_SECONDS))


@dataclass(frozen=True)
class PushFaults:
    """Shares of callbacks sent twice, out of order, or late (after all the others)."""

    duplicate_share: float = 0.0
    out_of_order_share: float = 0.0
    delayed_share: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate_share", "out_of_order_share", "delayed_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass
class PushStats:
    events: int = 0
    sent: int = 0  # requests, duplicates and retries included
    accepted: int = 0  # answered 200
    refused: int = 0  # answered 400 (kept as rejects by the receiver)
    retried: int = 0
    given_up: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


def _time(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, IST).isoformat()


def sms_events(details: SmsDetails, account_sid: str, start: int, end: int
               ) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(time, path, payload) of each SMS status change in (start, end]."""
    plan = details.plan
    submit, final, outcome = details.submit_at, details.final_at, details.outcome
    rejected = np.isin(outcome, list(SMS_REJECTED_OUTCOMES))
    stages = (("submitted", "SUBMITTED_TO_CARRIER", submit, ~rejected),
              ("sent", "SENT", submit + 2, ~rejected))
    for status, detailed, at, eligible in stages:
        # A stage the receipt overtook never shows (the API's stages_at does the same).
        happens = eligible & (at < final) & (at > start) & (at <= end)
        for i in np.flatnonzero(happens).tolist():
            sid = f"{plan.token}{i + SID_BASE}"
            yield int(at[i]), "/callbacks/exotel/sms", {
                "SmsSid": sid, "AccountSid": account_sid, "From": plan.sender_id,
                "To": f"+91{details.recipient[i]}", "Status": status,
                "DetailedStatus": detailed, "DetailedStatusCode": None,
                "SentAt": _time(int(submit[i])), "UpdatedAt": _time(int(at[i])),
            }
    for i in np.flatnonzero((final > start) & (final <= end)).tolist():
        status, error_code, _, detailed, code = SMS_OUTCOMES[outcome[i]]
        sid, to, at = f"{plan.token}{i + SID_BASE}", f"+91{details.recipient[i]}", int(final[i])
        sent_at = None if rejected[i] else _time(int(submit[i]))
        yield at, "/callbacks/exotel/sms", {
            "SmsSid": sid, "AccountSid": account_sid, "From": plan.sender_id, "To": to,
            "Status": status, "DetailedStatus": detailed, "DetailedStatusCode": code,
            "SentAt": sent_at, "UpdatedAt": _time(at),
        }
        yield at, "/callbacks/exotel/campaign-sms", {
            "SmsSid": sid, "To": to, "Status": status,
            "DeliveredAt": _time(at) if outcome[i] == SMS_DELIVERED else None,
            "ErrorCode": error_code, "CampaignSid": plan.campaign_id,
        }


def call_events(details: CallDetails, start: int, end: int
                ) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """A call status callback for each attempt that ended in (start, end]."""
    plan = details.plan
    ended = details.end_at
    for i in np.flatnonzero((ended > start) & (ended <= end)).tolist():
        number = (int(details.contact[i]) + SID_BASE) * 10 + int(details.attempt_number[i])
        completed = details.outcome[i] == CALL_COMPLETED
        yield int(ended[i]), "/callbacks/exotel/call", {
            "CallSid": f"{plan.token}{number}", "To": f"+91{details.recipient[i]}",
            "From": plan.caller_id, "Status": CALL_STATUSES[details.outcome[i]],
            "Duration": str(int(details.duration[i])),
            "RecordingUrl": (f"https://recordings.exotel.com/{plan.campaign_id}/"
                             f"{plan.token}{number}.mp3") if completed else None,
            "DateCreated": _time(int(details.start_at[i])),
        }


def campaign_events(plan: CampaignPlan, stats: dict[str, int], start: int, end: int
                    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
    if start < plan.end_at <= end:
        yield plan.end_at, "/callbacks/exotel/campaign", {
            "CampaignSid": plan.campaign_id, "Status": "Completed", "Stats": stats}


class CallbackPusher:
    """Sends a window's callbacks to `base_url` (the receiver), `token` in the query string."""

    def __init__(self, sandbox: Any, base_url: str, token: str, *,
                 faults: PushFaults | None = None, concurrency: int = 8,
                 max_attempts: int = 6, seed: int = 0) -> None:
        self.sandbox = sandbox
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.faults = faults or PushFaults()
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self._rng = random.Random(seed)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []  # one per sending thread, closed after a push

    def events(self, start: int, end: int) -> list[tuple[int, str, dict[str, Any]]]:
        account = self.sandbox.account
        found: list[tuple[int, str, dict[str, Any]]] = []
        for plan in account.plans:
            if plan.start_at > end or plan.end_at + 80 * 3600 < start:
                continue  # nothing of it changes in the window (receipts end at 72 h)
            details = account.details(plan)
            if plan.channel == "sms":
                found.extend(sms_events(details, self.sandbox.account_sid, start, end))
            else:
                found.extend(call_events(details, start, end))
            found.extend(campaign_events(plan, details.stats_at(end), start, end))
        found.sort(key=lambda event: event[0])
        return found

    def push(self, start: dt.datetime | int, end: dt.datetime | int) -> PushStats:
        """Send every callback of (start, end]; returns what was sent and answered."""
        low = start if isinstance(start, int) else int(start.timestamp())
        high = end if isinstance(end, int) else int(end.timestamp())
        events = self.events(low, high)
        stats = PushStats(events=len(events))
        order = self._arrange([(path, payload) for _, path, payload in events])
        try:
            with ThreadPoolExecutor(self.concurrency) as pool:
                for _ in pool.map(lambda item: self._send(item, stats), order):
                    pass
        finally:
            for client in self._clients:
                client.close()
            self._clients, self._local = [], threading.local()
        return stats

    def _arrange(self, items: list[tuple[str, dict[str, Any]]]
                 ) -> list[tuple[str, dict[str, Any]]]:
        rng, faults = self._rng, self.faults
        for i in range(len(items) - 1):
            if rng.random() < faults.out_of_order_share:
                j = rng.randrange(i + 1, min(len(items), i + 50))
                items[i], items[j] = items[j], items[i]
        late = [rng.random() < faults.delayed_share for _ in items]
        on_time = [item for item, held in zip(items, late, strict=True) if not held]
        held_back = [item for item, held in zip(items, late, strict=True) if held]
        doubled = [item for item in items if rng.random() < faults.duplicate_share]
        return on_time + held_back + doubled

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=PROVIDER_TIMEOUT_SECONDS)
            with self._lock:
                self._clients.append(client)
        return client

    def _post(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        """One callback as the provider sends it: Exotel's token in the query string."""
        return self._client().post(url, params={"token": self.token}, json=payload)

    def _send(self, item: tuple[str, dict[str, Any]], stats: PushStats) -> None:
        path, payload = item
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_attempts):
            with self._lock:
                stats.sent += 1
                if attempt:
                    stats.retried += 1
            try:
                answer = self._post(url, payload)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (200, 400, 401, 413):
                with self._lock:
                    if answer.status_code == 200:
                        stats.accepted += 1
                        stats.by_path[path] = stats.by_path.get(path, 0) + 1
                    else:
                        stats.refused += 1
                return
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
        with self._lock:
            stats.given_up += 1
