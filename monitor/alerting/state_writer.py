"""Writes of alert state that never raise: a failed write is kept, retried and reported.

A full disk (ENOSPC), no file descriptors left (EMFILE), a failing device (EIO)
or an unreachable broker must not stop monitoring: the consumer loop calls into
the alert pipeline on every closed window, and an exception there would kill it
(a crash loop on a full disk). So the pipeline writes through a `StateWriter`:

- `stage(key, value)` records the newest value of a key (None deletes it);
  `commit()` writes what is staged in one batch. A value equal to the last one
  written is not written again, so an idle dispatcher round costs nothing.
- When a write fails, the staged values stay (newer values of the same key
  replace older ones, so nothing piles up), the failure is counted, logged, and
  reported through `on_fault(component, error)`, and the next attempt waits an
  exponential back-off (`base * 2**n`, capped) so a dead disk or broker costs one
  attempt per back-off, not one per window. Any later `commit()` (every closed
  window, every dispatcher round) retries once the back-off has passed.
- When everything staged has been written after a failure, `on_fault(component,
  None)` reports the recovery.

What a crash during a fault loses is what was staged and never written: the
state after the last successful write. The docs (docs/alerts.md) say what that
means for pages.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any, Final

import structlog

from driftwarden.monitor.alerting.store import (
    WRITE_FAULT,
    AlertStateError,
    AlertStateStore,
    FaultHook,
)

COMPONENT: Final = WRITE_FAULT
"""The component name passed to the fault hook (a /readyz condition, a metric label)."""


class StateWriter:
    def __init__(
        self,
        store: AlertStateStore,
        *,
        on_fault: FaultHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        logger: Any = None,
    ) -> None:
        self._store = store
        self._on_fault = on_fault
        self._clock = clock
        self._base = backoff_base
        self._cap = backoff_cap
        self._log = (
            logger if logger is not None else structlog.get_logger("driftwarden.monitor.alerting")
        )
        self._staged: dict[str, bytes | None] = {}
        self._written: dict[str, bytes | None] = {}
        self._consecutive = 0
        self._retry_at = 0.0
        self.failures = 0
        """Failed write attempts since start (each is one `on_fault` call)."""

    @property
    def store(self) -> AlertStateStore:
        return self._store

    @property
    def faulted(self) -> bool:
        """True while staged writes wait for a retry after a failure."""
        return self._consecutive > 0

    @property
    def staged(self) -> int:
        return len(self._staged)

    def remember(self, key: str, value: bytes | None) -> None:
        """Record what the store already holds (after a load), so it is not rewritten."""
        self._written[key] = value

    def forget(self) -> None:
        """Drop what is staged and remembered (the pipeline gave up or took over ownership).

        A fault in progress ends with it: what this member could not write is no
        longer its to write (the caller logs what was dropped), so the hook hears `None`.
        """
        self._staged.clear()
        self._written.clear()
        if self._consecutive:
            self._consecutive = 0
            if self._on_fault is not None:
                self._on_fault(COMPONENT, None)

    def stage(self, key: str, value: bytes | None) -> None:
        if value is None and key not in self._written:
            self._staged.pop(key, None)  # never reached the store: nothing to delete
            return
        if key not in self._staged and self._written.get(key) == value:
            return
        self._staged[key] = value

    def commit(self, *, force: bool = False) -> bool:
        """Write what is staged; True when nothing is left staged.

        During a back-off nothing is attempted unless `force` (shutdown, handover).
        """
        if not self._staged:
            return True
        if self._consecutive and not force and self._clock() < self._retry_at:
            return False
        batch = dict(self._staged)
        try:
            self._store.write(batch)
        except (OSError, AlertStateError) as exc:
            self._failed(exc, len(batch))
            return False
        for key, value in batch.items():
            del self._staged[key]
            if value is None:
                self._written.pop(key, None)
            else:
                self._written[key] = value
        if self._staged:
            return False
        if self._consecutive:
            self._log.warning(
                "alert_state_write_recovered",
                where=self._store.where,
                after_failures=self._consecutive,
            )
            self._consecutive = 0
            if self._on_fault is not None:
                self._on_fault(COMPONENT, None)
        return True

    def _failed(self, exc: BaseException, keys: int) -> None:
        self.failures += 1
        self._consecutive += 1
        delay = min(self._cap, self._base * 2.0 ** min(self._consecutive - 1, 30))
        self._retry_at = self._clock() + delay
        error = describe_error(exc)
        self._log.error(
            "alert_state_write_failed",
            where=self._store.where,
            error=error,
            keys=keys,
            attempt=self._consecutive,
            retry_in=delay,
            consequence="alert state kept in memory; a crash now forgets the changes since the "
            "last successful write",
        )
        if self._on_fault is not None:
            self._on_fault(COMPONENT, error)


def describe_error(exc: BaseException) -> str:
    """`ENOSPC: No space left on device`, or the error's class and message."""
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{name}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"
