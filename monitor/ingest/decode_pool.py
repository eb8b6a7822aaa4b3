"""Worker processes that decode batches, in order: the decode stage's parallel implementation.

Decoding a batch of payloads into columns is most of the engine's work per
event, and it is a pure function of the batch: the decoder's only state picks
between two decodings that give the same result. Windowing and verdicts are
not (the watermark, lateness and tier streaks follow the stream's order), so
they stay in the calling process. A `DecodePool` therefore decodes batches in
worker processes while the caller counts earlier ones, and hands the results
back strictly in submission order. It decodes only: `monitor.ingest.decode_stage`
puts it behind the one ordered stage that replay and the daemon share, which
also decodes in-process when the pool is not ready or has failed.

A worker that dies or fails is never a lost batch: the stage keeps every
payload until its result is in, and `result` raises `DecodeWorkerError`, after
which the stage decodes in-process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from driftwarden.errors import DriftwardenError
from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.batch import DecodedBatch
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.ingest.lines import LineBlock

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

_READY = b"ready"
_FAILED = b"failed:"
_LINES = b"L"  # request: lines joined by newlines
_FRAMED = b"F"  # request: pickled (bytes, lengths or None, source timestamps or None)
_REPLY_TIMEOUT = 60.0  # seconds; a batch decodes in milliseconds, so this means a hung worker
_PARENT_CHECK = 1.0  # seconds between checks, while idle, that the caller is alive
_MAX_AUTO_REPLAY_WORKERS = 4
_SWITCH_INTERVAL = 1e-4  # seconds; see `_serve`
_PIPE_BYTES = 1 << 20  # a batch in one write, not 16 round trips through a 64 KiB pipe

T = TypeVar("T")


class DecodeWorkerError(DriftwardenError):
    """A worker died or failed; decode the batches still held in-process."""


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers set), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def decode_workers(setting: int | str) -> int:
    """The `decode_workers` setting as a number: "auto" is 1 with two CPUs or more, else 0.

    One worker is enough for the daemon: the Kafka client's record parsing in
    the main process costs several times more per event than decoding does.
    """
    if setting == "auto":
        return 1 if available_cpus() >= 2 else 0
    return int(setting)


def replay_workers(setting: int | str) -> int:
    """The `decode_workers` setting for `driftwarden replay`: "auto" is one per CPU, 2 to 4.

    A replay's own process only reads, windows and evaluates, about a third of
    the work per event, so its workers can use every CPU; beyond four it would
    be the bottleneck. One CPU: no workers.
    """
    if setting == "auto":
        cpus = available_cpus()
        return min(cpus, _MAX_AUTO_REPLAY_WORKERS) if cpus >= 2 else 0
    return int(setting)


class DecodePool(Generic[T]):
    """`workers` processes, each with its own `EventDecoder`, fed round-robin.

    `after`, if given, runs in the worker on each decoded batch, and its result
    comes back beside the batch: the stage above composes its own work there (the
    engine counts windows ahead, `monitor.pipeline.start_decode_pool`) without
    this module knowing what it is. It must be picklable when workers spawn.

    Forked workers start in milliseconds; spawned ones (a fresh interpreter
    importing numpy and msgspec) take about a second, during which `ready()` is
    False and the decode stage decodes in-process.
    """

    def __init__(
        self,
        layouts: Mapping[str, ModelLayout],
        fields: EventFields,
        *,
        workers: int,
        after: Callable[[DecodedBatch], T] | None = None,
        start_method: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"a decode pool needs at least one worker, got {workers}")
        # fork starts a worker in milliseconds with the layouts already built; a
        # process with threads (the daemon's Kafka client) must spawn instead.
        method = start_method or (
            "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
        )
        self.start_method = method
        import multiprocessing  # noqa: PLC0415 - when workers start: an empty replay starts none

        context: Any = multiprocessing.get_context(method)
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        self._replies: list[Connection] = []
        for _ in range(workers):
            request_reader, request_writer = context.Pipe(duplex=False)
            reply_reader, reply_writer = context.Pipe(duplex=False)
            for end in (request_writer, reply_writer):
                _widen(end)
            # A forked worker inherits the caller's ends of every pipe so far; it
            # closes them first, or its own copy would keep it from ever seeing
            # the end of its requests when the caller dies.
            callers_ends = [*self._connections, *self._replies, request_writer, reply_reader]
            process = context.Process(
                target=_serve,
                args=(request_reader, reply_writer),
                kwargs={
                    "layouts": dict(layouts),
                    "fields": fields,
                    "after": after,
                    "callers_ends": callers_ends if method == "fork" else [],
                },
                name="driftwarden-decode",
                daemon=True,
            )
            process.start()
            request_reader.close()
            reply_writer.close()
            self._connections.append(request_writer)
            self._replies.append(reply_reader)
            self._processes.append(process)
        self.workers = workers
        self._waiting_ready = set(range(workers))
        self._order: deque[int] = deque()  # the worker of each batch in flight, oldest first
        self._next = 0
        self._broken = False

    def ready(self) -> bool:
        """True once every worker has started; never blocks; raises if one cannot start."""
        if self._broken:
            raise DecodeWorkerError("the decode pool has failed")
        try:
            for i in list(self._waiting_ready):
                connection = self._replies[i]
                if connection.poll():
                    if connection.recv_bytes() != _READY:
                        raise DecodeWorkerError("a decode worker failed to start")
                    self._waiting_ready.discard(i)
        except (EOFError, OSError) as exc:
            self._broken = True
            raise DecodeWorkerError(f"a decode worker failed to start: {exc!r}") from exc
        except DecodeWorkerError:
            self._broken = True
            raise
        return not self._waiting_ready

    def submit(self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None) -> None:
        """Queue a batch for decoding; its result comes back after every earlier one."""
        if self._broken:
            raise DecodeWorkerError("the decode pool has failed")
        if not payloads:
            raise ValueError("submit at least one payload")
        if isinstance(payloads, LineBlock):  # already one newline-joined buffer
            if source_timestamps is None:
                self._send(_LINES, payloads.buffer())
            else:
                framed = (bytes(payloads.buffer()), None, list(source_timestamps))
                self._send(_FRAMED, pickle.dumps(framed, protocol=5))
            return
        joined = b"\n".join(payloads)
        lines = joined.count(b"\n") == len(payloads) - 1  # no payload holds a newline itself
        if lines and source_timestamps is None:
            header, body = _LINES, joined  # the common case: sent as is, never copied
        else:
            lengths = None
            if not lines:
                lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
                joined = b"".join(payloads)
            header = _FRAMED
            body = pickle.dumps((joined, lengths, source_timestamps), protocol=5)
        self._send(header, body)

    def _send(self, header: bytes, body: bytes | memoryview) -> None:
        worker = self._next
        self._next = (worker + 1) % len(self._connections)
        try:
            self._connections[worker].send_bytes(header)  # apart: no copy of the body
            self._connections[worker].send_bytes(body)
        except OSError as exc:
            self._broken = True
            raise DecodeWorkerError(f"a decode worker is gone: {exc}") from exc
        self._order.append(worker)

    def result(self) -> tuple[DecodedBatch, T | None]:
        """The oldest batch in flight, decoded, and what `after` made of it (blocks)."""
        if not self._order:
            raise IndexError("no batch in flight")
        worker = self._order.popleft()
        try:
            if self._broken:
                raise DecodeWorkerError("the decode pool has failed")
            reply = self._reply(worker)
            if worker in self._waiting_ready:  # submitted before `ready()` said so: skip it
                if reply != _READY:
                    raise DecodeWorkerError("a decode worker failed to start")
                self._waiting_ready.discard(worker)
                reply = self._reply(worker)
            if reply.startswith(_FAILED):
                raise DecodeWorkerError(reply[len(_FAILED) :].decode("utf-8", "replace"))
            decoded: tuple[DecodedBatch, T | None] = pickle.loads(reply)  # noqa: S301 - our worker
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self._broken = True
            raise DecodeWorkerError(f"a decode worker is gone: {exc!r}") from exc
        except DecodeWorkerError:
            self._broken = True
            raise
        return decoded

    def _reply(self, worker: int) -> bytes:
        if not self._replies[worker].poll(_REPLY_TIMEOUT):
            raise DecodeWorkerError(f"a decode worker sent nothing for {_REPLY_TIMEOUT:g}s")
        return self._replies[worker].recv_bytes()

    def close(self) -> None:
        """Stop the workers (results still in flight are dropped)."""
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.send_bytes(b"")
            connection.close()
        for connection in self._replies:
            connection.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a stuck worker
                process.kill()
                process.join()
        self._order.clear()
        self._broken = True


def _widen(connection: Connection) -> None:
    """Let one write carry a whole batch (Linux pipes hold 64 KiB by default)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or above pipe-max-size
        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _serve(
    requests_in: Connection,
    replies: Connection,
    *,
    layouts: dict[str, ModelLayout],
    fields: EventFields,
    after: Callable[[DecodedBatch], object] | None = None,
    callers_ends: list[Connection],
) -> None:
    """A worker: decode each batch received (then `after`), reply with the pickled result.

    A thread takes requests off the pipe as they come (`_receive`), so the
    caller's send never waits for this worker to finish sending an earlier reply
    (with both sides writing messages larger than the pipe's buffer, that would
    deadlock).
    """
    for end in callers_ends:
        end.close()
    # The request thread needs the GIL for each chunk it reads off the pipe, and the
    # caller's send waits on it; by default the decoding thread would hold the GIL
    # for 5 ms at a time, which made the caller wait longer than the decoding took.
    sys.setswitchinterval(_SWITCH_INTERVAL)
    decoder = EventDecoder(layouts, fields)
    requests: queue.SimpleQueue[tuple[bytes, bytes]] = queue.SimpleQueue()
    threading.Thread(
        target=_receive,
        args=(requests_in, requests, os.getppid()),
        name="decode-requests",
        daemon=True,
    ).start()
    try:
        replies.send_bytes(_READY)
    except OSError:  # the caller closed the pool before this worker was up (a short replay)
        return
    while True:
        header, body = requests.get()
        if not header:
            return
        try:
            decoded = decoder.decode(*_unframe(header, body))
            made = after(decoded) if after is not None else None
            reply = pickle.dumps((decoded, made), protocol=5)
        except Exception as exc:  # reported to the caller, who decodes the batch again
            reply = _FAILED + f"{exc.__class__.__name__}: {exc}".encode()
        try:
            replies.send_bytes(reply)
        except OSError:
            return


