"""The engine as the consumer loop's processor: partitions are streams that can move."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.kafka.polled import PolledRecords
from driftwarden.monitor.service.processor import EngineProcessor, stream_name
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from tests.monitor.factories import event, make_baseline, settings_with, uniform_events
from tests.monitor.test_event_survey import features_only

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 50}}


class Collect:
    def __init__(self) -> None:
        self.verdicts: list[WindowVerdict] = []

    def observe(self, verdict: WindowVerdict) -> None:
        self.verdicts.append(verdict)


class Sink:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.flushes = 0

    def write(self, payload: bytes, reason: str, source: Mapping[str, str | int]) -> None:
        self.items.append((reason, dict(source)))

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        pass


def processor(sink: Sink | None = None) -> tuple[EngineProcessor, Collect]:
    collect = Collect()
    engine = Engine([make_baseline()], settings_with(policy=POLICY), reject_sink=sink)
    return EngineProcessor(engine, observers=[collect], dead_letter=sink), collect


def records(payloads: Sequence[bytes], partitions: int = 3) -> list[Record]:
    """Round-robin over partitions, offsets counting up per partition."""
    out, offsets = [], [0] * partitions
    for i, payload in enumerate(payloads):
        p = i % partitions
        out.append(Record("t", p, offsets[p], timestamp=0, value=payload))
        offsets[p] += 1
    return out


def calm(n: int = 3000) -> list[bytes]:
    return uniform_events(np.random.default_rng(7), n, t0=0.0)


def test_each_partition_is_its_own_stream_and_windows_merge_at_close() -> None:
    proc, collect = processor()
    for i in range(0, 3000, 300):
        proc.process(records(calm())[i : i + 300])
    proc.close_due(now=0.0, idle=frozenset())
    assert set(proc.engine.streams) == {stream_name("t", p) for p in range(3)}
    closed = sum(v.events for v in collect.verdicts)
    open_events = sum(
        w.events
        for s in proc.engine.streams.values()
        for ws in s.windows.values()
        for w in ws.values()
    )
    assert closed + open_events == 3000


def test_a_partition_handed_to_another_member_is_counted_once() -> None:
    """Member A processes half the stream, then partition 2 moves to member B.

    Each member then closes windows over its own partitions, so a window's
    counts are split between them; per window, their sum is the single
    consumer's count: nothing lost, nothing counted twice.
    """
    data = records(calm())
    reference, ref_collect = processor()
    reference.process(data)
    expected = per_window(ref_collect.verdicts + reference.engine.close_all())

    a, a_collect = processor()
    a.process(data[:1500])
    snapshot = a.snapshot()
    moving = frozenset({("t", 2)})
    a.release(moving)
    b, b_collect = processor()
    b.restore(moving, snapshot)
    a.process([r for r in data[1500:] if r.partition != 2])
    b.process([r for r in data[1500:] if r.partition == 2])
    verdicts = a_collect.verdicts + a.engine.close_all() + b_collect.verdicts + b.engine.close_all()
    assert per_window(verdicts) == expected
    assert sum(events for events, _ in expected.values()) == 3000


def test_all_partitions_moving_between_active_members_keep_every_window_whole() -> None:
    """Active/standby: B is active, hands everything to A, and later takes it all back.

    Every window is judged once, on all its events, and B's second term starts
    from A's counters and history, not from what B held before it stood by.
    """
    data = records(calm())
    reference, ref_collect = processor()
    reference.process(data)
    ref_verdicts = ref_collect.verdicts + reference.engine.close_all()
    everything = frozenset(("t", p) for p in range(3))

    first, _ = processor()
    first.restore(everything, None)
    b, b_collect = processor()
    b.restore(everything, first.snapshot())  # B's first term starts from a checkpoint
    b.process(data[:600])
    handover = b.snapshot()
    b.release(everything)  # B stands by
    a, a_collect = processor()
    a.restore(everything, handover)
    a.process(data[600:1500])
    handback = a.snapshot()
    a.release(everything)
    b.restore(everything, handback)  # B is active again
    b.process(data[1500:])
    verdicts = b_collect.verdicts + a_collect.verdicts + b.engine.close_all()
    assert sorted(v.window_index for v in verdicts) == sorted(
        v.window_index for v in ref_verdicts
    )  # each window once: no partial verdicts
    assert per_window(verdicts) == per_window(ref_verdicts)
    assert b.engine.counts.to_dict() == reference.engine.counts.to_dict()


def per_window(verdicts: Sequence[WindowVerdict]) -> dict[int, tuple[int, list[int]]]:
    """Events and per-column counted values, summed per window index."""
    out: dict[int, tuple[int, list[int]]] = {}
    for v in verdicts:
        events, counted = out.get(v.window_index, (0, [0] * len(v.columns)))
        out[v.window_index] = (
            events + v.events,
            [c + col.statistics.n_current for c, col in zip(counted, v.columns, strict=True)],
        )
    return out


def test_an_idle_partition_stops_holding_the_watermark() -> None:
    proc, collect = processor()
    proc.restore(frozenset({("t", 0), ("t", 1)}), None)  # assignment, nothing checkpointed
    proc.process([Record("t", 0, i, 0, value=event(i)) for i in range(200)])
    assert collect.verdicts == [], "partition 1 has not delivered yet: nothing may close"
    proc.process([Record("t", 1, 0, 0, value=event(1))])  # partition 1 then goes quiet
    proc.close_due(now=0.0, idle=frozenset())
    assert collect.verdicts == []
    proc.close_due(now=0.0, idle=frozenset({("t", 1)}))
    assert [v.window_index for v in collect.verdicts] == [0, 1, 2]  # ends <= 199 - 10


def test_rejections_name_topic_partition_and_offset_and_are_flushed_before_a_snapshot() -> None:
    sink = Sink()
    proc, _ = processor(sink)
    proc.process([Record("t", 4, 41, 0, value=b"{oops"), Record("t", 4, 42, 0, value=None)])
    assert [r for r, _ in sink.items] == ["invalid_json", "invalid_json"]
    assert sink.items[0][1]["topic"] == "t"
    assert (sink.items[0][1]["partition"], sink.items[0][1]["offset"]) == (4, 41)
    proc.snapshot()
    assert sink.flushes == 1


def test_record_timestamps_stand_in_when_events_carry_none() -> None:
    settings = settings_with(policy=POLICY, events={"timestamp": None})
    engine = Engine([make_baseline()], settings)
    proc = EngineProcessor(engine)
    payload = b'{"model_id": "m", "features": {"x": 1.0, "c": "a"}}'
    proc.process([Record("t", 0, 0, timestamp=120_500, value=payload)])
    (verdict,) = engine.close_all()
    assert verdict.window_index == 2  # 120.5 s falls in [120, 180)


class WholeRecords(list[Record]):
    """One partition's run that gives its values and timestamps whole (a `WholeRun`, as
    the librdkafka client's runs do)."""

    def values(self) -> list[bytes | None]:
        return [r.value for r in self]

    def timestamps(self) -> list[int]:
        return [r.timestamp for r in self]


