"""The engine: every event counted or rejected, and verdicts independent of how input arrives."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.config import Settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import CheckpointError, ConfigError
from driftwarden.monitor.ingest.batch import DecodedBatch
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.verdicts.narrative import what_happened, what_to_do
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.windows.windowing import AheadCounter, WindowCounts
from tests.monitor.factories import event, make_baseline, settings_with, uniform_events

WINDOWED = {
    "window": {"size": "60s", "allowed_lateness": "10s"},
    "significance": {"min_samples": 50},
}


class Recorder:
    def __init__(self) -> None:
        self.items: list[tuple[bytes, str, dict[str, Any]]] = []

    def write(self, payload: bytes, reason: str, source: Mapping[str, str | int]) -> None:
        self.items.append((payload, reason, dict(source)))


def engine(settings: Settings | None = None, sink: Recorder | None = None) -> Engine:
    return Engine([make_baseline()], settings or settings_with(policy=WINDOWED), reject_sink=sink)


def records(verdicts: Sequence[WindowVerdict]) -> list[dict[str, Any]]:
    return [window_record(v) for v in verdicts]


def assert_same_windows(got: Sequence[WindowVerdict], expected: Sequence[WindowVerdict]) -> None:
    """Equal in every count, statistic, mean (exact sums) and tier."""
    assert records(got) == records(expected)


def stream(seed: int = 0, n: int = 3000, shift_from: int | None = None) -> list[bytes]:
    rng = np.random.default_rng(seed)
    if shift_from is None:
        return uniform_events(rng, n, t0=0.0)
    calm = uniform_events(rng, shift_from, t0=0.0)
    return calm + uniform_events(rng, n - shift_from, t0=shift_from / 10.0, shift=3.0)


def run_all(e: Engine, payloads: Sequence[bytes], batch: int = 500) -> list[WindowVerdict]:
    out: list[WindowVerdict] = []
    for i in range(0, len(payloads), batch):
        out += e.process(payloads[i : i + batch])
    return out + e.close_all()


def test_every_event_is_accepted_or_rejected_and_rejections_reach_the_sink() -> None:
    sink = Recorder()
    e = engine(sink=sink)
    payloads = [*stream(n=1000), b"{broken", b'{"model_id": "nope", "timestamp": 1}', b"[]"]
    run_all(e, payloads, batch=300)
    assert e.counts.read == 1003
    assert e.counts.reconciles()
    assert e.counts.accepted == 1000
    assert sorted(r for _, r, _ in sink.items) == ["invalid_json", "not_an_object", "unknown_model"]
    assert all("detail" in source for _, _, source in sink.items)


def test_event_behind_the_watermark_is_rejected_as_late_and_kept() -> None:
    sink = Recorder()
    e = engine(sink=sink)
    e.process([event(0), event(100)])  # watermark now 90: window [0, 60) has closed
    verdicts = e.process([event(30), event(85)])  # 30 is late; 85 is in the open window
    assert e.counts.rejected == {"late": 1}
    assert sink.items[0][0] == event(30)
    assert sink.items[0][1] == "late"
    assert [v.window_index for v in verdicts] == []
    assert e.counts.accepted == 3


def test_event_within_allowed_lateness_lands_in_its_window() -> None:
    e = engine()
    e.process([event(65)])  # watermark 55: window [0, 60) still open
    e.process([event(59)])
    (first, second) = e.close_all()
    assert (first.window_index, first.events) == (0, 1)
    assert (second.window_index, second.events) == (1, 1)


@given(st.lists(st.integers(1, 2999), max_size=8, unique=True))
@settings(max_examples=15, deadline=None)
def test_verdicts_do_not_depend_on_batch_boundaries(cuts: list[int]) -> None:
    payloads = stream(seed=3, shift_from=1500)
    payloads.insert(1700, event(10.0))  # one late event
    whole = engine()
    expected = whole.process(payloads) + whole.close_all()
    split = engine()
    got: list[WindowVerdict] = []
    bounds = [0, *sorted(cuts), len(payloads)]
    for a, b in itertools.pairwise(bounds):
        got += split.process(payloads[a:b])
    got += split.close_all()
    assert_same_windows(got, expected)
    assert split.counts == whole.counts


def test_snapshot_and_restore_continue_exactly() -> None:
    payloads = stream(seed=5, shift_from=1200)
    straight = engine()
    expected = run_all(straight, payloads)

    first = engine()
    got: list[WindowVerdict] = []
    for i in range(0, 1700, 250):
        got += first.process(payloads[i : min(i + 250, 1700)])
    second = engine()
    second.restore(first.snapshot())
    for i in range(1700, len(payloads), 250):
        got += second.process(payloads[i : i + 250])
    got += second.close_all()
    assert_same_windows(got, expected)
    assert second.counts == straight.counts


def test_streams_merged_at_close_equal_one_stream() -> None:
    """Three partitions, each in order, give the same windows as the replay of all."""
    payloads = stream(seed=9, shift_from=1500)
    single = engine()
    expected = run_all(single, payloads)

    multi = engine()
    parts = [payloads[i::3] for i in range(3)]
    got: list[WindowVerdict] = []
    for i in range(0, 1000, 100):
        for p, part in enumerate(parts):
            got += multi.process(part[i : i + 100], stream=f"t:{p}")
    got += multi.close_all()
    assert_same_windows(got, expected)


def test_a_sustained_shift_reaches_critical_and_calm_clears_it() -> None:
    rng = np.random.default_rng(1)
    calm1 = uniform_events(rng, 1200, t0=0.0)
    drift = uniform_events(rng, 1800, t0=120.0, shift=4.0)
    calm2 = uniform_events(rng, 3000, t0=300.0)
    verdicts = run_all(engine(), calm1 + drift + calm2)
    tiers = [v.tier for v in verdicts]
    assert tiers[:2] == [Tier.NONE, Tier.NONE]
    assert tiers[2:5] == [Tier.INFO, Tier.CRITICAL, Tier.CRITICAL]
    assert tiers[-1] == Tier.NONE
    x = verdicts[3].columns[0]
    assert x.column == "x"
    assert x.tier == Tier.CRITICAL
    assert {f.kind for f in x.findings} >= {"drift"}
    assert "x [critical] psi" in what_happened(verdicts[3])
    assert verdicts[3].outputs_moved  # score follows x in these events
    assert what_to_do(verdicts[3])


def test_count_windows_cut_every_n_events() -> None:
    e = engine(
        settings_with(
            policy={"window": {"kind": "count", "size": 400}, "significance": {"min_samples": 50}}
        )
    )
    verdicts = run_all(e, stream(n=1000), batch=333)
    assert [v.events for v in verdicts] == [400, 400, 200]


def test_restore_refuses_a_snapshot_of_other_baselines() -> None:
    e = engine()
    e.process(stream(n=100))
    other = Engine([make_baseline(version=2)], settings_with(policy=WINDOWED))
    with pytest.raises(CheckpointError, match="baselines"):
        other.restore(e.snapshot())


def test_two_baselines_for_one_model_are_a_config_error(baseline: Baseline) -> None:
    with pytest.raises(ConfigError, match="one version per model"):
        Engine([baseline, make_baseline(version=2)], settings_with())


def test_adopted_streams_keep_windows_this_engine_closed_for_its_own_streams() -> None:
    """A window one member already closed for its own partition is still open for a
    partition it takes over: that partition's remaining events count, not 'late'."""
    mine, theirs = engine(), engine()
    mine.process([event(0), event(1), event(70)], stream="s2", close=False)
    assert [v.window_index for v in mine.close_due()] == [0]  # window 0 closed for s2
    theirs.process([event(5), event(50)], stream="s1")  # s1 still inside window 0
    mine.restore_streams(theirs.snapshot(), ["s1"], shared=False)
    closed = mine.process([event(55), event(71)], stream="s1") + mine.close_all()
    assert mine.counts.rejected == {}
    shares = [v for v in closed if v.window_index == 0]
    assert [v.events for v in shares] == [3]  # s1's second share of window 0


