"""A client-side rate limit: at most N requests in any sliding 60-second window."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowRateLimiter:
    """Blocks `acquire()` until a request may go out without exceeding `per_minute`.

    A sliding window (rather than a token bucket with a burst) matches how the provider states
    its limit, "200 requests/minute", so we never trip its 429s by bursting at a minute boundary.
    `per_minute=0` disables the limit (the bundled sandbox has none).
    """

    def __init__(
        self,
        per_minute: int,
        *,
        window_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be >= 0")
        self.per_minute = per_minute
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        if self.per_minute == 0:
            return
        with self._lock:
            now = self._clock()
            while self._sent and now - self._sent[0] >= self.window_seconds:
                self._sent.popleft()
            if len(self._sent) >= self.per_minute:
                wait = self.window_seconds - (now - self._sent[0])
                if wait > 0:
                    self.waited_seconds += wait
                    self._sleep(wait)
                self._sent.popleft()
                now = self._clock()
            self._sent.append(now)
