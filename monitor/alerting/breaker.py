"""A per-receiver circuit breaker, so a dead receiver costs one time-out, not hundreds.

Closed: deliveries go through; `failures` consecutive failures open it. Open:
nothing is attempted until `reset` seconds have passed. Half-open: one probe is
let through; success closes the circuit, failure opens it again. A rejection
that says the endpoint itself is wrong (401/403/404/410) opens it at once.
Wall-clock seconds, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(slots=True)
class CircuitBreaker:
    failures: int
    reset: float
    consecutive: int = 0
    opened_at: float | None = None

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        return "half_open" if now - self.opened_at >= self.reset else "open"

    def allow(self, now: float) -> bool:
        return self.state(now) != "open"

    def success(self) -> None:
        self.consecutive = 0
        self.opened_at = None

    def failure(self, now: float) -> None:
        self.consecutive += 1
        if self.opened_at is not None or self.consecutive >= self.failures:
            self.opened_at = now  # a failed half-open probe re-opens for a full period

    def trip(self, now: float) -> None:
        self.consecutive = max(self.consecutive, self.failures)
        self.opened_at = now
