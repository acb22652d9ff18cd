"""The receiver's connections, held to a deadline (slowloris and friends).

uvicorn times out idle keep-alive connections but not a client that opens a connection and
sends its headers a byte at a time, or never: 21,000 of those used every file descriptor and
genuine callbacks were reset. Here each connection must deliver its request's headers within
HEADER_SECONDS of opening (or of its previous response), and past MAX_CONNECTIONS open ones the
oldest connection still waiting for its headers is closed to make room: a flood of slow
connections costs a bounded number of descriptors and never keeps a provider's callback out.
(The body has its own limit in the endpoint: receiver.BODY_SECONDS.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
MAX_CONNECTIONS = 4096


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a cap on waiting connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if len(self.connections) > MAX_CONNECTIONS:
            waiting = [c for c in self.connections
                       if isinstance(c, GuardedHttpProtocol) and c._deadline is not None
                       and c is not self]
            if waiting:
                min(waiting, key=lambda c: c._waiting_since).transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport is not None and not self.transport.is_closing():
            self._arm()  # a kept-alive connection owes its next request's headers in time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since = time.monotonic()
        self._deadline = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
