"""Members close windows into partials; merged once, they judge like one member that read all.

The engines here are the daemon's (one stream per partition); the members are
three engines that each read a share of twelve partitions, and the merger is
the book plus one evaluator, as in `group.mode: partitioned`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.service.partial_close import (
    close_partials,
    require_time_windows,
    source_of,
)
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.windows.merge_book import MergeBook
from driftwarden.monitor.windows.partial import Partial
from tests.monitor.factories import make_baseline, settings_with, uniform_events

WINDOWED = {
    "window": {"size": "60s", "allowed_lateness": "10s"},
    "significance": {"min_samples": 50},
}
TOPIC = "events"
PARTITIONS = 12
BATCH = 20  # records of a partition per poll: 12 s of its event time, a fifth of a window


def _engine() -> Engine:
    return Engine([make_baseline()], settings_with(policy=WINDOWED))


def _events() -> dict[int, list[bytes]]:
    """Ten minutes at 20 events/s, a shift in the middle; event i goes to partition i % 12."""
    rng = np.random.default_rng(7)
    calm = uniform_events(rng, 6000, t0=1_700_000_000.0, rate=20.0)
    shifted = uniform_events(rng, 6000, t0=1_700_000_300.0, rate=20.0, shift=3.0)
    by_partition: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    for i, payload in enumerate(calm + shifted):
        by_partition[i % PARTITIONS].append(payload)
    return by_partition


def _stream(p: int) -> str:
    return f"{TOPIC}:{p}"


def _feed(
    engines: dict[int, Engine], events: dict[int, list[bytes]], batches: Sequence[int]
) -> None:
    """Each engine reads its partitions in turns of batch `b` (interleaved, as polls are)."""
    for b in batches:
        for p, engine in engines.items():
            chunk = events[p][b * BATCH : (b + 1) * BATCH]
            if chunk:
                engine.process(chunk, stream=_stream(p), close=False)


def _one_member(events: dict[int, list[bytes]]) -> list[dict[str, object]]:
    engine = _engine()
    for p in range(PARTITIONS):
        engine.add_stream(_stream(p))
    verdicts = []
    for b in range(len(events[0]) // BATCH + 1):
        _feed(dict.fromkeys(range(PARTITIONS), engine), events, [b])
        verdicts.extend(engine.close_due())
    return [window_record(v) for v in verdicts]


class _Merger:
    def __init__(self) -> None:
        self.book = MergeBook([(TOPIC, p) for p in range(PARTITIONS)], timeout=1e9)
        layout = _engine().layouts["m"]
        self.evaluator = ModelEvaluator(layout, _engine().policies["m"])
        self.records: list[dict[str, object]] = []

    def take(self, partials: Sequence[Partial]) -> None:
        """Record by record, as the merger may read them: a poll can end anywhere in a
        member's burst of partials."""
        for partial in partials:
            self.book.add(partial, now=0.0)
            self._merge()

    def _merge(self) -> None:
        for window in self.book.ready(now=0.0):
            verdict = self.evaluator.evaluate(
                window.state, window_index=window.key, start=window.key * 60.0,
                end=(window.key + 1) * 60.0,
            )  # fmt: skip
            self.records.append(window_record(verdict))


def _member(shares: range | Sequence[int]) -> Engine:
    engine = _engine()
    for p in shares:
        engine.add_stream(_stream(p))
    return engine


def test_three_members_merged_judge_every_window_like_one_member_that_read_all() -> None:
    events = _events()
    reference = _one_member(events)
    members = {k: _member(range(k, PARTITIONS, 3)) for k in range(3)}
    merger = _Merger()
    for b in range(len(events[0]) // BATCH + 1):
        for k, member in members.items():
            _feed(dict.fromkeys(range(k, PARTITIONS, 3), member), events, [b])
            merger.take(close_partials(member, member=f"m{k}", now=float(b)))
    assert len(reference) >= 8
    assert any(r["tier"] != "none" for r in reference), "no drift: the test proves nothing"
    assert [r["window_index"] for r in merger.records] == [r["window_index"] for r in reference]
    assert merger.records == reference  # the whole window record, statistics included
    for mine, theirs in zip(merger.records, reference, strict=True):
        assert mine["events"] == theirs["events"]
        assert mine["tier"] == theirs["tier"]


@pytest.mark.parametrize("sent", [True, False], ids=["published", "lost-in-flight"])
def test_a_member_killed_after_its_checkpoint_has_its_shares_published_again_not_added(
    sent: bool,
) -> None:
    """Member 0 dies some windows after its last checkpoint, its partials of those windows
    published (or lost with the process); member 1 restores member 0's partitions from the
    checkpoint, reads their records again and closes the same windows again, several in one
    step: the merger counts every event once, whenever its reads stop in that burst."""
    events = _events()
    reference = _one_member(events)
    owners: dict[str, tuple[Engine, list[int]]] = {
        f"m{k}": (_member(range(k, PARTITIONS, 3)), list(range(k, PARTITIONS, 3))) for k in range(3)
    }
    merger = _Merger()
    checkpoint, checkpoint_at, crash_at = b"", 20, 33  # 2.6 windows apart
    last = len(events[0]) // BATCH
    b = 0
    while b <= last:
        for name, (member, shares) in owners.items():
            _feed(dict.fromkeys(shares, member), events, [b])
            partials = close_partials(member, member=name, now=float(b))
            if sent or name != "m0" or b <= checkpoint_at:
                merger.take(partials)
        if b == checkpoint_at:
            checkpoint = owners["m0"][0].snapshot()
        if b == crash_at:
            _, lost = owners.pop("m0")
            taker, shares = owners["m1"]
            taker.restore_streams(checkpoint, [_stream(p) for p in lost], shared=False)
            owners["m1"] = (taker, sorted(shares + lost))
            _feed(dict.fromkeys(lost, taker), events, range(checkpoint_at + 1, b + 1))
            merger.take(close_partials(taker, member="m1", now=float(b)))
        b += 1
    assert "m0" not in owners, "the crash never happened: the test proves nothing"
    assert [r["window_index"] for r in merger.records] == [r["window_index"] for r in reference]
    for mine, theirs in zip(merger.records, reference, strict=True):
        assert mine["events"] == theirs["events"]
        assert mine["tier"] == theirs["tier"]


def test_count_windows_are_refused_in_partitioned_mode_naming_the_model_and_fix() -> None:
    engine = Engine(
        [make_baseline()], settings_with(policy={"window": {"kind": "count", "size": 100}})
    )
    with pytest.raises(ConfigError, match=r"model 'm' uses a count window.*window.kind: time"):
        require_time_windows(engine)


def test_stream_names_map_back_to_topic_and_partition_even_with_colons_in_the_topic() -> None:
    assert source_of("a:b:11") == ("a:b", 11)
