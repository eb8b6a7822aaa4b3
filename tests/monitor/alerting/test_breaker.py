from __future__ import annotations

from driftwarden.monitor.alerting.breaker import CircuitBreaker


def test_opens_after_consecutive_failures_and_probes_after_reset() -> None:
    b = CircuitBreaker(failures=3, reset=60.0)
    for t in (0.0, 1.0):
        b.failure(t)
        assert b.state(t) == "closed"
    b.failure(2.0)
    assert b.state(2.0) == "open"
    assert not b.allow(61.0)
    assert b.state(62.0) == "half_open"
    assert b.allow(62.0)
    b.failure(62.0)  # the probe failed: a full period again
    assert b.state(100.0) == "open"
    b.success()
    assert b.state(100.0) == "closed"


def test_trip_opens_at_once() -> None:
    b = CircuitBreaker(failures=5, reset=10.0)
    b.trip(0.0)
    assert not b.allow(5.0)
    assert b.allow(10.0)
