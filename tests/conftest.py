"""Shared fixtures: a real sandbox API on 127.0.0.1 and clients that talk to it."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from orchestration.lib.exotel import ExotelClient, RetryPolicy
from orchestration.sandbox import AccountConfig, Faults, SandboxServer

# A fixed clock a day after the default account's last campaign: the last campaigns are
# still inside the 72-hour receipt window, the earlier ones are final.
SANDBOX_NOW = dt.datetime(2026, 1, 16, 6, 0, tzinfo=dt.UTC)
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes on free loopback ports; all are stopped at the end of the test."""
    servers: list[SandboxServer] = []

    def start(
        config: AccountConfig | None = None,
        *,
        now: dt.datetime | None = SANDBOX_NOW,
        faults: Faults | None = None,
    ) -> SandboxServer:
        server = SandboxServer(config or AccountConfig(seed=11), now=now, faults=faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(server: SandboxServer, **kwargs: object) -> ExotelClient:
    options: dict[str, object] = {"rate_limit_per_minute": 0, "retry": FAST_RETRY}
    options.update(kwargs)
    return ExotelClient(
        server.url, server.account_sid, server.api_key, server.api_token, **options
    )


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> dict[str, Any]:
    """`campaign-analytics demo` with its defaults, in a fresh folder, as a new user runs
    `make demo`; several test modules read what it leaves (one demo for the whole session)."""
    home = tmp_path_factory.mktemp("newuser")
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "demo"], cwd=home,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"home": home, "result": result,
            "published": home / "data" / "demo" / "published.duckdb"}


# A chat webhook on 127.0.0.1 for the alerts' tests: records each POST as (path, JSON body) in
# `posts`, and answers the statuses queued in `answers` (then 200).
class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.posts.append((self.path, orjson.loads(body)))
        status = server.answers.pop(0) if server.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def hook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    server.posts, server.answers = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()




# Fixtures that run the whole pipeline once for their module, and what a test that runs one
# itself calls: such tests are whole runs (marker e2e), left out of the quick loop.
WHOLE_RUN_FIXTURES = {"demo_run", "audience_run", "hostile_run", "verbose_sync"}
WHOLE_RUN_CALLS = re.compile(r"run_pipeline\(|warehouse_models|run_daily|run_refresh|"
                             r"\"(?:sync|demo|refresh|backfill|contacts|conversions)\"")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        if (WHOLE_RUN_FIXTURES & set(getattr(item, "fixturenames", ()))
                or WHOLE_RUN_CALLS.search(source)):
            item.add_marker(pytest.mark.e2e)
