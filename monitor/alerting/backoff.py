"""Exponential back-off with full jitter, floored by the receiver's `Retry-After`.

`delay = uniform(0, min(cap, base * 2**attempt))` spreads retries of many
notifications so a recovering receiver is not hit by all of them at once (AWS
architecture blog, "Exponential backoff and jitter"). A `Retry-After` answer is a
floor: we wait at least that long, but never more than `cap`, so a hostile or
broken header cannot park the outbox for a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float
    cap: float

    def delay(self, attempt: int, rng: random.Random, *, retry_after: float | None = None) -> float:
        """Seconds before retry number `attempt` (0 = first retry)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 62))
        delay = rng.uniform(0.0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        return delay