def _receive(
    requests_in: Connection, requests: queue.SimpleQueue[tuple[bytes, bytes]], parent: int
) -> None:
    """Move requests off the pipe into `requests`; an empty header means stop."""
    while True:
        try:
            while not requests_in.poll(_PARENT_CHECK):
                if os.getppid() != parent:  # the caller died without closing the pipe
                    requests.put((b"", b""))
                    return
            header = requests_in.recv_bytes()
            body = requests_in.recv_bytes() if header else b""
        except (EOFError, OSError):
            header, body = b"", b""
        requests.put((header, body))
        if not header:
            return


def _unframe(header: bytes, body: bytes) -> tuple[Sequence[bytes], Sequence[float] | None]:
    """The payloads and source timestamps of a request, as `DecodePool.submit` framed them."""
    if header == _LINES:
        joined, lengths, source_timestamps = body, None, None
    else:
        joined, lengths, source_timestamps = pickle.loads(body)  # noqa: S301 - our caller, a private pipe
    if lengths is None:
        # Regular lines (most JSON events) decode straight from the buffer.
        data = joined + b"\n"
        block = LineBlock.scan(data, 0, len(data) - 1, first=0, max_length=len(data))
        return (block if block is not None else joined.split(b"\n")), source_timestamps
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [joined[a:b] for a, b in zip(starts, ends, strict=True)], source_timestamps
