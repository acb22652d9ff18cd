"""HTTP client for the campaign reporting API, as `docs/api-contract.md` pins it down.

One pooled connection per client (the provider rate-limits per account, so parallel connections
buy nothing but 429s), Basic auth, offset/limit paging that stops on a short page, lazy pages so
memory stays flat however large a campaign is, and bounded retries with backoff and jitter.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from orchestration.lib.exotel.errors import (
    ApiError,
    AuthenticationError,
    CampaignNotFoundError,
    InvalidIdError,
    MalformedResponseError,
    MessageNotFoundError,
    TransientApiError,
)
from orchestration.lib.exotel.rate_limit import SlidingWindowRateLimiter
from orchestration.lib.ids import check_id
from orchestration.lib.phone import mask_numbers
from orchestration.lib.retry import RetryPolicy
from orchestration.lib.settings import Secret, Settings

log = logging.getLogger("campaign_analytics.exotel")

# The contract's maxima. A larger `limit` is refused rather than silently clamped by a server,
# because a clamped page would look short and end the paging early.
MAX_DETAIL_LIMIT = 1000
MAX_LIST_LIMIT = 500

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Page:
    """One page of a paged endpoint: the records (`data` objects) and where they came from."""

    offset: int
    limit: int
    records: list[dict[str, Any]]

    @property
    def is_last(self) -> bool:
        return len(self.records) < self.limit


# What a request was for, as counted per run (raw.ingest_runs) and by the sandbox.
REQUEST_KINDS = ("list", "campaign", "detail", "message")


@dataclass
class ClientStats:
    """Requests sent (each attempt counts: the provider's rate limit counts them all)."""

    requests: int = 0
    retries: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REQUEST_KINDS, 0))

    def add(self, other: ClientStats) -> None:
        """Count `other`'s requests here too (a sibling's, at the end of a concurrent fetch)."""
        self.requests += other.requests
        self.retries += other.retries
        for kind, count in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count