# --- the watermark guard: only accepted events move a watermark -------------------------

NOW = 1_767_571_200.0  # 2026-01-05T00:00:00Z, the wall clock of these tests
HOUR = 3600.0


def clocked(sink: Recorder | None = None, now: float = NOW) -> Engine:
    return Engine(
        [make_baseline()], settings_with(policy=WINDOWED), reject_sink=sink, wall_clock=lambda: now
    )


@pytest.mark.parametrize(
    "future", ["2100-01-01T00:00:00Z", NOW + HOUR + 1, "2999-12-31T23:59:59Z"], ids=str
)
def test_a_far_future_event_is_rejected_and_no_later_event_is_late(future: object) -> None:
    sink = Recorder()
    e = clocked(sink)
    e.process([event(NOW - 100), event(future), event(NOW - 90)])
    e.process([event(NOW - 80)])
    assert e.counts.rejected == {"future": 1}
    assert e.counts.accepted == 3
    assert [reason for _, reason, _ in sink.items] == ["future"]
    assert "max_future_skew" in sink.items[0][2]["detail"]
    assert e.streams["replay"].max_ts == NOW - 80


def test_an_event_within_max_future_skew_is_accepted() -> None:
    e = clocked()
    e.process([event(NOW + HOUR)])
    assert e.counts.accepted == 1


