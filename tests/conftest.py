"""Shared fixtures: a real sandbox API on 127.0.0.1 and clients that talk to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

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
