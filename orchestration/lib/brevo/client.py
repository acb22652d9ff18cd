"""Brevo's SMS API (../shared/brevo-contract.md): campaigns, recipients exports, transactional
events and reports.

At 100 requests an hour requests are the clock: every answer's `x-sib-ratelimit-*` headers are
read, and when the window is spent the client waits for its reset instead of spending requests
on 429s. Every request is counted by kind, for the run summary. The key goes in the `api-key`
header only: never in a URL, a log line or an error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from orchestration.lib.brevo.errors import (
    BrevoApiError,
    BrevoAuthenticationError,
    BrevoTransientError,
    ExportFailedError,
    ExportNotReadyError,
)
from orchestration.lib.retry import RetryPolicy
from orchestration.lib.settings import DEFAULT_BREVO_BASE_URL, Secret, Settings

log = logging.getLogger(__name__)

MAX_CAMPAIGN_LIMIT = 1000
MAX_EVENT_LIMIT = 100  # the events endpoint's maximum page
RETRYABLE = frozenset({500, 502, 503, 504})
REQUEST_KINDS = ("list", "campaign", "export", "process", "file", "events", "reports")
# A process polled this long without completing is left for the next run (ExportNotReady).
EXPORT_WAIT_SECONDS = 120.0


@dataclass
class RequestBudget:
    """Brevo's window as its last answer told it (x-sib-ratelimit-*)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # monotonic time the window resets

    def seconds_to_reset(self, now: float) -> float:
        return 0.0 if self.reset_at is None else max(0.0, self.reset_at - now)


@dataclass
class BrevoStats:
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REQUEST_KINDS, 0))


