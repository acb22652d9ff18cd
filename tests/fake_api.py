"""A hostile fake of the provider's API for tests: a real HTTP server on 127.0.0.1 that serves
exactly the campaigns and records a test hands it, in the contract's envelope, and records every
path it was asked for. Unlike the sandbox it generates nothing: each test writes the bad data it
is about (ids with `../`, out-of-range numbers, impossible times, a short page mid-stream)."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

ACCOUNT = "fake_account"
KEY, TOKEN = "fake_key_7Qx", "fake_token_Zk93"  # noqa: S105 - a test double's credentials


@dataclass
class FakeAccount:
    """What the fake serves. `details[campaign_id]` is the campaign's records in order;
    `short_pages[campaign_id] = (offset, times)` answers that offset with an empty page the
    first `times` requests (a provider hiccup mid-stream)."""

    voice: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    short_pages: dict[str, tuple[int, int]] = field(default_factory=dict)
    now: dt.datetime = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    # A string value in `raw_values` is served as that JSON text, unquoted: how a test sends
    # what JSON allows but orjson refuses (1e400, NaN, "\ud800").
    raw_values: dict[str, str] = field(default_factory=dict)
    # Campaign ids whose detail pages answer 503 every time (a provider fault on one campaign).
    failing_details: set[str] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(self.server.account.now.timestamp(), usegmt=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        url = urlsplit(self.path)
        self.server.paths.append(url.path)
        parts = [unquote(p) for p in url.path.split("/")]
        # /v2/accounts/{sid}/{kind}[/{campaign_id}[/{detail}]]
        if parts[:3] != ["", "v2", "accounts"] or len(parts) < 5 or parts[3] != ACCOUNT:
            self._send(404, {"message": "not found"})
            return
        kind = parts[4]
        account = self.server.account
        listed = account.voice if kind == "campaigns" else account.sms
        query = parse_qs(url.query)
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["20"])[0])
        if len(parts) == 5:
            self._envelope(listed[offset:offset + limit])
            return
        campaign = next((c for c in listed if c.get("id") == parts[5]), None)
        if campaign is None:
            self._send(404, {"message": "campaign not found"})
            return
        if len(parts) == 6:
            self._envelope([campaign])
            return
        if parts[5] in account.failing_details:
            self._send(503, {"message": "service unavailable"})
            return
        records = account.details.get(parts[5], [])
        short = account.short_pages.get(parts[5])
        if short and short[0] == offset and short[1] > 0:
            account.short_pages[parts[5]] = (short[0], short[1] - 1)
            self._envelope([])
            return
        self._envelope(records[offset:offset + limit])

    def _envelope(self, records: list[dict[str, Any]]) -> None:
        self._send(200, {"request_id": "fake", "method": "GET", "http_code": 200,
                         "metadata": {"count": len(records)},
                         "response": [{"code": 200, "status": "success", "error_data": None,
                                       "data": r} for r in records]})

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        for placeholder, text in self.server.account.raw_values.items():
            body = body.replace(orjson.dumps(placeholder), text.encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    account: FakeAccount
    paths: list[str]


class FakeApi:
    def __init__(self, account: FakeAccount) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.account = account
        self._httpd.paths = []
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def paths(self) -> list[str]:
        return self._httpd.paths

    def environment(self) -> dict[str, str]:
        return {"EXOTEL_BASE_URL": self.url, "EXOTEL_ACCOUNT_SID": ACCOUNT,
                "EXOTEL_API_KEY": KEY, "EXOTEL_API_TOKEN": TOKEN,
                "EXOTEL_RATE_LIMIT_PER_MINUTE": "0"}

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# ---- records that pass their contracts, for tests to spoil one field at a time ---------------

def sms_campaign(campaign_id: str, total: int, **overrides: Any) -> dict[str, Any]:
    record = {"id": campaign_id, "name": f"Campaign {campaign_id}", "status": "Completed",
              "created_at": "2026-01-05T09:00:00+05:30", "start_time": "2026-01-05T10:00:00+05:30",
              "end_time": "2026-01-05T11:00:00+05:30", "sender_id": "EXOTL",
              "message_type": "transactional", "dlt_template_id": "1107160000000012345",
              "stats": {"total": total, "submitted": total, "delivered": total, "failed": 0,
                        "pending": 0, "rejected": 0}}
    record.update(overrides)
    return record


def sms_message(number: int, **overrides: Any) -> dict[str, Any]:
    record = {"sms_sid": f"sm_{number:06d}", "to": f"+9198{number:08d}", "status": "delivered",
              "submitted_at": "2026-01-05T10:00:00+05:30",
              "delivered_at": "2026-01-05T10:00:04+05:30",
              "updated_at": "2026-01-05T10:00:04+05:30", "error_code": None,
              "error_message": None, "detailed_status": "DELIVERED_TO_HANDSET",
              "detailed_status_code": 20000, "parts": 1, "cost": 0.2}
    record.update(overrides)
    return record


def voice_campaign(campaign_id: str, created: int, **overrides: Any) -> dict[str, Any]:
    record = {"id": campaign_id, "name": f"Campaign {campaign_id}", "status": "Completed",
              "created_at": "2026-01-05T09:00:00+05:30", "start_time": "2026-01-05T10:00:00+05:30",
              "end_time": "2026-01-05T11:00:00+05:30", "caller_id": "08047094890",
              "retries": {"number_of_retries": 0, "interval_mins": 30, "mechanism": "Linear",
                          "on_status": ["busy", "no-answer"]},
              "stats": {"created": created, "completed": created, "failed": 0, "pending": 0,
                        "in_progress": 0, "busy": 0, "no_answer": 0}}
    record.update(overrides)
    return record


def call_attempt(number: int, **overrides: Any) -> dict[str, Any]:
    record = {"call_sid": f"ca_{number:06d}", "to": f"+9197{number:08d}", "from": "08047094890",
              "status": "completed", "start_time": "2026-01-05T10:00:00+05:30",
              "end_time": "2026-01-05T10:01:00+05:30", "duration": 43,
              "recording_url": None, "attempt_number": 1, "price": 2}
    record.update(overrides)
    return record


def messages(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    return (sms_message(n) for n in range(start, start + count))
