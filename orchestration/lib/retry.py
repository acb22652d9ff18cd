"""How hard a client tries before a transient failure fails the run: shared by every
provider's client."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a transient failure fails the run."""

    max_attempts: int = 8
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    max_elapsed_seconds: float = 300.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": never zero, never synchronised."""
        cap = min(self.max_delay_seconds, self.base_delay_seconds * (2**attempt))
        return cap / 2 + rng.uniform(0, cap / 2)
