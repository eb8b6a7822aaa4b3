"""The alert dispatcher: notifications are delivered as soon as they are queued."""

from __future__ import annotations

import threading
import time
from typing import Any

from driftwarden.monitor.service.alert_dispatch import AlertDispatcher
from driftwarden.monitor.service.observers import AlertObserver


class _DispatchRecorder:
    def __init__(self) -> None:
        self.dispatched = threading.Event()
        self.notes: list[str] = []

    def observe(self, verdict: Any) -> list[str]:
        return self.notes

    def dispatch(self) -> None:
        self.dispatched.set()

    def drain(self, deadline: float) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_queued_notification_wakes_the_dispatcher_instead_of_waiting_for_its_poll() -> None:
    """Catching up a backlog, a trigger left for the next poll can be superseded by its own
    resolve before delivery: the incident would never page."""
    pipeline = _DispatchRecorder()
    dispatcher = AlertDispatcher(pipeline, interval=3600.0)  # type: ignore[arg-type]
    observer = AlertObserver(pipeline, notified=dispatcher.wake)  # type: ignore[arg-type]
    dispatcher.start()
    try:
        observer.observe(None)  # type: ignore[arg-type]
        assert not pipeline.dispatched.wait(0.2)  # nothing queued: no early round
        pipeline.notes.append("page")
        observer.observe(None)  # type: ignore[arg-type]
        assert pipeline.dispatched.wait(30)  # far sooner than the hour-long poll
    finally:
        dispatcher.stop_and_drain(time.monotonic() + 5)
