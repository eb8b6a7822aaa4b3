"""Alerting belongs to the member that owns partitions (`monitor.daemon.AlertOwnership`)."""

from __future__ import annotations

from typing import Any

from monitor.daemon import AlertOwnership


class Processor:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def restore(self, partitions: frozenset[Any], state: bytes | None) -> None:
        self.calls.append(f"restore {sorted(partitions)}")

    def release(self, partitions: frozenset[Any]) -> None:
        self.calls.append(f"release {sorted(partitions)}")


class Pipeline:
    def __init__(self, calls: list[str]) -> None:
        self.suspended = True
        self.calls = calls

    def resume(self) -> None:
        self.suspended = False
        self.calls.append("resume")

    def suspend(self) -> None:
        self.suspended = True
        self.calls.append("suspend")


def ownership() -> tuple[AlertOwnership, list[str]]:
    processor = Processor()
    pipeline = Pipeline(processor.calls)
    return AlertOwnership(processor, pipeline), processor.calls  # type: ignore[arg-type]


def test_the_first_partitions_resume_alerting_after_their_state_is_restored() -> None:
    owner, calls = ownership()
    owner.restore(frozenset({("t", 0)}), None)
    owner.restore(frozenset({("t", 1)}), None)
    assert calls == ["restore [('t', 0)]", "resume", "restore [('t', 1)]"]


def test_releasing_the_last_partition_suspends_after_its_windows_were_alerted() -> None:
    owner, calls = ownership()
    owner.restore(frozenset({("t", 0), ("t", 1)}), None)
    owner.release(frozenset({("t", 0)}))
    owner.release(frozenset({("t", 1)}))
    assert calls[-3:] == ["release [('t', 0)]", "release [('t', 1)]", "suspend"]


def test_a_standby_without_partitions_never_resumes() -> None:
    owner, calls = ownership()
    owner.release(frozenset())
    assert "resume" not in calls


def test_a_revoke_hands_alerting_over_and_the_next_assignment_takes_it_back() -> None:
    owner, calls = ownership()
    owner.restore(frozenset({("t", 0)}), None)
    owner.revoked()
    owner.restore(frozenset({("t", 1)}), None)
    assert calls == ["restore [('t', 0)]", "resume", "suspend", "restore [('t', 1)]", "resume"]
