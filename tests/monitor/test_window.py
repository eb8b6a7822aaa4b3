"""Window state: mergeable, serialisable, and sized by columns x bins only."""

from __future__ import annotations

import math
from fractions import Fraction

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.exact_sum import units
from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.windows.window import WindowState
from tests.monitor.factories import make_baseline

LAYOUT = ModelLayout.from_baseline(make_baseline())


def same_counts(a: WindowState, b: WindowState) -> bool:
    """Every count matches (sums, minima and maxima are checked where they matter)."""
    return (a.model_id, a.key, a.events, a.unknown_features) == (
        b.model_id,
        b.key,
        b.events,
        b.unknown_features,
    ) and all(
        np.array_equal(getattr(a, f), getattr(b, f))
        for f in ("bins", "missing", "type_errors", "counted")
    )


def random_state(seed: int, key: int = 7) -> WindowState:
    rng = np.random.default_rng(seed)
    state = WindowState.empty(LAYOUT, key)
    state.events = int(rng.integers(0, 1000))
    state.unknown_features = int(rng.integers(0, 10))
    state.first_ts, state.last_ts = float(rng.uniform(0, 10)), float(rng.uniform(10, 20))
    state.bins[:] = rng.integers(0, 100, LAYOUT.total_bins)
    for name in ("missing", "type_errors", "counted"):
        getattr(state, name)[:] = rng.integers(0, 50, len(LAYOUT.columns))
    # Sums of any size and sign, from a few units to far past float range.
    state.sums[:] = [
        units(float(x)) * int(rng.integers(-(2**40), 2**40))
        for x in rng.normal(size=len(LAYOUT.columns)) * 10.0 ** rng.integers(-320, 300)
    ]
    state.mins[:] = rng.uniform(-5, 0, len(LAYOUT.columns))
    state.maxs[:] = rng.uniform(0, 5, len(LAYOUT.columns))
    return state


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_to_bytes_round_trips_exactly(seed: int) -> None:
    state = random_state(seed)
    back = WindowState.from_bytes(state.to_bytes())
    assert same_counts(back, state)
    assert back.sums == state.sums
    assert np.array_equal(back.maxs, state.maxs)
    assert (back.first_ts, back.last_ts) == (state.first_ts, state.last_ts)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_merge_is_commutative_and_associative_on_counts(a: int, b: int, c: int) -> None:
    x, y, z = random_state(a), random_state(b), random_state(c)
    assert same_counts(x.merge(y), y.merge(x))
    assert same_counts(x.merge(y).merge(z), x.merge(y.merge(z)))
    merged = x.merge(y)
    assert merged.events == x.events + y.events
    assert np.array_equal(merged.mins, np.minimum(x.mins, y.mins))
    assert merged.sums == [a + b for a, b in zip(x.sums, y.sums, strict=True)]
    assert x.merge(y).merge(z).sums == x.merge(y.merge(z)).sums == z.merge(x).merge(y).sums


def test_merge_with_an_empty_window_changes_nothing() -> None:
    state = random_state(1)
    assert same_counts(state.merge(WindowState.empty(LAYOUT, state.key)), state)


def test_merging_different_windows_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot merge"):
        random_state(1, key=1).merge(random_state(2, key=2))


def test_size_depends_on_columns_and_bins_only() -> None:
    small, large = WindowState.empty(LAYOUT, 0), random_state(3)
    large.events = 10**12
    # The largest sum there can be: 10**12 values of the largest float, all but the
    # lowest unit bit set (no low zero bits to shift out), about 2**2138 units.
    large.sums[:] = [units(1.7976931348623157e308) * 10**12 + 1] * len(LAYOUT.columns)
    # Only the integer headers' varint widths and the sums' lengths may differ; the
    # arrays are fixed-size and a sum is at most 2**(1024 + 1074 + 40) units.
    widest_sum = (1024 + 1074 + 40) // 8 + 8
    assert abs(len(small.to_bytes()) - len(large.to_bytes())) <= 32 + widest_sum * len(
        LAYOUT.columns
    )
    assert len(large.to_bytes()) < 100 * (LAYOUT.total_bins + 8 * len(LAYOUT.columns))


def test_a_sum_is_stored_without_its_low_zero_bits() -> None:
    """A sum of floats near 1 is about 2**1074 units; its stored form is bytes, not hundreds."""
    state = WindowState.empty(LAYOUT, 0)
    empty_size = len(state.to_bytes())
    state.sums[:] = [units(0.1) * 10_000] * len(LAYOUT.columns)
    assert len(state.to_bytes()) - empty_size <= 12 * len(LAYOUT.columns)
    assert WindowState.from_bytes(state.to_bytes()).sums == state.sums


def _format_1(state: WindowState, sums: list[float]) -> bytes:
    """`state` as the previous version wrote it: float sums and sums of squares."""
    doc = msgspec.msgpack.decode(state.to_bytes())
    doc["format"] = 1
    doc["sums"] = np.asarray(sums, dtype="<f8").tobytes()
    doc["sumsq"] = np.zeros(len(sums), dtype="<f8").tobytes()
    return msgspec.msgpack.encode(doc)


def test_a_format_1_state_is_read_with_every_count_so_an_upgrade_keeps_its_open_windows() -> None:
    state = random_state(4)
    rng = np.random.default_rng(5)
    floats = [float(x) for x in rng.normal(size=len(state.sums)) * 10.0 ** rng.integers(-300, 300)]
    old = WindowState.from_bytes(_format_1(state, floats))
    assert np.array_equal(old.bins, state.bins)
    assert np.array_equal(old.counted, state.counted)
    assert old.events == state.events
    assert [Fraction(s, 2**1074) for s in old.sums] == [Fraction(f) for f in floats]


def test_a_format_1_sum_saturated_at_infinity_is_refused() -> None:
    state = random_state(4)
    floats = [math.inf] + [0.0] * (len(state.sums) - 1)
    with pytest.raises(CheckpointError, match=r"unreadable.*infinity"):
        WindowState.from_bytes(_format_1(state, floats))


def test_an_unknown_format_is_a_checkpoint_error_that_says_to_delete_the_checkpoint() -> None:
    doc = msgspec.msgpack.decode(random_state(4).to_bytes())
    doc["format"] = 3
    with pytest.raises(CheckpointError, match=r"format 3 is not one of.*delete the checkpoint"):
        WindowState.from_bytes(msgspec.msgpack.encode(doc))


@pytest.mark.parametrize("bad", [[-1, b"\x01"], [5000, b"\x01"], "12", [1, 2, 3]])
def test_a_malformed_sum_is_a_checkpoint_error(bad: object) -> None:
    doc = msgspec.msgpack.decode(random_state(5).to_bytes())
    doc["sums"][0] = bad
    with pytest.raises(CheckpointError, match="unreadable"):
        WindowState.from_bytes(msgspec.msgpack.encode(doc))


def test_garbage_bytes_are_a_checkpoint_error_not_a_crash() -> None:
    with pytest.raises(CheckpointError):
        WindowState.from_bytes(b"\x00not msgpack")