ODD: list[bytes | None] = [
    None,  # a tombstone
    b"",
    b"\n",
    b'{"model_id": "m", "timestamp": 5}\n{"model_id": "m", "timestamp": 6}',  # two in one
    json.dumps({"model_id": "m", "timestamp": 7.0, "features": {"x": 1.0}}, indent=1).encode(),
    b"{oops",
]


def _by_partition(data: list[Record]) -> list[list[Record]]:
    return [[r for r in data if r.partition == p] for p in sorted({r.partition for r in data})]


@pytest.mark.parametrize("timestamp_field", ["timestamp", None], ids=["event-time", "kafka-time"])
def test_runs_handed_over_whole_count_exactly_as_the_same_records_one_by_one(
    timestamp_field: str | None,
) -> None:
    """Mixed partitions, framed blocks and runs holding tombstones, blank and multi-line
    values: the same counts, rejections (reason, partition, offset) and state."""
    data = records(calm(1200))
    for k, odd in enumerate(ODD):
        at = 150 * k + 40
        data[at] = Record(data[at].topic, data[at].partition, data[at].offset, 0, value=odd)
    data = [Record(r.topic, r.partition, r.offset, 1000 * r.offset, value=r.value) for r in data]
    settings = settings_with(policy=POLICY, events={"timestamp": timestamp_field})
    results = []
    for whole in (False, True):
        sink = Sink()
        engine = Engine([make_baseline()], settings, reject_sink=sink)
        proc = EngineProcessor(engine, dead_letter=sink)
        for i in range(0, len(data), 300):
            poll = _by_partition(data[i : i + 300])
            if whole:
                proc.process(PolledRecords([WholeRecords(run) for run in poll]))
            else:
                proc.process([r for run in poll for r in run])
        results.append((engine.counts.to_dict(), sink.items, proc.snapshot()))
    assert results[0] == results[1]
    counts, rejected, _ = results[1]
    assert counts["read"] == len(data)
    assert len(rejected) == len(ODD) - 1  # the pretty-printed event is accepted
    assert {(s["partition"], s["offset"]) for _, s in rejected} == {
        (data[150 * k + 40].partition, data[150 * k + 40].offset)
        for k, odd in enumerate(ODD)
        if odd is None or not odd.startswith(b'{\n "model_id"')
    }


def test_outputs_arriving_under_prediction_for_a_features_only_baseline_are_warned_about() -> None:
    """The daemon meets the same trap as replay: a baseline built without --outputs."""
    engine = Engine([features_only(make_baseline())], settings_with(policy=POLICY))
    proc = EngineProcessor(engine)
    proc.process(records(calm(20)))
    (found,) = proc.survey.misplaced
    assert (found.section, found.columns) == ("prediction", ("label", "score"))
    assert found.message().endswith("rebuild the baseline with --outputs label,score")