class ExotelClient:
    """The provider's campaign reporting API."""

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        api_key: Secret | str,
        api_token: Secret | str,
        *,
        rate_limit_per_minute: int = 200,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 60.0,
        detail_page_limit: int = MAX_DETAIL_LIMIT,
        list_page_limit: int = MAX_LIST_LIMIT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter_seed: int | None = None,
    ) -> None:
        if not 1 <= detail_page_limit <= MAX_DETAIL_LIMIT:
            raise ValueError(f"detail_page_limit must be 1..{MAX_DETAIL_LIMIT}")
        if not 1 <= list_page_limit <= MAX_LIST_LIMIT:
            raise ValueError(f"list_page_limit must be 1..{MAX_LIST_LIMIT}")
        self._arguments = {
            "base_url": base_url, "account_sid": account_sid, "api_key": api_key,
            "api_token": api_token, "rate_limit_per_minute": rate_limit_per_minute,
            "retry": retry, "timeout_seconds": timeout_seconds,
            "detail_page_limit": detail_page_limit, "list_page_limit": list_page_limit,
            "transport": transport, "sleep": sleep, "jitter_seed": jitter_seed}
        self.account_sid = account_sid
        self.detail_page_limit = detail_page_limit
        self.list_page_limit = list_page_limit
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._siblings: list[ExotelClient] = []
        # The provider's clock, from the last answer's Date header: what "72 hours after the
        # campaign ended" is measured against, so a skewed local clock cannot finalise early.
        self.server_time: dt.datetime | None = None
        self._sleep = sleep
        self._rng = random.Random(jitter_seed)
        self._limiter = SlidingWindowRateLimiter(rate_limit_per_minute, sleep=sleep)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(_reveal(api_key), _reveal(api_token)),
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            # One connection, kept alive: a run is a single sequential conversation.
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"Accept": "application/json", "User-Agent": "campaign-analytics/0.1"},
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ExotelClient:
        return cls(
            settings.base_url,
            settings.account_sid,
            settings.api_key,
            settings.api_token,
            rate_limit_per_minute=settings.rate_limit_per_minute,
            **kwargs,
        )

    def sibling(self) -> ExotelClient:
        """Another connection to the same account that shares this client's rate limit (so
        campaigns fetched side by side stay within the provider's), with its own request
        counts and provider clock."""
        other = ExotelClient(**self._arguments)
        other._limiter = self._limiter
        self._siblings.append(other)
        return other

    def absorb(self, sibling: ExotelClient) -> None:
        """A sibling's work is done: its requests count as this client's, its clock too."""
        self.stats.add(sibling.stats)
        if sibling.server_time is not None and (self.server_time is None
                                                or sibling.server_time > self.server_time):
            self.server_time = sibling.server_time
        self._siblings.remove(sibling)
        sibling.close()

    @property
    def requests_so_far(self) -> int:
        """This client's requests and its working siblings' (for progress while they run)."""
        return self.stats.requests + sum(s.stats.requests for s in self._siblings)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ExotelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------------------

    def _account_path(self, suffix: str) -> str:
        return f"/v2/accounts/{self.account_sid}/{suffix}"

    def get_sms_message(self, sms_sid: str) -> dict[str, Any]:
        """One message as it is now (seed 004's `SMSMessage` object), by its `sms_sid`."""
        path = (f"/v1/Accounts/{_segment(self.account_sid)}/Sms/Messages/"
                f"{_segment(sms_sid, 'message id')}")
        answer = self._request(path, {}, kind="message", campaign_id=None, sms_sid=sms_sid,
                               envelope=False)
        message = answer.get("SMSMessage")
        if not isinstance(message, dict) or message.get("Sid") != sms_sid:
            raise MalformedResponseError(f"{path} answered 200 without the message asked for: "
                                         f"{_snippet(orjson.dumps(answer))}")
        return message

    def iter_voice_campaigns(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every voice campaign, oldest first."""
        yield from self._iter_list("campaigns", status)

    def iter_sms_campaigns(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every SMS campaign, oldest first."""
        yield from self._iter_list("sms-campaigns", status)

    def get_voice_campaign(self, campaign_id: str) -> dict[str, Any]:
        """One voice campaign with its `stats`."""
        return self._get_one(f"campaigns/{_segment(campaign_id)}", campaign_id)

    def get_sms_campaign(self, campaign_id: str) -> dict[str, Any]:
        """One SMS campaign with its `stats`."""
        return self._get_one(f"sms-campaigns/{_segment(campaign_id)}", campaign_id)

    def iter_call_detail_pages(self, campaign_id: str) -> Iterator[Page]:
        """A voice campaign's call attempts (CDRs), page by page, oldest first."""
        yield from self._iter_pages(
            self._account_path(f"campaigns/{_segment(campaign_id)}/call-details"),
            self.detail_page_limit,
            kind="detail",
            campaign_id=campaign_id,
        )

    def iter_sms_detail_pages(self, campaign_id: str) -> Iterator[Page]:
        """An SMS campaign's messages, page by page, oldest first."""
        yield from self._iter_pages(
            self._account_path(f"sms-campaigns/{_segment(campaign_id)}/sms-details"),
            self.detail_page_limit,
            kind="detail",
            campaign_id=campaign_id,
        )

    # -- paging ----------------------------------------------------------------------------

    def _iter_list(self, suffix: str, status: str | None) -> Iterator[dict[str, Any]]:
        extra = {"status": status} if status else {}
        for page in self._iter_pages(self._account_path(suffix), self.list_page_limit,
                                     kind="list", **extra):
            yield from page.records

    def _iter_pages(
        self, path: str, limit: int, *, kind: str, campaign_id: str | None = None,
        **params: str
    ) -> Iterator[Page]:
        """Offset/limit paging: advance by `limit` until a page holds fewer than `limit` items.

        `metadata.total` is deliberately ignored for stopping: it may be absent, and changes
        while a campaign is running (contract, "Paging").
        """
        offset = 0
        while True:
            envelope = self._request(
                path, {**params, "offset": offset, "limit": limit}, kind=kind,
                campaign_id=campaign_id,
            )
            records = _records_of(envelope, path)
            if len(records) > limit:
                raise MalformedResponseError(
                    f"{path} returned {len(records)} items for limit={limit} at offset={offset}: "
                    "the server does not page as the contract says"
                )
            page = Page(offset, limit, records)
            yield page
            if page.is_last:
                return
            offset += limit

    def _get_one(self, suffix: str, campaign_id: str) -> dict[str, Any]:
        path = self._account_path(suffix)
        envelope = self._request(path, {}, kind="campaign", campaign_id=campaign_id)
        records = _records_of(envelope, path)
        if len(records) != 1:
            raise MalformedResponseError(
                f"{path} returned {len(records)} items where the contract promises exactly one"
            )
        return records[0]

    # -- transport -------------------------------------------------------------------------

    def _request(
        self, path: str, params: dict[str, Any], *, kind: str, campaign_id: str | None,
        sms_sid: str | None = None, envelope: bool = True,
    ) -> dict[str, Any]:
        """GET with retries; returns the parsed envelope (or, `envelope=False`, the JSON
        object as answered)."""
        started = time.monotonic()
        attempt = 0
        while True:
            self._limiter.acquire()
            self.stats.requests += 1
            self.stats.by_kind[kind] += 1
            retry_after: float | None = None
            try:
                response = self._http.get(path, params=params)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                code = response.status_code
                if code == 200:
                    self.server_time = _http_date(response.headers.get("Date")) or self.server_time
                    if envelope:
                        return _parse_envelope(response.content, path)
                    return _parse_object(response.content, path)
                if code == 401:
                    raise AuthenticationError(
                        f"the API rejected the credentials for account {self.account_sid!r} "
                        "(HTTP 401): check EXOTEL_API_KEY and EXOTEL_API_TOKEN "
                        "(and EXOTEL_ACCOUNT_SID, EXOTEL_BASE_URL)"
                    )
                if code == 404 and campaign_id is not None:
                    raise CampaignNotFoundError(campaign_id, path)
                if code == 404 and sms_sid is not None:
                    raise MessageNotFoundError(sms_sid, path)
                if code not in RETRYABLE_STATUS:
                    raise ApiError(
                        f"GET {path} answered HTTP {code}: {_snippet(response.content)}", code
                    )
                reason = f"HTTP {code}"
                if code == 429:
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))

            attempt += 1
            delay = self.retry.backoff(attempt - 1, self._rng)
            if retry_after is not None:
                delay = max(delay, retry_after)
            elapsed = time.monotonic() - started
            budget_left = self.retry.max_elapsed_seconds - elapsed
            if attempt >= self.retry.max_attempts or delay > budget_left:
                raise TransientApiError(
                    f"GET {path} (offset={params.get('offset', '-')}) still failing after "
                    f"{attempt} attempts over {elapsed:.0f}s, last: {reason}. The API may be down "
                    "or rate-limiting this account; re-run later (nothing partial was recorded)."
                )
            self.stats.retries += 1
            log.warning(
                "GET %s offset=%s: %s; retry %d/%d in %.2fs",
                path, params.get("offset", "-"), reason, attempt, self.retry.max_attempts - 1,
                delay,
            )
            self._sleep(delay)


