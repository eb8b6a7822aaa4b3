"""The one ordered decode stage: batches go in, decoded batches come out in the same order.

Replay and the daemon both decode through it (via `monitor.pipeline`). It
decodes in this process, or, given a `DecodePool`, in worker processes while
the caller counts earlier batches; either way the caller receives exactly the
batches, in exactly the order, that in-process decoding gives, so the counts
are identical (tested).

A batch is decoded once. The stage keeps each batch's payloads until its
result is taken: a worker that fails (or a pool that is not ready yet, such as
spawned workers still importing numpy) costs time, never a batch, because the
stage then decodes that batch, and every later one, here instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from driftwarden.monitor.ingest.batch import DecodedBatch
from driftwarden.monitor.ingest.decode_pool import DecodePool, DecodeWorkerError
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.ingest.lines import LineBlock

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Pending:
    payloads: Sequence[bytes]
    source_timestamps: Sequence[float] | None
    in_worker: bool  # submitted to the pool: its result comes from there


class DecodeStage(Generic[T]):
    """Decode batches in submission order, in-process or in a `DecodePool`.

    A result is the decoded batch and what the pool's `after` made of it in the
    worker, or None when the batch was decoded here.
    """

    def __init__(self, decoder: EventDecoder, pool: DecodePool[T] | None = None) -> None:
        self._decoder = decoder
        self._pool = pool
        self._pending: deque[_Pending] = deque()

    def submit(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None = None
    ) -> Sequence[bytes]:
        """Queue a batch; returns the payloads the stage keeps (a `LineBlock` is detached
        when the stage holds it while a worker decodes, as its read buffer is reused)."""
        in_worker = False
        if self._pool is not None:
            if isinstance(payloads, LineBlock):
                payloads = payloads.detached()
            try:
                if self._pool.ready():
                    self._pool.submit(payloads, source_timestamps)
                    in_worker = True
            except DecodeWorkerError as exc:
                self._pool_failed(exc)
        self._pending.append(_Pending(payloads, source_timestamps, in_worker))
        return payloads

    def next_is_ahead(self) -> bool:
        """True if the oldest batch is being decoded by a worker (so waiting can pay)."""
        return bool(self._pending) and self._pending[0].in_worker and self._pool is not None

    def result(self) -> tuple[DecodedBatch, T | None]:
        """The oldest batch, decoded, and the pool's `after` of it (blocks for a worker)."""
        pending = self._pending.popleft()
        if pending.in_worker and self._pool is not None:
            try:
                return self._pool.result()
            except DecodeWorkerError as exc:
                self._pool_failed(exc)
        return self._decoder.decode(pending.payloads, pending.source_timestamps), None

    def use_pool(self, pool: DecodePool[T] | None) -> None:
        """Decode in `pool` from the next batch on (None: in-process). Call with nothing
        pending: results still due from the old pool would be lost."""
        if self._pending:
            raise RuntimeError("take every pending result before changing the decode pool")
        self._pool = pool

    def _pool_failed(self, exc: DecodeWorkerError) -> None:
        """Decode here from now on; batches already sent are decoded again, nothing is lost."""
        log.error("decode_worker_failed", error=str(exc), fallback="decoding in-process")
        if self._pool is not None:
            self._pool.close()
            self._pool = None