class BrevoClient:
    """One Brevo account's SMS reporting, read sequentially on one connection."""

    def __init__(self, api_key: Secret | str, *, base_url: str = DEFAULT_BREVO_BASE_URL,
                 retry: RetryPolicy | None = None, timeout_seconds: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 transport: httpx.BaseTransport | None = None,
                 jitter_seed: int | None = None) -> None:
        key = api_key.reveal() if isinstance(api_key, Secret) else api_key
        self.retry = retry or RetryPolicy()
        self.stats = BrevoStats()
        self.budget = RequestBudget()
        self._sleep, self._clock = sleep, clock
        self._rng = random.Random(jitter_seed)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"api-key": key, "Accept": "application/json",
                     "User-Agent": "campaign-analytics/0.1"},
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            transport=transport,
        )
        # Export files live at pre-signed URLs on another host: fetched without the key.
        self._files = httpx.Client(timeout=httpx.Timeout(timeout_seconds), transport=transport)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> BrevoClient:
        return cls(settings.brevo_api_key, base_url=settings.brevo_base_url, **kwargs)

    def close(self) -> None:
        self._http.close()
        self._files.close()

    def __enter__(self) -> BrevoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- campaigns -----------------------------------------------------------------------

    def iter_sms_campaigns(self, *, limit: int = 500) -> Iterator[dict[str, Any]]:
        """Every SMS campaign with its statistics, newest first (the change detector)."""
        if not 1 <= limit <= MAX_CAMPAIGN_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_CAMPAIGN_LIMIT}")
        offset = 0
        while True:
            page = self._json("GET", "/smsCampaigns", kind="list",
                              params={"limit": limit, "offset": offset, "sort": "desc"})
            campaigns = page.get("campaigns") or []
            yield from campaigns
            if len(campaigns) < limit:
                return
            offset += limit

    def get_sms_campaign(self, campaign_id: int | str) -> dict[str, Any]:
        return self._json("GET", f"/smsCampaigns/{_campaign_id(campaign_id)}", kind="campaign")

    # ---- recipients export ---------------------------------------------------------------

    def request_recipients_export(self, campaign_id: int | str) -> int:
        """Ask for the campaign's `all` recipients file; the process id to poll."""
        answer = self._json("POST", f"/smsCampaigns/{_campaign_id(campaign_id)}/exportRecipients",
                            kind="export", body={"recipientsType": "all"})
        process_id = answer.get("processId")
        if not isinstance(process_id, int):
            raise BrevoApiError(f"the export of campaign {campaign_id} gave no process id")
        return process_id

    def wait_for_export(self, process_id: int, *, poll: RetryPolicy | None = None,
                        max_wait_seconds: float = EXPORT_WAIT_SECONDS) -> str:
        """Poll the process with backoff (`poll`, else the client's retry policy) until it
        completes; its export URL."""
        poll = poll or self.retry
        started = self._clock()
        # A file is never ready the moment it is asked for: the first poll waits one step,
        # so a quick export costs one poll (requests are Brevo's clock).
        self._sleep(poll.base_delay_seconds)
        attempt = 1
        while True:
            process = self._json("GET", f"/processes/{int(process_id)}", kind="process")
            status = process.get("status")
            if status == "completed" and process.get("export_url"):
                return str(process["export_url"])
            if status == "failed":
                raise ExportFailedError(f"Brevo reports export process {process_id} as failed")
            delay = poll.backoff(attempt, self._rng)
            attempt += 1
            if self._clock() - started + delay > max_wait_seconds:
                raise ExportNotReadyError(
                    f"export process {process_id} still {status or 'unknown'} after "
                    f"{self._clock() - started:.0f} s: taken again on the next run")
            self._sleep(delay)

    def download_recipients(self, export_url: str) -> list[dict[str, str]]:
        """The recipients file's rows, keys lower-cased (mapped by name; unknown ones kept)."""
        self.stats.requests += 1
        self.stats.by_kind["file"] += 1
        try:
            response = self._files.get(export_url)
        except httpx.HTTPError as error:
            raise BrevoTransientError(f"the export file could not be fetched "
                                      f"({type(error).__name__}): taken again next run") from None
        if response.status_code != 200:
            raise BrevoTransientError(f"the export file answered HTTP {response.status_code}: "
                                      "taken again next run")
        text = response.content.decode("utf-8-sig", errors="replace")
        return [{(k or "").strip().lower(): (v or "") for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(text))]

    # ---- transactional -------------------------------------------------------------------

    def iter_transactional_events(self, start: dt.date, end: dt.date, *,
                                  limit: int = MAX_EVENT_LIMIT) -> Iterator[dict[str, Any]]:
        """Every event dated within [start, end], oldest first; paging stops on a short page
        (the endpoint gives no total)."""
        if not 1 <= limit <= MAX_EVENT_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_EVENT_LIMIT}")
        offset = 0
        while True:
            page = self._json("GET", "/transactionalSMS/statistics/events", kind="events",
                              params={"startDate": start.isoformat(), "endDate": end.isoformat(),
                                      "limit": limit, "offset": offset, "sort": "asc"})
            events = page.get("events") or []
            yield from events
            if len(events) < limit:
                return
            offset += limit

    def transactional_reports(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Per-day counts (the change detector of the events)."""
        page = self._json("GET", "/transactionalSMS/statistics/reports", kind="reports",
                          params={"startDate": start.isoformat(), "endDate": end.isoformat()})
        return list(page.get("reports") or [])

    # ---- transport -----------------------------------------------------------------------

    def _json(self, method: str, path: str, *, kind: str, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        started = self._clock()
        attempt = 0
        while True:
            self._wait_for_budget()
            self.stats.requests += 1
            self.stats.by_kind[kind] += 1
            reason: str
            try:
                response = self._http.request(method, path, params=params, json=body)
            except (httpx.TransportError, httpx.TimeoutException) as error:
                reason = type(error).__name__
            else:
                self._read_budget(response)
                code = response.status_code
                if code in (200, 201, 202):
                    try:
                        parsed = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        raise BrevoApiError(f"{method} {path} answered {code} with a body that "
                                            "is not JSON", code) from None
                    if not isinstance(parsed, dict):
                        raise BrevoApiError(f"{method} {path} answered {code} with no object")
                    return parsed
                if code == 401:
                    raise BrevoAuthenticationError(
                        "Brevo rejected the API key (HTTP 401): check BREVO_API_KEY (and "
                        "BREVO_BASE_URL)")
                if code == 429:
                    # Past the window: its reset, not a backoff, says when to ask again.
                    reason = "HTTP 429"
                elif code not in RETRYABLE:
                    raise BrevoApiError(f"{method} {path} answered HTTP {code}: "
                                        f"{_message(response.content)}", code)
                else:
                    reason = f"HTTP {code}"
            attempt += 1
            delay = (max(self.budget.seconds_to_reset(self._clock()), 1.0) if reason == "HTTP 429"
                     else self.retry.backoff(attempt - 1, self._rng))
            elapsed = self._clock() - started
            if attempt >= self.retry.max_attempts or (
                    reason != "HTTP 429" and elapsed + delay > self.retry.max_elapsed_seconds):
                raise BrevoTransientError(
                    f"{method} {path} still failing after {attempt} attempts over "
                    f"{elapsed:.0f} s, last: {reason}; run again later")
            self.stats.retries += 1
            log.warning("%s %s: %s; retry %d in %.1f s", method, path, reason, attempt, delay)
            self._pause(delay)

    def _read_budget(self, response: httpx.Response) -> None:
        headers = response.headers
        try:
            if "x-sib-ratelimit-remaining" in headers:
                self.budget.remaining = int(headers["x-sib-ratelimit-remaining"])
            if "x-sib-ratelimit-limit" in headers:
                self.budget.limit = int(headers["x-sib-ratelimit-limit"])
            if "x-sib-ratelimit-reset" in headers:
                self.budget.reset_at = self._clock() + float(headers["x-sib-ratelimit-reset"])
        except ValueError:
            pass  # a header we cannot read: the 429 path still waits

    def _wait_for_budget(self) -> None:
        """A spent window: wait for its reset rather than spend a request on a 429."""
        if self.budget.remaining == 0:
            wait = self.budget.seconds_to_reset(self._clock())
            if wait > 0:
                log.info("Brevo's request window is spent: waiting %.0f s for its reset", wait)
                self._pause(wait)
            self.budget.remaining = None

    def _pause(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        self._sleep(seconds)


def _campaign_id(value: int | str) -> int:
    """A campaign id as a path segment: Brevo's ids are integers, nothing else passes."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18:
        raise ValueError(f"not a Brevo campaign id: {text[:40]!r} (expected an integer)")
    return int(text)


def _message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:160].decode("utf-8", errors="replace")
    if isinstance(parsed, dict):
        return f"{parsed.get('code', '')}: {parsed.get('message', '')}"[:200]
    return str(parsed)[:160]
