"""The Brevo sandbox's webhooks, pushed to the receiver as Brevo sends them
(../shared/brevo-contract.md): one POST per SMS event of a transactional message or a campaign
recipient, the token as `Authorization: Bearer`, `date` in Paris local time beside `ts_event`
(UTC epoch); some sent twice, some out of order (PushFaults), as Brevo's retries do."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from orchestration.sandbox.brevo import (
    DELIVERED,
    HARD,
    REPLIED,
    SOFT,
    UNSUBSCRIBED,
    BrevoSandbox,
)
from orchestration.sandbox.push import CallbackPusher, PushFaults

BREVO_PATH = "/callbacks/brevo/sms"
PARIS = ZoneInfo("Europe/Paris")
CREDITS_PER_PART = 4.5  # what one SMS part to France costs in Brevo credits (the sandbox's)
# The transactional events webhooks carry (the events API's own names, the webhooks' words).
WEBHOOK_STATUS = {"sent": "sent", "delivered": "delivered", "softBounces": "soft_bounce",
                  "hardBounces": "hard_bounce"}
FINAL_STATUS = {DELIVERED: "delivered", SOFT: "soft_bounce", HARD: "hard_bounce",
                REPLIED: "delivered", UNSUBSCRIBED: "delivered"}


class BrevoWebhookPusher(CallbackPusher):
    """Sends a window's Brevo webhooks to the receiver at `base_url`."""

    def __init__(self, sandbox: BrevoSandbox, base_url: str, token: str, *,
                 faults: PushFaults | None = None, concurrency: int = 8, seed: int = 0) -> None:
        super().__init__(sandbox, base_url, token, faults=faults, concurrency=concurrency,
                         seed=seed)
        self._serial = 0

    def events(self, start: int, end: int) -> list[tuple[int, str, dict[str, Any]]]:
        account = self.sandbox.account
        found: list[tuple[int, str, dict[str, Any]]] = []
        for message in account.transactional:
            parts = 1 + int(message.number % 7 == 0)  # a long one now and then
            for event, when, _ in message.events:
                if start < when <= end and event in WEBHOOK_STATUS:
                    found.append((when, BREVO_PATH, self._payload(
                        when, int(message.message_id), message.number, WEBHOOK_STATUS[event],
                        parts, "transactional", tag=message.tag)))
        for campaign in account.campaigns.values():
            stop = campaign.scheduled_at + (campaign.send_seconds // 2 if campaign.suspended
                                            else campaign.send_seconds)
            for i in np.flatnonzero(campaign.sent_at < stop):
                number, outcome = int(campaign.numbers[i]), int(campaign.outcome[i])
                message_id = campaign.id * 10_000_000 + int(i)
                steps = [(int(campaign.sent_at[i]), "sent"),
                         (int(campaign.settled_at[i]), FINAL_STATUS[outcome])]
                if outcome == REPLIED:
                    steps.append((int(campaign.settled_at[i]) + 60, "reply"))
                elif outcome == UNSUBSCRIBED:
                    steps.append((int(campaign.settled_at[i]) + 60, "unsubscribe"))
                for when, status in steps:
                    if start < when <= end:
                        found.append((when, BREVO_PATH, self._payload(
                            when, message_id, number, status, 1, "marketing",
                            campaign_id=campaign.id,
                            reply={"reply": "Thanks!", "unsubscribe": "STOP"}.get(status))))
        found.sort(key=lambda event: event[0])
        return found

    def _payload(self, when: int, message_id: int, number: int, status: str, parts: int,
                 kind: str, *, tag: str | None = None, campaign_id: int | None = None,
                 reply: str | None = None) -> dict[str, Any]:
        self._serial += 1
        payload: dict[str, Any] = {
            "id": self._serial, "to": str(number), "sms_count": parts,
            "credits_used": parts * CREDITS_PER_PART, "messageId": message_id,
            "remaining_credit": 10_000.0, "msg_status": status,
            "date": dt.datetime.fromtimestamp(when, PARIS).strftime("%Y-%m-%d %H:%M:%S"),
            "ts_event": when, "type": kind, "reference": f"sandbox-{message_id}"}
        if tag is not None:
            payload["tag"] = tag
        if campaign_id is not None:
            payload["campaign_id"] = campaign_id
        if reply is not None:
            payload["reply"] = reply
        return payload

    def _post(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        """Brevo's webhooks are unsigned: the endpoint is secured with a bearer token."""
        return self._client().post(url, json=payload,
                                   headers={"Authorization": f"Bearer {self.token}"})
