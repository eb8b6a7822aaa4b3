"""The merger's watchdog: a merger stuck in a Kafka client call is replaced, and merging goes on.

The stuck call is a fake consumer's `position()` that blocks until the test
releases it, as kafka-python 3.0's did (its coordinator lookup looped with no
deadline); the watchdog's clock is the test's, so no test waits for a stall.
"""

from __future__ import annotations

import threading
from typing import Any

from kafka import TopicPartition
from kafka.structs import ConsumerGroupMetadata, MemberState

from driftwarden.monitor.config import GroupSettings
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.merger import MergerLoop
from driftwarden.monitor.kafka.merger_watchdog import MergerWatchdog
from tests.monitor.factories import settings_with
from tests.monitor.test_merger import _Consumer, _Judge, _Topic, _windows

_WAIT = 10.0  # seconds a test waits for another thread before failing (never reached)


class _Hanging(_Consumer):
    """Assigned and reading, then stuck in `position()` until `release` is set."""

    def __init__(self, topic: _Topic) -> None:
        super().__init__(topic, [True])
        self.stuck = threading.Event()
        self.release = threading.Event()
        self.closed = False

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        self.stuck.set()
        self.release.wait(_WAIT)
        return super().position(tp, timeout_ms)

    def close(self, **kwargs: Any) -> None:
        self.closed = True


class _Quick(_Consumer):
    """A healthy consumer: its poll waits a moment, as a real one does when idle."""

    _idle = threading.Event()  # never set

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        self._idle.wait(0.001)
        return super().poll(timeout_ms)

    def close(self, **kwargs: Any) -> None:
        pass


class _Outside(_Quick):
    """Polls return, but the consumer never gets back into the group (the bench's stall:
    kafka-python's coordinator lookup never succeeding after a rejoin was needed)."""

    def group_metadata(self) -> ConsumerGroupMetadata:
        return ConsumerGroupMetadata(state=MemberState.REBALANCING)

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        self._idle.wait(0.001)
        self.turned = True
        return {}

    turned = False


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _watchdog(
    consumers: list[_Consumer], judge: _Judge, topic: _Topic, clock: _Clock, owns: list[bool]
) -> tuple[MergerWatchdog, list[str]]:
    restarted: list[str] = []
    feed = iter(consumers)

    def new_loop() -> MergerLoop:
        return MergerLoop(
            client=KafkaClientConfig.from_settings(settings_with().kafka),
            settings=GroupSettings(mode="partitioned"),
            input_topics=["events"],
            publisher=topic,  # type: ignore[arg-type]
            on_merged=judge.judge,
            on_marker=judge.restore,
            on_ownership=owns.append,
            consumer_factory=lambda **kwargs: next(feed),
            progress_clock=clock,
        )

    return MergerWatchdog(
        new_loop, stall_after=60.0, clock=clock, on_restarted=restarted.append
    ), restarted


def _wait_for(condition: Any) -> bool:
    done = threading.Event()
    for _ in range(int(_WAIT / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False


def test_a_merger_stuck_in_a_client_call_is_replaced_and_every_window_is_merged_once() -> None:
    topic, judge, clock, owns = _windows(range(7, 10)), _Judge(), _Clock(), []
    hanging = _Hanging(topic)
    watchdog, restarted = _watchdog([hanging, _Quick(topic, [True])], judge, topic, clock, owns)
    watchdog.start()
    try:
        assert hanging.stuck.wait(_WAIT)
        first = watchdog.loop
        clock.now += 59.0
        assert not watchdog.check()  # not stalled for long enough yet
        clock.now += 2.0
        assert watchdog.check()
        assert restarted == ["stalled"]
        assert not first.owns  # alerting given up at once, with the thread still stuck
        assert _wait_for(lambda: len(judge.judged) == 3)
        assert watchdog.loop.owns
        hanging.release.set()  # the stuck thread wakes: it must do nothing more
        assert _wait_for(lambda: hanging.closed)
    finally:
        watchdog.stop(_WAIT)
    assert [k for k, _ in judge.judged] == [7, 8, 9]
    assert owns == [True, False, True, False]
    assert watchdog.windows_merged == 3


def test_a_merger_that_keeps_turning_is_never_restarted() -> None:
    topic, judge, clock, owns = _windows(range(7, 9)), _Judge(), _Clock(), []
    watchdog, restarted = _watchdog([_Quick(topic, [True])], judge, topic, clock, owns)
    watchdog.start()
    try:
        assert _wait_for(lambda: len(judge.judged) == 2)
        clock.now += 600.0
        assert _wait_for(lambda: watchdog.loop.progressed_at == clock.now)
        assert not watchdog.check()
    finally:
        watchdog.stop(_WAIT)
    assert restarted == []


def test_a_merger_that_turns_but_never_gets_back_into_the_group_is_replaced() -> None:
    topic, judge, clock, owns = _windows(range(7, 9)), _Judge(), _Clock(), []
    outside = _Outside(topic, [])
    watchdog, restarted = _watchdog([outside, _Quick(topic, [True])], judge, topic, clock, owns)
    watchdog.start()
    try:
        assert _wait_for(lambda: outside.turned)
        clock.now += 61.0
        assert watchdog.check()
        assert _wait_for(lambda: len(judge.judged) == 2)
    finally:
        watchdog.stop(_WAIT)
    assert restarted == ["stalled"]
    assert [k for k, _ in judge.judged] == [7, 8]
