"""The bundled Brevo sandbox: a deterministic synthetic Brevo SMS account on loopback, served as
../shared/brevo-contract.md pins the API down (docs/brevo-contract.md in this repository's docs
is the same page, as the pipeline speaks it).

Marketing SMS campaigns with their statistics, the recipients export (request, a process to
poll, a file at a pre-signed URL), transactional SMS events by day with offset paging and the
per-day reports. Everything is derived from the seed and resolved against the server's clock, so
a campaign's recipients move from `processing` to their outcome as time passes, soft bounces
first (Brevo retries them for up to 72 hours), and its statistics always equal its file.

Faults: a request budget per window with Brevo's `x-sib-ratelimit-*` headers and 429s past it,
a share of 5xx answers, exports that stay `in_process` or fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

SANDBOX_BREVO_KEY = "xkeysib-sandbox"
# Outcomes of a marketing recipient (the contract's events), and their shares.
DELIVERED, SOFT, HARD, REPLIED, UNSUBSCRIBED = range(5)
EVENT_NAMES = {DELIVERED: "delivered", SOFT: "softBounce", HARD: "hardBounce",
               REPLIED: "replied", UNSUBSCRIBED: "unsubscribed"}
# Seed 003's soft-bounce reasons and its hard-bounce ones, as a recipient row's reason.
SOFT_REASONS = ("Unauthorised sending time in the recipient's country", "Landline number",
                "Invalid number or country code", "Phone switched off or out of service",
                "Message expired at the operator", "Failed for unknown reasons",
                "Suspected spam on the operator network", "Undeliverable content",
                "Temporary operator network condition", "Recipient currently unreachable",
                "Temporary phone error (SIM card full)")
HARD_REASONS = ("Recipient or carrier blocked the sender", "Phone number does not exist")
EXPORT_SECONDS = 2  # how long the sandbox takes to make a recipients file
RETRY_WINDOW_SECONDS = 72 * 3600  # soft bounces are retried this long before they count
CAMPAIGN_NAMES = ("Winter Sale", "Loyalty Points", "Order Update", "Flash Offer", "Renewal")
TAGS = ("otp", "order", "alert")


@dataclass(frozen=True)
class BrevoAccountConfig:
    """The shape of a synthetic Brevo account; everything derives from these and `seed`."""

    seed: int = 3
    campaigns: int = 4
    recipients: tuple[int, int] = (200, 1_500)
    transactional_per_day: tuple[int, int] = (50, 300)
    start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end: dt.datetime = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    lists: tuple[int, ...] = (2, 7, 11)


@dataclass(frozen=True)
class BrevoFaults:
    """What the sandbox does wrong on purpose."""

    budget_per_window: int = 100  # Brevo's "all other endpoints": 100 an hour
    window_seconds: int = 3600
    rate_5xx: float = 0.0
    stuck_exports: frozenset[int] = frozenset()  # campaign ids whose export stays in_process
    failed_exports: frozenset[int] = frozenset()  # campaign ids whose export fails


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    sender: str
    created_at: int
    scheduled_at: int
    send_seconds: int
    lists: tuple[int, ...]
    numbers: np.ndarray  # digits with the country code, as int64
    outcome: np.ndarray  # per recipient, DELIVERED .. UNSUBSCRIBED
    sent_at: np.ndarray  # epoch seconds each message left
    settled_at: np.ndarray  # when its outcome is known (a soft bounce: after the retries)
    suspended: bool


@dataclass(frozen=True)
class TransactionalMessage:
    message_id: str
    number: int
    tag: str
    events: tuple[tuple[str, int, str], ...]  # (event, epoch, reason) in time order


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _number(draw: int, serial: int) -> int:
    """A transactional recipient: French (+33 7...), or one in five Indian (+91 9...)."""
    return 919_000_000_000 + draw if serial % 5 == 0 else 33_700_000_000 + draw


def plan_campaigns(config: BrevoAccountConfig) -> list[Campaign]:
    """The account's marketing campaigns, oldest first, ids from 11 upwards in creation order
    (the last planned one runs high on bounces and is suspended)."""
    rng = np.random.default_rng([config.seed, 30])
    span = _epoch(config.end) - _epoch(config.start)
    campaigns = []
    for index in range(config.campaigns):
        low, high = config.recipients
        size = int(np.clip(np.exp(rng.uniform(np.log(low), np.log(high + 1))), low, high))
        scheduled = _epoch(config.start) + int(rng.uniform(0, span * 0.9))
        send_seconds = int(rng.uniform(0.5, 3.0) * 3600)
        numbers = 33_600_000_000 + rng.choice(99_999_999, size=size, replace=False)
        # One recipient in five is in India (+91 9...), where Exotel sends too: the provider
        # comparison then has a country both serve.
        numbers = np.where(np.arange(size) % 5 == 4, 919_000_000_000 + numbers % 1_000_000_000,
                           numbers)
        # The last campaign runs high on bounces: Brevo suspends it (seed 003).
        suspended = index == config.campaigns - 1 and config.campaigns > 1
        p_soft, p_hard = (0.14, 0.08) if suspended else (0.03, 0.015)
        outcome = rng.choice(5, size=size, p=[1 - p_soft - p_hard - 0.02, p_soft, p_hard,
                                                0.015, 0.005]).astype(np.int8)
        sent_at = scheduled + (np.arange(size) * (send_seconds / size)).astype(np.int64)
        delay = rng.exponential(20.0, size).astype(np.int64) + 2
        settled = np.where(outcome == SOFT, sent_at + RETRY_WINDOW_SECONDS, sent_at + delay)
        campaigns.append(Campaign(
            id=11 + index, name=f"{CAMPAIGN_NAMES[index % len(CAMPAIGN_NAMES)]} {index + 1}",
            sender="BrevoShop", created_at=scheduled - int(rng.uniform(1, 48) * 3600),
            scheduled_at=scheduled, send_seconds=send_seconds,
            lists=tuple(int(x) for x in rng.choice(config.lists, size=1 + index % 2,
                                                   replace=False)),
            numbers=numbers.astype(np.int64), outcome=outcome, sent_at=sent_at,
            settled_at=settled, suspended=suspended))
    # Brevo numbers campaigns as they are created.
    campaigns.sort(key=lambda c: c.created_at)
    return [replace(c, id=11 + i) for i, c in enumerate(campaigns)]


def plan_transactional(config: BrevoAccountConfig) -> list[TransactionalMessage]:
    """API-sent messages over the account's days, each with its events in time order."""
    rng = np.random.default_rng([config.seed, 31])
    messages = []
    day = _epoch(config.start)
    serial = 0
    while day < _epoch(config.end):
        count = int(rng.integers(config.transactional_per_day[0],
                                 config.transactional_per_day[1] + 1))
        for _ in range(count):
            serial += 1
            sent = day + int(rng.uniform(0, 86400))
            roll = rng.random()
            events = [("sent", sent, ""), ("accepted", sent + 1, "")]
            if roll < 0.05:  # a soft bounce Brevo retried, then delivered
                events += [("softBounces", sent + 60, SOFT_REASONS[serial % len(SOFT_REASONS)]),
                           ("delivered", sent + 3 * 3600, "")]
            elif roll < 0.08:
                events.append(("hardBounces", sent + 5, HARD_REASONS[serial % len(HARD_REASONS)]))
            elif roll < 0.09:
                events[1:] = [("rejected", sent + 1, "")]
            else:
                events.append(("delivered", sent + int(rng.integers(2, 40)), ""))
            messages.append(TransactionalMessage(
                # numeric, as the webhooks send it (the events API as text)
                message_id=str(2026_0000_0000 + serial),
                number=_number(int(rng.integers(0, 99_999_999)), serial),
                tag=TAGS[serial % len(TAGS)], events=tuple(events)))
        day += 86400
    return messages