def _segment(value: str, what: str = "campaign id") -> str:
    """An id as a URL path segment: only ever a plain token, never `../` or `/`."""
    try:
        return check_id(value, what)
    except ValueError as error:
        raise InvalidIdError(str(error)) from None


def _reveal(value: Secret | str) -> str:
    return value.reveal() if isinstance(value, Secret) else value


# A record holding what JSON allows but no column can (1e400, NaN, a lone surrogate "\ud800")
# makes orjson refuse the whole body. The body is then read leniently, the offending values kept
# as their text, and each such record carries UNREADABLE_KEY with the reason: the loader
# quarantines it like any contract breach, and the rest of its page loads.
UNREADABLE_KEY = "_unreadable"


def _parse_lenient(body: bytes) -> Any:
    """`body` read by the standard library, which accepts 1e400, NaN and lone surrogates;
    non-finite numbers come back as {UNREADABLE_KEY: text} markers."""
    def number(text: str) -> Any:
        value = float(text)
        return value if math.isfinite(value) else {UNREADABLE_KEY: text}

    return json.loads(body, parse_float=number, parse_constant=lambda text: {UNREADABLE_KEY: text},
                      parse_int=lambda text: int(text) if len(text) <= 40 else
                      {UNREADABLE_KEY: text})


def _clean(value: Any, field: str, problems: list[str]) -> Any:
    """`value` with every unreadable part replaced by its text, each named in `problems`."""
    if isinstance(value, dict):
        if set(value) == {UNREADABLE_KEY}:
            problems.append(f"{field} {value[UNREADABLE_KEY][:20]!r} is not a number a column "
                            "can hold")
            return value[UNREADABLE_KEY]
        return {k: _clean(v, k if not field else f"{field}.{k}", problems)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, field, problems) for v in value]
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{field} holds a character that is not text (a lone surrogate)")
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _parse_envelope(body: bytes, path: str) -> dict[str, Any]:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            envelope = _parse_lenient(body)
        except (ValueError, RecursionError):
            raise MalformedResponseError(
                f"{path} answered 200 with a body that is not JSON: {_snippet(body)}"
            ) from None
        if isinstance(envelope, dict) and isinstance(envelope.get("response"), list):
            envelope["response"] = [_unreadable_marked(item) for item in envelope["response"]]
    if not isinstance(envelope, dict) or not isinstance(envelope.get("response"), list):
        raise MalformedResponseError(
            f"{path} answered 200 without the documented envelope "
            f"(no 'response' list): {_snippet(body)}"
        )
    return envelope


def _parse_object(body: bytes, path: str) -> dict[str, Any]:
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise MalformedResponseError(
            f"{path} answered 200 with a body that is not a JSON object: {_snippet(body)}")
    return answer


def _unreadable_marked(item: Any) -> Any:
    """An envelope item whose record had unreadable values: cleaned, with the reasons."""
    if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
        return item
    problems: list[str] = []
    data = _clean(item["data"], "", problems)
    if problems:
        data[UNREADABLE_KEY] = "; ".join(dict.fromkeys(problems))
    return {**item, "data": data}


def _records_of(envelope: dict[str, Any], path: str) -> list[dict[str, Any]]:
    records = []
    for index, item in enumerate(envelope["response"]):
        data = item.get("data") if isinstance(item, dict) else None
        if not isinstance(data, dict):
            status = item.get("status") if isinstance(item, dict) else None
            if status not in (None, "success"):
                raise ApiError(
                    f"{path}: item {index} is an error ({status}): {item.get('error_data')!r}"
                )
            raise MalformedResponseError(f"{path}: item {index} of 'response' has no 'data' object")
        records.append(data)
    return records


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date; the exponential backoff is a fine stand-in


def _http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _snippet(body: bytes, size: int = 160) -> str:
    """The start of a body for an error message, phone numbers masked."""
    text = body[:size].decode("utf-8", errors="replace")
    return repr(mask_numbers(text + ("…" if len(body) > size else "")))
