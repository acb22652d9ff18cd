"""The sandbox: an HTTP server on 127.0.0.1 that speaks the API contract from synthetic data.

Use it from the CLI (`campaign-analytics sandbox`) or in-process:

    with SandboxServer(AccountConfig(seed=1)) as sandbox:
        client = ExotelClient(sandbox.url, sandbox.account_sid, sandbox.api_key, sandbox.api_token)

Besides the contract's endpoints it answers a few of its own under `/_sandbox/` (no auth):
`GET /_sandbox/health`, `GET|POST /_sandbox/clock` (`{"now": ISO}` or `{"advance_seconds": N}`)
and `GET /_sandbox/stats` (requests, by kind: list, campaign, detail and message; records
served and the server's own CPU seconds).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hmac
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from orchestration.sandbox.generator import (
    AccountConfig,
    CallDetails,
    CampaignPlan,
    SmsDetails,
    generate_calls,
    generate_sms,
    plan_account,
    to_epoch,
)
from orchestration.sandbox.render import (
    SID_BASE,
    envelope_bytes,
    record_json,
    render_call_items,
    render_sms_items,
    sms_campaign_object,
    sms_message_v1,
    voice_campaign_object,
)

MAX_DETAIL_LIMIT = 1000
MAX_LIST_LIMIT = 500
DEFAULT_LIMIT = 20


@dataclass
class Faults:
    """HTTP-level fault injection; each share is a probability per request."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    retry_after_seconds: int = 1
    latency_ms: float = 0.0
    # 200 answers whose body is not the envelope, on detail pages after the first.
    broken_page_share: float = 0.0
    # Add unknown keys to envelopes (records get theirs from AccountConfig.extra_keys_share).
    extra_envelope_keys: bool = False

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "broken_page_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.rate_429 + self.rate_5xx > 1.0:
            raise ValueError("rate_429 + rate_5xx must not exceed 1")


class SandboxClock:
    """The server's "now": fixed (tests, demos) or the real clock."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._fixed = to_epoch(now) if now is not None else None
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return self._fixed if self._fixed is not None else int(time.time())

    def set(self, now: dt.datetime) -> None:
        with self._lock:
            self._fixed = to_epoch(now)

    def advance(self, seconds: float) -> None:
        with self._lock:
            base = self._fixed if self._fixed is not None else int(time.time())
            self._fixed = base + int(seconds)

    def as_datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)


class SandboxAccount:
    """The account's campaign plans plus a small LRU cache of generated details."""

    def __init__(self, config: AccountConfig, cache_size: int = 4) -> None:
        self.config = config
        self.plans = plan_account(config)
        self.by_id = {plan.campaign_id: plan for plan in self.plans}
        self.by_token = {plan.token: plan for plan in self.plans if plan.channel == "sms"}
        self._cache: OrderedDict[str, SmsDetails | CallDetails] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def campaigns(self, channel: str) -> list[CampaignPlan]:
        return [plan for plan in self.plans if plan.channel == channel]

    def details(self, plan: CampaignPlan) -> SmsDetails | CallDetails:
        with self._lock:
            found = self._cache.get(plan.campaign_id)
            if found is None:
                found = (generate_sms if plan.channel == "sms" else generate_calls)(
                    plan, self.config
                )
                self._cache[plan.campaign_id] = found
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(plan.campaign_id)
            return found

    def message(self, sms_sid: str, now: int) -> dict[str, Any] | None:
        """One message by its sid (`<campaign token><SID_BASE + index>`), or None."""
        digits = len(str(SID_BASE))
        plan = self.by_token.get(sms_sid[:-digits])
        number = sms_sid[-digits:]
        if plan is None or not number.isdigit() or plan.created_at > now:
            return None
        index = int(number) - SID_BASE
        if not 0 <= index < plan.size:
            return None
        return sms_message_v1(self.details(plan), index, now)

    def campaign_with_stats(self, plan: CampaignPlan, now: int) -> dict[str, Any]:
        if plan.channel == "voice":
            record = voice_campaign_object(plan, now)
        else:
            record = sms_campaign_object(plan, now)
        record["stats"] = self.details(plan).stats_at(now)
        return record


@dataclass
class ServeStats:
    requests: int = 0
    requests_by_kind: dict[str, int] = field(default_factory=dict)
    records: int = 0
    cpu_seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)


_ROUTE = re.compile(
    r"^/v2/accounts/(?P<sid>[^/]+)/(?P<kind>campaigns|sms-campaigns)"
    r"(?:/(?P<cid>[^/]+)(?:/(?P<detail>call-details|sms-details))?)?/?$"
)
_MESSAGE_ROUTE = re.compile(r"^/v1/Accounts/(?P<sid>[^/]+)/Sms/Messages/(?P<msid>[^/]+)/?$")


