"""The partials topic's records: exact round trips, and keys that make a re-publish replace."""

from __future__ import annotations

import msgspec
import pytest

from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.windows.partial import (
    MergedMarker,
    Partial,
    decode_record,
    marker_key,
    partition_for,
)
from tests.monitor.test_merge_book import same_state
from tests.monitor.test_window import random_state


def _partial(created_at: float = 1.0, member: str = "a") -> Partial:
    return Partial(
        model_id="credit",
        key=7,
        sources=frozenset({("events", 3), ("events", 0)}),
        progress={("events", 0): 8, ("events", 3): 8, ("events", 5): 8},
        state=random_state(3),
        watermarks={("events", 0): 481.5, ("events", 3): 490.0, ("events", 5): float("-inf")},
        member=member,
        created_at=created_at,
    )


def test_a_partial_round_trips_with_its_state_sources_and_progress() -> None:
    original = _partial()
    back = decode_record(original.to_bytes())
    assert isinstance(back, Partial)
    assert back.state is not None
    assert original.state is not None
    assert same_state(back.state, original.state)
    assert (back.sources, dict(back.progress), dict(back.watermarks)) == (
        original.sources,
        dict(original.progress),
        dict(original.watermarks),
    )
    assert back.record_key() == original.record_key()


def test_the_same_share_from_another_member_or_time_has_the_same_key() -> None:
    assert _partial(1.0, "a").record_key() == _partial(99.0, "b").record_key()


def test_a_share_of_other_partitions_or_another_window_has_another_key() -> None:
    base = _partial()
    other = Partial(**{**_as_dict(base), "sources": frozenset({("events", 0)})})
    later = Partial(**{**_as_dict(base), "key": 8})
    assert len({base.record_key(), other.record_key(), later.record_key()}) == 3


def test_a_progress_record_never_shares_a_key_with_a_window_share() -> None:
    base = _partial()
    progress = Partial(**{**_as_dict(base), "state": None, "sources": frozenset()})
    assert progress.reports_progress_only
    assert progress.record_key() != base.record_key()
    assert isinstance(decode_record(progress.to_bytes()), Partial)


def test_a_marker_round_trips_with_the_evaluator_state() -> None:
    marker = MergedMarker("credit", 8, {"model_tier": 2, "tiers": {"x": [1, 2]}, "series": {}})
    back = decode_record(marker.to_bytes())
    assert back == marker
    assert marker.record_key() == marker_key("credit")


def test_an_unreadable_record_names_the_problem() -> None:
    with pytest.raises(CheckpointError, match="unreadable"):
        decode_record(b"\x00garbage")


def test_every_record_of_a_model_lands_in_one_partition_in_range() -> None:
    spread = {partition_for(f"model-{i}", 6) for i in range(200)}
    assert spread == set(range(6))
    assert partition_for("credit", 6) == partition_for("credit", 6)


def _as_dict(p: Partial) -> dict[str, object]:
    return {name: getattr(p, name) for name in Partial.__slots__}


def test_a_partial_keeps_its_windows_exact_sums() -> None:
    original = _partial()
    back = decode_record(original.to_bytes())
    assert isinstance(back, Partial)
    assert back.state is not None
    assert original.state is not None
    assert back.state.sums == original.state.sums


def test_a_record_of_the_float_sums_format_asks_for_a_partials_topic_of_its_own() -> None:
    """Format 1 partials carried float sums; merging them with exact ones would not be exact."""
    doc = msgspec.msgpack.decode(_partial().to_bytes())
    doc["format"] = 1
    with pytest.raises(CheckpointError, match=r"its own group\.partials_topic"):
        decode_record(msgspec.msgpack.encode(doc))