def test_a_future_first_event_leaves_a_fresh_stream_without_a_watermark() -> None:
    e = clocked()
    e.process([event("2100-01-01T00:00:00Z")])
    assert e.streams["replay"].max_ts == float("-inf")
    assert e.watermark("m") is None
    e.process([event(NOW)])
    assert e.counts.accepted == 1


def test_max_future_skew_is_configurable() -> None:
    e = Engine(
        [make_baseline()],
        settings_with(policy=WINDOWED, events={"max_future_skew": "5m"}),
        wall_clock=lambda: NOW,
    )
    e.process([event(NOW + 299), event(NOW + 301)])
    assert e.counts.rejected == {"future": 1}


def test_a_snapshot_never_carries_a_rejected_future_time() -> None:
    e = clocked()
    e.process([event(NOW), event("2100-01-01T00:00:00Z")])
    restored = clocked()
    restored.restore(e.snapshot())
    assert restored.streams["replay"].max_ts == NOW


def test_a_poisoned_watermark_from_an_old_checkpoint_is_forgotten_on_restore() -> None:
    """What versions without the guard wrote: a 2100 watermark and windows closed up to it."""
    old = Engine([make_baseline()], settings_with(policy=WINDOWED), wall_clock=None)
    old.process([event(NOW - 100)])
    old.process([event("2100-01-01T00:00:00Z")])  # counted: moved the watermark to 2100
    old.process([event(NOW - 50)])
    assert old.counts.rejected == {"late": 1}
    snapshot = old.snapshot()

    for restore in ("all", "streams"):
        e = clocked()
        if restore == "all":
            e.restore(snapshot)
        else:
            e.restore_streams(snapshot, ["replay"], shared=True)
        assert e.streams["replay"].max_ts == float("-inf")
        assert "m" not in e.closed_before
        e.process([event(NOW - 40), event(NOW - 30)])
        assert e.counts.rejected == {"late": 1}, "no new late events"
        assert e.counts.accepted == old.counts.accepted + 2


def ahead(e: Engine, decoded: DecodedBatch) -> WindowCounts:
    """The windows a decode worker counts ahead (`monitor.pipeline.start_decode_pool`)."""
    return AheadCounter(e.layouts, {m: p.window for m, p in e.policies.items()})(decoded)


def test_windows_counted_ahead_are_added_as_they_are_when_every_event_is_kept() -> None:
    e, reference = clocked(), clocked()
    batch = [event(NOW - 70), event(NOW), event(NOW + 1)]
    decoded = e.decoder.decode(batch)
    counted = ahead(e, decoded)
    for model in decoded.models:
        model.columns = []  # counting the columns again would fail
    e.count(batch, decoded, counted=counted)
    reference.process(batch)
    assert e.snapshot() == reference.snapshot()


def test_a_batch_decoded_elsewhere_counts_as_one_decoded_here_late_and_future_included() -> None:
    """A decode worker hands `count` the batch decoded; the engine does not decode it again."""
    e = clocked()
    batch = [event(NOW), event("2100-01-01T00:00:00Z"), event(NOW + 1), event(NOW - 3600)]
    e.process([event(NOW)])
    decoded = EventDecoder(e.layouts, e.settings.events).decode(batch)
    e.decoder = None  # type: ignore[assignment]  # any second decoding would fail
    e.count(batch, decoded, counted=ahead(e, decoded))  # dropped events: counted from columns
    reference = clocked()
    reference.process([event(NOW)])
    reference.process(batch)
    assert e.counts.rejected == {"future": 1, "late": 1}
    assert e.counts == reference.counts
    assert e.snapshot() == reference.snapshot()


def test_a_snapshot_keeps_the_open_windows_exact_sums() -> None:
    first = engine()
    first.process(stream(seed=3, n=700))
    second = engine()
    second.restore(first.snapshot())
    open_windows = [
        (name, model, key, state)
        for name, s in first.streams.items()
        for model, windows in s.windows.items()
        for key, state in windows.items()
    ]
    assert open_windows
    for name, model, key, state in open_windows:
        assert any(state.sums)
        assert second.streams[name].windows[model][key].sums == state.sums