def _request_kind(path: str) -> str:
    """What a request is for, as the client counts it: list, campaign, detail or message."""
    if _MESSAGE_ROUTE.match(path):
        return "message"
    match = _ROUTE.match(path)
    if match is None:
        return "other"
    if match["cid"] is None:
        return "list"
    return "campaign" if match["detail"] is None else "detail"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client holds one connection per run
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # the sandbox is quiet; /_sandbox/stats tells what it served

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the server's clock, which the sandbox may have frozen or moved.
        return email.utils.formatdate(self.server.sandbox.clock.now(), usegmt=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        started = time.thread_time()
        try:
            self._get()
        finally:
            with self.server.sandbox.stats_lock:
                self.server.sandbox.stats.cpu_seconds += time.thread_time() - started

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        if url.path != "/_sandbox/clock":
            self._send_error(404, f"no such endpoint: POST {url.path}")
            return
        try:
            request = orjson.loads(body)
            if "now" in request:
                sandbox.clock.set(dt.datetime.fromisoformat(request["now"]))
            elif "advance_seconds" in request:
                sandbox.clock.advance(float(request["advance_seconds"]))
            else:
                raise ValueError("give 'now' (ISO 8601 with offset) or 'advance_seconds'")
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            self._send_error(400, f"bad clock request: {exc}")
            return
        self._send_json(200, {"now": sandbox.clock.as_datetime().isoformat()})

    # ---------------------------------------------------------------------------------

    def _get(self) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        if url.path.startswith("/_sandbox/"):
            self._sandbox_endpoint(url.path)
            return
        kind = _request_kind(url.path)
        with sandbox.stats_lock:
            sandbox.stats.requests += 1
            by_kind = sandbox.stats.requests_by_kind
            by_kind[kind] = by_kind.get(kind, 0) + 1
        if not self._authorised():
            self._send_error(401, "Authentication failed: check the API key and token")
            return
        message_match = _MESSAGE_ROUTE.match(url.path)
        match = _ROUTE.match(url.path) or message_match
        if match is None or match["sid"] != sandbox.account_sid:
            self._send_error(404, f"no such resource: {url.path}")
            return
        fault = sandbox.draw_fault(is_detail=kind == "detail")
        if sandbox.faults.latency_ms:
            time.sleep(sandbox.faults.latency_ms / 1000)
        if fault == "429":
            self._send_error(
                429, "Too many requests",
                headers={"Retry-After": str(sandbox.faults.retry_after_seconds)},
            )
            return
        if fault == "5xx":
            status = sandbox.rng_choice([500, 502, 503, 504])
            self._send_raw(status, b"<html><body>upstream error</body></html>", "text/html")
            return

        now = sandbox.clock.now()
        if message_match is not None:
            message = sandbox.account.message(message_match["msid"], now)
            if message is None:
                self._send_error(404, f"message {message_match['msid']} not found")
                return
            with sandbox.stats_lock:
                sandbox.stats.records += 1
            self._send_json(200, {"SMSMessage": message})
            return
        query = parse_qs(url.query)
        channel = "voice" if match["kind"] == "campaigns" else "sms"
        try:
            if match["cid"] is None:
                self._list_campaigns(channel, query, now)
                return
            plan = sandbox.account.by_id.get(match["cid"])
            if plan is None or plan.channel != channel or plan.created_at > now:
                self._send_error(404, f"campaign {match['cid']} not found")
                return
            if match["detail"] is None:
                record = sandbox.account.campaign_with_stats(plan, now)
                self._send_envelope([record_json(record)], 0, 1, 1)
                return
            if fault == "broken" and _int_param(query, "offset", 0) > 0:
                self._send_raw(200, b'{"message": "internal error", "response": null}',
                               "application/json")
                return
            self._details(plan, query, now)
        except _BadRequest as exc:
            self._send_error(400, str(exc))

    def _list_campaigns(self, channel: str, query: dict[str, list[str]], now: int) -> None:
        sandbox = self.server.sandbox
        offset, limit = _paging(query, MAX_LIST_LIMIT)
        wanted = query.get("status", [None])[0]
        render = voice_campaign_object if channel == "voice" else sms_campaign_object
        visible = [
            record for plan in sandbox.account.campaigns(channel) if plan.created_at <= now
            for record in [render(plan, now)] if wanted is None or record["status"] == wanted
        ]
        items = [record_json(record) for record in visible[offset:offset + limit]]
        self._send_envelope(items, offset, limit, len(visible))

    def _details(self, plan: CampaignPlan, query: dict[str, list[str]], now: int) -> None:
        sandbox = self.server.sandbox
        offset, limit = _paging(query, MAX_DETAIL_LIMIT)
        details = sandbox.account.details(plan)
        if isinstance(details, SmsDetails):
            items = render_sms_items(details, now, offset, limit)
            total = plan.size
        else:
            items = render_call_items(details, now, offset, limit)
            total = int(details.visible_rows(now).size)
        with sandbox.stats_lock:
            sandbox.stats.records += len(items)
        self._send_envelope(items, offset, limit, total)

    def _sandbox_endpoint(self, path: str) -> None:
        sandbox = self.server.sandbox
        if path == "/_sandbox/health":
            self._send_json(200, {"ok": True})
        elif path == "/_sandbox/clock":
            self._send_json(200, {"now": sandbox.clock.as_datetime().isoformat()})
        elif path == "/_sandbox/stats":
            stats = sandbox.stats
            self._send_json(200, {"requests": stats.requests,
                                  "requests_by_kind": stats.requests_by_kind,
                                  "records": stats.records,
                                  "cpu_seconds": stats.cpu_seconds, "faults": stats.faults})
        else:
            self._send_error(404, f"no such endpoint: {path}")

    # -- answers -------------------------------------------------------------------------

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.server.sandbox.api_key}:{self.server.sandbox.api_token}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def _send_envelope(self, items: list[str], offset: int, limit: int, total: int) -> None:
        sandbox = self.server.sandbox
        body = envelope_bytes(
            items, offset=offset, limit=limit, total=total, request_id=sandbox.next_request_id(),
            extra_keys=sandbox.faults.extra_envelope_keys,
        )
        self._send_raw(200, body, "application/json")

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = {
            "request_id": self.server.sandbox.next_request_id(),
            "method": self.command,
            "http_code": status,
            "response": [{"code": status, "status": "failure", "data": None,
                          "error_data": {"code": status, "message": message}}],
        }
        self._send_raw(status, orjson.dumps(body), "application/json", headers)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, orjson.dumps(payload), "application/json")

    def _send_raw(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _BadRequest(ValueError):
    pass


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [None])[0]
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a whole number, got {raw!r}") from None


