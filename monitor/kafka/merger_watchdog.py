"""The merger's watchdog: a merger loop that stops turning is replaced by a new one.

A hang raises nothing, so the merger's own restart-after-error cannot see it:
a bench run's merger sat for minutes in kafka-python's coordinator lookup,
out of the merge group, while the member read and published every partial and
nothing was merged. The watchdog reads the loop's `progressed_at` (set on every
turn made as a settled group member, every merged window and every wait) and,
when it is older than
`stall_after`, abandons that loop (it gives up alerting at once and can do
nothing more should its thread wake: `MergerLoop.abandon`) and starts a new
loop with a new consumer on a new thread. A thread stuck inside kafka-python
cannot be interrupted from Python, so the old one is left to end on its own (a
daemon thread; its consumer is closed if it ever returns). The log line names
where the old thread was stuck, and `driftwarden_merger_restarts_total` counts
each restart for the on-call.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

import structlog

from driftwarden.monitor.kafka.merger import MergerLoop

log = structlog.get_logger(__name__)

STALL_SECONDS = 40.0
"""Above the longest call a healthy loop makes between beats (one bounded by
`CALL_TIMEOUT_SECONDS`); the loop beats while it waits to restart."""


def stall_limit(*, bootstrap_timeout: float, session_timeout: float) -> float:
    """How long a loop may go without progress before it counts as stalled: a new
    consumer's bootstrap, or a join that waits for a dead member's session to expire,
    take longer than any call."""
    return max(STALL_SECONDS, bootstrap_timeout + 10.0, session_timeout + 30.0)


class MergerWatchdog:
    """Runs one `MergerLoop` at a time, replacing a stalled one (module docstring)."""

    def __init__(
        self,
        new_loop: Callable[[], MergerLoop],
        *,
        stall_after: float = STALL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_restarted: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._new_loop = new_loop
        self._stall_after = stall_after
        self._clock = clock
        self._on_restarted = on_restarted
        self._lock = threading.Lock()
        self._stopped = False
        self._runs: list[tuple[MergerLoop, threading.Event, threading.Thread]] = []
        self.restarts = 0

    @property
    def loop(self) -> MergerLoop:
        return self._runs[-1][0]

    @property
    def windows_merged(self) -> int:
        return sum(loop.windows_merged for loop, _, _ in self._runs)

    def start(self) -> None:
        """The first loop, on its own thread."""
        with self._lock:
            if not self._stopped:
                self._start_loop()

    def supervise(self, stop: threading.Event) -> None:
        """Check the current loop a few times per `stall_after` until `stop`."""
        while not stop.wait(self._stall_after / 4):
            self.check()

    def check(self) -> bool:
        """Replace the current loop if it made no progress for `stall_after`; True if so."""
        with self._lock:
            if self._stopped or not self._runs:
                return False
            loop, loop_stop, thread = self._runs[-1]
            stalled_for = self._clock() - loop.progressed_at
            if stalled_for < self._stall_after:
                return False
            loop.abandon()
            loop_stop.set()
            log.warning(
                "merger_restarted",
                reason="stalled",
                stalled_seconds=round(stalled_for, 1),
                stuck_in=_where(thread),
            )
            self.restarts += 1
            self._on_restarted("stalled")
            self._start_loop()
            return True

    def stop(self, timeout: float) -> None:
        """Every loop told to stop; waits for the current one only (an abandoned thread
        may be stuck for good)."""
        with self._lock:
            self._stopped = True
            for _, loop_stop, _ in self._runs:
                loop_stop.set()
            current = self._runs[-1][2] if self._runs else None
        if current is not None:
            current.join(timeout=timeout)

    def _start_loop(self) -> None:
        """With `_lock` held."""
        loop, loop_stop = self._new_loop(), threading.Event()
        thread = threading.Thread(target=_run, args=(loop, loop_stop), name="merger", daemon=True)
        self._runs.append((loop, loop_stop, thread))
        thread.start()


def _run(loop: MergerLoop, stop: threading.Event) -> None:
    try:
        loop.run(stop)
    except BaseException:  # logged by the loop; the member keeps reading
        return


def _where(thread: threading.Thread) -> list[str]:
    """The innermost frames of a thread (threading's own left out): where a stalled
    merger was stuck."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return []
    stack = [f for f in traceback.extract_stack(frame) if not f.filename.endswith("threading.py")]
    return [f"{_short(f.filename)}:{f.lineno}:{f.name}" for f in stack[-8:]]


def _short(path: str) -> str:
    for root in ("site-packages/", "src/"):
        if root in path:
            return path.rsplit(root, 1)[-1]
    return path
