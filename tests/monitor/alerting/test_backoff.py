from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from driftwarden.monitor.alerting.backoff import Backoff
from driftwarden.monitor.alerting.delivery import parse_retry_after


@given(attempt=st.integers(0, 100), seed=st.integers(0, 2**32))
def test_full_jitter_stays_between_zero_and_the_capped_exponential(attempt: int, seed: int) -> None:
    b = Backoff(base=1.0, cap=300.0)
    delay = b.delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(300.0, 2.0**attempt)


@given(retry_after=st.floats(0, 10_000), seed=st.integers(0, 2**32))
def test_retry_after_is_a_floor_clamped_to_the_cap(retry_after: float, seed: int) -> None:
    delay = Backoff(base=1.0, cap=300.0).delay(0, random.Random(seed), retry_after=retry_after)
    assert min(retry_after, 300.0) <= delay <= 300.0


def test_the_same_seed_gives_the_same_delays() -> None:
    b = Backoff(base=1.0, cap=60.0)
    assert [b.delay(i, random.Random(3)) for i in range(5)] == [
        b.delay(i, random.Random(3)) for i in range(5)
    ]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(later, now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None