def _paging(query: dict[str, list[str]], max_limit: int) -> tuple[int, int]:
    offset = _int_param(query, "offset", 0)
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    if offset < 0:
        raise _BadRequest("offset must be >= 0")
    if not 1 <= limit <= max_limit:
        raise _BadRequest(f"limit must be between 1 and {max_limit}, got {limit}")
    return offset, limit


SANDBOX_ACCOUNT_SID = "sandbox_account"
SANDBOX_API_KEY = "sandbox_key"
SANDBOX_API_TOKEN = "sandbox_token"  # noqa: S105 - the sandbox's published demo token


def sandbox_environment(url: str) -> dict[str, str]:
    """The settings (as environment variables) that point the pipeline at a sandbox on `url`
    with its default credentials; no client-side rate limit, the server is local."""
    return {"EXOTEL_BASE_URL": url, "EXOTEL_ACCOUNT_SID": SANDBOX_ACCOUNT_SID,
            "EXOTEL_API_KEY": SANDBOX_API_KEY, "EXOTEL_API_TOKEN": SANDBOX_API_TOKEN,
            "EXOTEL_RATE_LIMIT_PER_MINUTE": "0"}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: SandboxServer


class SandboxServer:
    """The sandbox API, served from a background thread."""

    def __init__(
        self,
        config: AccountConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: dt.datetime | None = None,
        faults: Faults | None = None,
        account_sid: str = SANDBOX_ACCOUNT_SID,
        api_key: str = SANDBOX_API_KEY,
        api_token: str = SANDBOX_API_TOKEN,
    ) -> None:
        self.config = config or AccountConfig()
        self.account = SandboxAccount(self.config)
        self.clock = SandboxClock(now)
        self.faults = faults or Faults()
        self.account_sid = account_sid
        self.api_key = api_key
        self.api_token = api_token
        self.stats = ServeStats()
        self.stats_lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._rng_lock = threading.Lock()
        self._request_counter = 0
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def environment(self) -> dict[str, str]:
        """The settings, as environment variables, that point the pipeline at this server."""
        return {**sandbox_environment(self.url), "EXOTEL_ACCOUNT_SID": self.account_sid,
                "EXOTEL_API_KEY": self.api_key, "EXOTEL_API_TOKEN": self.api_token}

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="sandbox-api", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_request_id(self) -> str:
        with self._rng_lock:
            self._request_counter += 1
            return f"sbx{self.config.seed:04x}{self._request_counter:012x}"

    def rng_choice(self, options: list[int]) -> int:
        with self._rng_lock:
            return self._rng.choice(options)

    def draw_fault(self, *, is_detail: bool) -> str | None:
        """Decide this request's injected fault (deterministic for a sequence of requests)."""
        faults = self.faults
        with self._rng_lock:
            roll = self._rng.random()
            broken_roll = self._rng.random()
        fault = None
        if roll < faults.rate_429:
            fault = "429"
        elif roll < faults.rate_429 + faults.rate_5xx:
            fault = "5xx"
        elif is_detail and broken_roll < faults.broken_page_share:
            fault = "broken"
        if fault:
            with self.stats_lock:
                self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1
        return fault
