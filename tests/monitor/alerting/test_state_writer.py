"""Alert state writes that fail are kept, retried with back-off, counted and reported."""

from __future__ import annotations

import errno
import itertools

from driftwarden.monitor.alerting.state_writer import COMPONENT, StateWriter
from tests.monitor.alerting.alert_fakes import FakeClock, MemoryAlertStore

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


class Hook:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, component: str, error: str | None) -> None:
        self.calls.append((component, error))


def writer(clock: FakeClock) -> tuple[StateWriter, MemoryAlertStore, Hook]:
    store, hook = MemoryAlertStore(), Hook()
    return StateWriter(store, on_fault=hook, clock=clock, backoff_base=1.0), store, hook


def test_a_failed_write_is_kept_reported_and_written_once_the_fault_clears(
    clock: FakeClock,
) -> None:
    w, store, hook = writer(clock)
    store.fail_with = ENOSPC
    w.stage("state", b"v1")
    assert w.commit() is False  # no exception: the consumer loop goes on
    assert hook.calls == [(COMPONENT, "ENOSPC: No space left on device")]
    assert w.faulted
    store.fail_with = None
    w.stage("state", b"v2")  # a newer value replaces the one waiting
    assert w.commit() is False  # still backing off: nothing attempted
    assert store.writes == []
    clock.sleep(1.0)
    assert w.commit() is True
    assert store.writes == [{"state": b"v2"}]
    assert hook.calls[-1] == (COMPONENT, None)
    assert not w.faulted
    assert w.failures == 1


def test_the_back_off_doubles_while_the_fault_lasts_and_is_capped(clock: FakeClock) -> None:
    store, hook = MemoryAlertStore(), Hook()
    w = StateWriter(store, on_fault=hook, clock=clock, backoff_base=1.0, backoff_cap=4.0)
    store.fail_with = OSError(errno.EMFILE, "Too many open files")
    w.stage("state", b"v")
    attempts_at = []
    for _ in range(40):
        before = w.failures
        w.commit()
        if w.failures > before:
            attempts_at.append(clock.now)
        clock.sleep(0.5)
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert gaps[:3] == [1.0, 2.0, 4.0]
    assert set(gaps[3:]) == {4.0}
    assert all(error == "EMFILE: Too many open files" for _, error in hook.calls)


def test_force_writes_during_a_back_off(clock: FakeClock) -> None:
    w, store, _ = writer(clock)
    store.fail_with = ENOSPC
    w.stage("state", b"v")
    w.commit()
    store.fail_with = None
    assert w.commit(force=True) is True
    assert store.data == {"state": b"v"}


def test_an_unchanged_value_is_not_written_again(clock: FakeClock) -> None:
    w, store, _ = writer(clock)
    w.remember("state", b"loaded")
    w.stage("state", b"loaded")
    w.commit()
    w.stage("outbox/000000000001", b"x")
    w.commit()
    w.stage("outbox/000000000001", b"x")
    w.commit()
    assert store.writes == [{"outbox/000000000001": b"x"}]


def test_a_key_created_and_deleted_between_commits_never_reaches_the_store(
    clock: FakeClock,
) -> None:
    w, store, _ = writer(clock)
    w.stage("outbox/000000000001", b"x")
    w.stage("outbox/000000000001", None)
    w.commit()
    assert store.writes == []
    w.stage("outbox/000000000002", b"y")
    w.commit()
    w.stage("outbox/000000000002", None)
    w.commit()
    assert store.writes == [{"outbox/000000000002": b"y"}, {"outbox/000000000002": None}]