class BrevoAccount:
    """The account as the API shows it at a moment."""

    def __init__(self, config: BrevoAccountConfig) -> None:
        self.config = config
        self.campaigns = {c.id: c for c in plan_campaigns(config)}
        self.transactional = plan_transactional(config)

    def status(self, campaign: Campaign, now: int) -> str:
        if now < campaign.created_at:
            return "absent"
        if now < campaign.scheduled_at:
            return "queued"
        if campaign.suspended and now >= campaign.scheduled_at + campaign.send_seconds // 2:
            return "suspended"
        if now < campaign.scheduled_at + campaign.send_seconds:
            return "inProcess"
        return "sent"

    def _visible(self, campaign: Campaign, now: int) -> np.ndarray:
        """Recipients sent to by `now` (a suspended campaign stopped half-way)."""
        stop = campaign.scheduled_at + (campaign.send_seconds // 2 if campaign.suspended
                                        else campaign.send_seconds)
        return campaign.sent_at < min(now, stop)

    def states(self, campaign: Campaign, now: int) -> tuple[np.ndarray, np.ndarray]:
        """(mask of recipients sent to, their state now: -1 processing, else the outcome)."""
        sent = self._visible(campaign, now)
        state = np.where(campaign.settled_at <= now, campaign.outcome, -1)
        return sent, state

    def statistics(self, campaign: Campaign, now: int) -> dict[str, int]:
        sent, state = self.states(campaign, now)
        s = state[sent]
        delivered_like = np.isin(s, [DELIVERED, REPLIED, UNSUBSCRIBED])
        return {"sent": int(sent.sum()), "delivered": int(delivered_like.sum()),
                "processing": int((s == -1).sum()), "softBounces": int((s == SOFT).sum()),
                "hardBounces": int((s == HARD).sum()),
                "unsubscriptions": int((s == UNSUBSCRIBED).sum()),
                "answered": int((s == REPLIED).sum())}

    def modified_at(self, campaign: Campaign, now: int) -> int:
        """The last moment the status or the statistics changed, at or before `now`."""
        moments = [campaign.created_at]
        for moment in (campaign.scheduled_at, campaign.scheduled_at + campaign.send_seconds // 2,
                       campaign.scheduled_at + campaign.send_seconds):
            if moment <= now:
                moments.append(moment)
        sent, _ = self.states(campaign, now)
        settled = campaign.settled_at[sent]
        times = np.concatenate([campaign.sent_at[sent], settled[settled <= now]])
        if times.size:
            moments.append(int(times.max()))
        return max(moments)

    def campaign_json(self, campaign: Campaign, now: int) -> dict[str, Any]:
        status = self.status(campaign, now)
        stats = (self.statistics(campaign, now) if status not in ("queued", "draft")
                 else dict.fromkeys(("sent", "delivered", "processing", "softBounces",
                                     "hardBounces", "unsubscriptions", "answered"), 0))
        return {"id": campaign.id, "name": campaign.name, "status": status,
                "content": f"{campaign.name}: reply STOP to opt out", "sender": campaign.sender,
                "scheduledAt": _iso(campaign.scheduled_at), "createdAt": _iso(campaign.created_at),
                "modifiedAt": _iso(self.modified_at(campaign, now)),
                "recipients": {"lists": list(campaign.lists), "exclusionLists": []},
                "statistics": stats}

    def recipients_csv(self, campaign: Campaign, now: int) -> str:
        """The `all` export: each recipient sent to, once, in its current state."""
        sent, state = self.states(campaign, now)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["contact_id", "sms", "email", "event", "date", "reason", "reply"])
        for i in np.flatnonzero(sent):
            value = int(state[i])
            event = "processing" if value == -1 else EVENT_NAMES[value]
            when = int(campaign.sent_at[i] if value == -1 else campaign.settled_at[i])
            reason = (SOFT_REASONS[i % len(SOFT_REASONS)] if value == SOFT
                      else HARD_REASONS[i % len(HARD_REASONS)] if value == HARD else "")
            reply = "STOP" if value == UNSUBSCRIBED else ("Thanks!" if value == REPLIED else "")
            writer.writerow([1000 + i, str(int(campaign.numbers[i])), "", event, _iso(when),
                             reason, reply])
        return out.getvalue()

    def events(self, now: int, start: dt.date, end: dt.date) -> list[dict[str, str]]:
        """Transactional events dated within [start, end] (UTC days) and before `now`, newest
        first (the API's default sort)."""
        low = _epoch(dt.datetime.combine(start, dt.time(), dt.UTC))
        high = _epoch(dt.datetime.combine(end, dt.time(), dt.UTC)) + 86400
        found = [{"phoneNumber": str(m.number), "date": _iso(when), "messageId": m.message_id,
                  "event": event, "reason": reason, "tag": m.tag}
                 for m in self.transactional for event, when, reason in m.events
                 if low <= when < high and when <= now]
        return sorted(found, key=lambda e: (e["date"], e["messageId"], e["event"]),
                      reverse=True)

    def reports(self, now: int, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        days: dict[str, dict[str, int]] = {}
        keys = {"sent": "requests", "delivered": "delivered", "hardBounces": "hardBounces",
                "softBounces": "softBounces", "blocked": "blocked", "accepted": "accepted",
                "rejected": "rejected"}
        for event in self.events(now, start, end):
            day = days.setdefault(event["date"][:10], dict.fromkeys(
                ["requests", "delivered", "hardBounces", "softBounces", "blocked",
                 "unsubscribed", "replied", "accepted", "rejected", "skipped"], 0))
            if event["event"] in keys:
                day[keys[event["event"]]] += 1
        return [{"date": day, **counts} for day, counts in sorted(days.items())]


@dataclass
class BrevoStats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    throttled: int = 0


class BrevoSandbox:
    """The Brevo sandbox, served from a background thread."""

    def __init__(self, config: BrevoAccountConfig | None = None, *, port: int = 0,
                 now: dt.datetime | None = None, faults: BrevoFaults | None = None,
                 api_key: str = SANDBOX_BREVO_KEY) -> None:
        self.config = config or BrevoAccountConfig()
        self.account = BrevoAccount(self.config)
        self.faults = faults or BrevoFaults()
        self.api_key = api_key
        self.now = now or dt.datetime.now(dt.UTC)
        self.stats = BrevoStats()
        self.lock = threading.Lock()
        self.window_started: float | None = None
        self.window_used = 0
        self.processes: dict[int, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self._rng = random.Random(self.config.seed)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.sandbox = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v3"

    def environment(self) -> dict[str, str]:
        return {"BREVO_BASE_URL": self.url, "BREVO_API_KEY": self.api_key}

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += dt.timedelta(seconds=seconds)

    def start(self) -> BrevoSandbox:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="brevo-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BrevoSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # The rate-limit window runs on the sandbox's clock, so a test can move past a reset.
    def take_request(self) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds to reset) for one more request."""
        with self.lock:
            now = self.now.timestamp()
            if self.window_started is None or now - self.window_started >= \
                    self.faults.window_seconds:
                self.window_started, self.window_used = now, 0
            reset = int(self.window_started + self.faults.window_seconds - now)
            if self.window_used >= self.faults.budget_per_window:
                self.stats.throttled += 1
                return False, 0, max(reset, 1)
            self.window_used += 1
            return True, self.faults.budget_per_window - self.window_used, max(reset, 1)


def campaign_file_token(campaign_id: int, process_id: int) -> str:
    return hashlib.blake2s(f"{campaign_id}:{process_id}".encode(), digest_size=8).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server_version = "brevo-sandbox"
    sandbox: BrevoSandbox

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._serve("POST")

    def _serve(self, method: str) -> None:
        sandbox: BrevoSandbox = self.server.sandbox  # type: ignore[attr-defined]
        self._limit: tuple[int | None, int | None] = (None, None)  # per request, not connection
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path.startswith("/files/"):  # the pre-signed export URL: no key, no budget
            body = sandbox.files.get(path.removeprefix("/files/"))
            if body is None:
                return self._json(404, {"code": "document_not_found", "message": "no file"})
            return self._send(200, body.encode(), "text/csv")
        with sandbox.lock:
            sandbox.stats.requests += 1
            key = path.rstrip("/").rsplit("/", 1)[0] if path[-1:].isdigit() else path
            sandbox.stats.by_path[key] = sandbox.stats.by_path.get(key, 0) + 1
        if self.headers.get("api-key") != sandbox.api_key:
            return self._json(401, {"code": "unauthorized", "message": "Key not found"})
        allowed, remaining, reset = sandbox.take_request()
        self._limit = (remaining, reset)
        if not allowed:
            return self._json(429, {"code": "too_many_requests",
                                    "message": "The rate limit is exceeded"})
        with sandbox.lock:
            fail = sandbox._rng.random() < sandbox.faults.rate_5xx
        if fail:
            return self._json(503, {"code": "service_unavailable", "message": "try later"})
        now = int(sandbox.now.timestamp())
        try:
            self._route(sandbox, method, path, query, now)
        except (ValueError, KeyError) as error:
            self._json(400, {"code": "invalid_parameter", "message": str(error)})

    def _route(self, sandbox: BrevoSandbox, method: str, path: str, query: dict[str, str],
               now: int) -> None:
        account = sandbox.account
        segments = path.strip("/").split("/")
        if segments[:1] != ["v3"]:
            return self._json(404, {"code": "document_not_found", "message": path})
        segments = segments[1:]
        if method == "GET" and segments == ["smsCampaigns"]:
            limit, offset = int(query.get("limit", 500)), int(query.get("offset", 0))
            if not 1 <= limit <= 1000 or offset < 0:
                return self._json(400, {"code": "out_of_range", "message": "limit is 1..1000"})
            listed = [account.campaign_json(c, now) for c in account.campaigns.values()
                      if account.status(c, now) != "absent"]
            if query.get("status"):
                listed = [c for c in listed if c["status"] == query["status"]]
            listed.sort(key=lambda c: c["createdAt"], reverse=query.get("sort", "desc") == "desc")
            return self._json(200, {"campaigns": listed[offset:offset + limit],
                                    "count": len(listed)})
        if len(segments) >= 2 and segments[0] == "smsCampaigns":
            campaign = account.campaigns.get(int(segments[1]))
            if campaign is None or account.status(campaign, now) == "absent":
                return self._json(404, {"code": "document_not_found",
                                        "message": "SMS campaign not found"})
            if method == "GET" and len(segments) == 2:
                return self._json(200, account.campaign_json(campaign, now))
            if method == "POST" and segments[2:] == ["exportRecipients"]:
                body = self._body()
                if body.get("recipientsType", "all") != "all":
                    return self._json(400, {"code": "invalid_parameter",
                                            "message": "the sandbox exports 'all' only"})
                with sandbox.lock:
                    process_id = 500 + len(sandbox.processes)
                    sandbox.processes[process_id] = {"campaign": campaign.id, "at": now,
                                                     "polls": 0, "asked": time.monotonic()}
                return self._json(202, {"processId": process_id})
        if method == "GET" and len(segments) == 2 and segments[0] == "processes":
            return self._process(sandbox, int(segments[1]), now)
        if method == "GET" and segments[:2] == ["transactionalSMS", "statistics"]:
            start, end = self._days(query, now)
            if segments[2:] == ["events"]:
                limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
                if not 1 <= limit <= 100 or offset < 0:
                    return self._json(400, {"code": "out_of_range",
                                            "message": "limit is 1..100"})
                events = account.events(now, start, end)
                if query.get("sort") == "asc":
                    events.reverse()
                return self._json(200, {"events": events[offset:offset + limit]})
            if segments[2:] == ["reports"]:
                return self._json(200, {"reports": account.reports(now, start, end)})
        return self._json(404, {"code": "document_not_found", "message": path})

    def _process(self, sandbox: BrevoSandbox, process_id: int, now: int) -> None:
        with sandbox.lock:
            process = sandbox.processes.get(process_id)
            if process is None:
                return self._json(404, {"code": "document_not_found",
                                        "message": "process not found"})
            process["polls"] += 1
            polls = process["polls"]
        campaign = sandbox.account.campaigns[process["campaign"]]
        answer = {"id": process_id, "name": f"Export SMS campaign {campaign.id}",
                  "export_url": None}
        if campaign.id in sandbox.faults.failed_exports:
            return self._json(200, {**answer, "status": "failed"})
        # An export takes EXPORT_SECONDS to make, on the sandbox's clock or the wall clock
        # (whichever the client waits on); a client that polls at once finds it queued.
        ready = (polls >= 2 or now - process["at"] >= EXPORT_SECONDS
                 or time.monotonic() - process["asked"] >= EXPORT_SECONDS)
        if campaign.id in sandbox.faults.stuck_exports or not ready:
            return self._json(200, {**answer, "status": "in_process" if polls > 1
                                    else "queued"})
        token = campaign_file_token(campaign.id, process_id)
        with sandbox.lock:  # the file is as the campaign stood when the export was asked for
            sandbox.files.setdefault(token, sandbox.account.recipients_csv(campaign,
                                                                           process["at"]))
        host, port = sandbox._httpd.server_address[:2]
        return self._json(200, {**answer, "status": "completed",
                                "export_url": f"http://{host}:{port}/files/{token}"})

    @staticmethod
    def _days(query: dict[str, str], now: int) -> tuple[dt.date, dt.date]:
        if "startDate" in query or "endDate" in query:
            if not ("startDate" in query and "endDate" in query):
                raise ValueError("startDate and endDate go together")
            return (dt.date.fromisoformat(query["startDate"]),
                    dt.date.fromisoformat(query["endDate"]))
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        return today - dt.timedelta(days=int(query.get("days", 7)) - 1), today

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _json(self, code: int, payload: Any) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        remaining, reset = getattr(self, "_limit", (None, None))
        if remaining is not None:
            budget = self.server.sandbox.faults.budget_per_window  # type: ignore[attr-defined]
            self.send_header("x-sib-ratelimit-limit", str(budget))
            self.send_header("x-sib-ratelimit-remaining", str(remaining))
            self.send_header("x-sib-ratelimit-reset", str(reset))
        self.end_headers()
        self.wfile.write(body)
