"""A bounded HTTP/1.1 server for the daemon's few small GET endpoints.

Why not `http.server.ThreadingHTTPServer`: it starts one thread per connection
with no limit and no timeout, listens with a backlog of 5 and logs a traceback
for every connection dropped mid-request. About 1,000 idle connections then use
up the process's file descriptors (which Kafka, checkpoints and alert state also
need) and the kubelet's probes queue behind them.

Here one selector thread owns every connection until its request head has
arrived in full; only complete requests reach the few worker threads, so a
connection that sends nothing, or trickles a byte at a time, costs one file
descriptor and no thread. The bounds:

- at most `max_connections` connections are open at once. When full, a new
  connection evicts the oldest one still waiting for its request head (a prober
  sends its request at once, so it is never the oldest), or is closed at once
  if every open connection is being answered;
- a connection must deliver its whole request head within `request_timeout`
  seconds of being accepted, or of its previous response on a kept-alive
  connection (a kept-alive connection that idles out without starting another
  request is closed quietly, not counted as dropped); writing a response is
  bounded by the same timeout;
- a request head larger than `MAX_HEAD_BYTES` closes the connection;
- the listen backlog is `backlog`;
- when the process is out of file descriptors, accepting pauses briefly
  instead of spinning.

Every connection closed by a bound is reported to `on_drop(reason)` (a metric)
and logged as one debug line, never with a traceback: a dropped connection is
the client's problem, not the daemon's.
"""

from __future__ import annotations

import contextlib
import errno
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import structlog

log = structlog.get_logger(__name__)

DropReason = Literal["limit", "timeout", "too_large", "aborted"]
DROP_REASONS: Final[tuple[DropReason, ...]] = ("limit", "timeout", "too_large", "aborted")

MAX_HEAD_BYTES: Final = 16 * 1024
"""Request line plus headers. A Prometheus scrape or a kubelet probe sends well under 1 KiB."""

_FD_EXHAUSTED: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE: Final = 0.1  # seconds without accepting after running out of descriptors


class RequestHandler(Protocol):
    """Answers one request whose complete head is `head`, writing to `connection`
    (blocking, with the server's timeout). Returns True to keep the connection
    open for the next request."""

    def __call__(self, connection: socket.socket, address: Any, head: bytes) -> bool: ...


@dataclass(slots=True, eq=False)
class _Waiting:
    sock: socket.socket
    address: Any
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    kept_alive: bool = False  # answered before: idling out between requests is normal


@dataclass(slots=True, eq=False)
class _Job:
    sock: socket.socket
    address: Any
    head: bytes
    rest: bytes


@dataclass(slots=True, eq=False)
class _Done:
    """A worker finished a job: `keep` hands the connection back for its next request."""

    job: _Job
    keep: bool


def head_end(buffer: bytes | bytearray) -> int:
    """Length of the request head at the start of `buffer` (through the blank line), or -1.

    Bare LF line ends are accepted as `http.server` accepts them.
    """
    ends = [i + 4 for i in (buffer.find(b"\r\n\r\n"),) if i >= 0]
    ends += [i + 2 for i in (buffer.find(b"\n\n"),) if i >= 0]
    return min(ends) if ends else -1


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    # IPv4 first, as http.server did: "localhost" binds 127.0.0.1 even where ::1 comes first.
    family, _, _, _, address = min(infos, key=lambda info: info[0] != socket.AF_INET)
    listener = socket.create_server(address, family=family, backlog=backlog)
    listener.setblocking(False)
    return listener


class BoundedHTTPServer:
    """Serves `handler` on `host:port` within the bounds of the module docstring.

    `start()` binds (raising `OSError` if the port is taken) and starts the
    selector thread and `workers` worker threads (all daemon threads); `stop()`
    closes every connection and the listening socket.
    """

    def __init__(
        self,
        host: str,
        port: int,
        handler: RequestHandler,
        *,
        max_connections: int = 64,
        request_timeout: float = 5.0,
        backlog: int = 128,
        workers: int = 4,
        on_drop: Callable[[DropReason], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "driftwarden-http",
    ) -> None:
        if max_connections < 1 or workers < 1 or backlog < 1:
            raise ValueError("max_connections, workers and backlog must be at least 1")
        self._host = host
        self._port = port
        self._handler = handler
        self._max = max_connections
        self._timeout = request_timeout
        self._backlog = backlog
        self._workers = workers
        self._on_drop = on_drop
        self._clock = clock
        self._name = name
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[_Done] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        # Owned by the selector thread only:
        self._waiting: dict[socket.socket, _Waiting] = {}  # oldest first
        self._in_service = 0
        self._accept_paused_until: float | None = None
        # Shared with the workers (closed on stop):
        self._served: set[socket.socket] = set()
        self._served_lock = threading.Lock()
        self._loop_closed = False

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the HTTP server is not started")
        return int(self._listener.getsockname()[1])

    @property
    def open_connections(self) -> int:
        """Connections held right now (waiting for a request or being answered)."""
        return len(self._waiting) + self._in_service

    def start(self) -> None:
        if self._listener is not None:
            return
        self._listener = _listen(self._host, self._port, self._backlog)
        loop = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._threads = [loop] + [
            threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._listener is None:
            return
        self._stopping.set()
        self._wake()
        for _ in range(self._workers):
            self._jobs.put(None)
        with self._served_lock:
            for sock in self._served:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # a worker blocked in a write returns now
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()
        self._listener = None
        self._threads = []

    # --- the selector thread --------------------------------------------------------

    def _run(self) -> None:
        listener = self._listener
        assert listener is not None
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ, "listener")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select(self._next_timeout()):
                    if key.data == "listener":
                        self._accept(sel, listener)
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        self._read(sel, key.data)
                self._take_back(sel)
                self._expire(sel)
                self._resume_accepting(sel, listener)
        except Exception:  # a bug here must not leave the port bound and silent
            self._stopping.set()
            log.exception("http_server_failed")
        finally:
            with self._served_lock:
                self._loop_closed = True
            self._take_back(sel)  # closes what workers handed back (stopping is set)
            for waiting in list(self._waiting.values()):
                self._close(sel, waiting)
            sel.close()
            listener.close()

    def _next_timeout(self) -> float:
        now = self._clock()
        wake_at = [now + 1.0]
        if self._waiting:
            wake_at.append(next(iter(self._waiting.values())).deadline)
        if self._accept_paused_until is not None:
            wake_at.append(self._accept_paused_until)
        return max(0.0, min(wake_at) - now)

    def _accept(self, sel: selectors.BaseSelector, listener: socket.socket) -> None:
        for _ in range(self._backlog):  # bounded: the loop also has timeouts to keep
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _FD_EXHAUSTED:
                    self._out_of_descriptors(sel, listener, exc)
                # ECONNABORTED and kin: the client gave up before we accepted.
                return
            sock.setblocking(False)
            if self.open_connections >= self._max:
                if not self._waiting:
                    self._drop_socket(sock, address, "limit")
                    continue
                self._drop(sel, next(iter(self._waiting.values())), "limit")
            self._wait(sel, _Waiting(sock, address, self._clock() + self._timeout))

    def _out_of_descriptors(
        self, sel: selectors.BaseSelector, listener: socket.socket, exc: OSError
    ) -> None:
        if self._waiting:  # free one descriptor: the oldest idle connection
            self._drop(sel, next(iter(self._waiting.values())), "limit")
            return
        if self._accept_paused_until is None:
            log.warning("http_accept_paused", error=exc.strerror, seconds=_ACCEPT_PAUSE)
            sel.unregister(listener)
        self._accept_paused_until = self._clock() + _ACCEPT_PAUSE

    def _resume_accepting(self, sel: selectors.BaseSelector, listener: socket.socket) -> None:
        until = self._accept_paused_until
        if until is not None and self._clock() >= until:
            self._accept_paused_until = None
            sel.register(listener, selectors.EVENT_READ, "listener")

    def _wait(self, sel: selectors.BaseSelector, waiting: _Waiting) -> None:
        """Hold `waiting` until its head is complete; dispatch at once if it already is."""
        if self._dispatch_if_complete(waiting):
            return
        self._waiting[waiting.sock] = waiting
        sel.register(waiting.sock, selectors.EVENT_READ, waiting)

    def _read(self, sel: selectors.BaseSelector, waiting: _Waiting) -> None:
        try:
            data = waiting.sock.recv(MAX_HEAD_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(sel, waiting, "aborted")
            return
        if not data:  # the client closed: nothing to report
            self._close(sel, waiting)
            return
        waiting.buffer += data
        if head_end(waiting.buffer) < 0:
            if len(waiting.buffer) > MAX_HEAD_BYTES:
                self._drop(sel, waiting, "too_large")
            return
        sel.unregister(waiting.sock)
        del self._waiting[waiting.sock]
        self._dispatch_if_complete(waiting)

    def _dispatch_if_complete(self, waiting: _Waiting) -> bool:
        end = head_end(waiting.buffer)
        if end < 0:
            return False
        data = bytes(waiting.buffer)
        self._in_service += 1
        with self._served_lock:
            self._served.add(waiting.sock)
        self._jobs.put(_Job(waiting.sock, waiting.address, data[:end], data[end:]))
        return True

    def _take_back(self, sel: selectors.BaseSelector) -> None:
        while True:
            try:
                done = self._done.get_nowait()
            except queue.Empty:
                return
            self._in_service -= 1
            job = done.job
            if not done.keep:
                continue  # the worker closed it
            if self._stopping.is_set():
                with contextlib.suppress(OSError):
                    job.sock.close()
                continue
            with contextlib.suppress(OSError):
                job.sock.setblocking(False)
            deadline = self._clock() + self._timeout
            waiting = _Waiting(job.sock, job.address, deadline, bytearray(job.rest), True)
            self._wait(sel, waiting)

    def _expire(self, sel: selectors.BaseSelector) -> None:
        now = self._clock()
        while self._waiting:
            oldest = next(iter(self._waiting.values()))
            if oldest.deadline > now:
                return
            if oldest.kept_alive and not oldest.buffer:
                self._close(sel, oldest)  # a scraper's idle keep-alive: not a drop
            else:
                self._drop(sel, oldest, "timeout")

    def _drop(self, sel: selectors.BaseSelector, waiting: _Waiting, reason: DropReason) -> None:
        self._close(sel, waiting)
        self._report(waiting.address, reason)

    def _drop_socket(self, sock: socket.socket, address: Any, reason: DropReason) -> None:
        with contextlib.suppress(OSError):
            sock.close()
        self._report(address, reason)

    def _close(self, sel: selectors.BaseSelector, waiting: _Waiting) -> None:
        if self._waiting.pop(waiting.sock, None) is not None:
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(waiting.sock)
        with contextlib.suppress(OSError):
            waiting.sock.close()

    def _report(self, address: Any, reason: DropReason) -> None:
        client = address[0] if isinstance(address, tuple) and address else str(address)
        log.debug("http_connection_dropped", client=client, reason=reason)
        if self._on_drop is not None:
            self._on_drop(reason)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: the loop is awake already
            self._wake_w.send(b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass

    # --- workers --------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            keep = not self._stopping.is_set() and self._serve(job)
            with self._served_lock:
                self._served.discard(job.sock)
                # Hand back only while the selector thread is there to take it.
                keep = keep and not self._loop_closed
                if not keep:
                    with contextlib.suppress(OSError):
                        job.sock.close()
                self._done.put(_Done(job, keep))
            self._wake()

    def _serve(self, job: _Job) -> bool:
        try:
            job.sock.settimeout(self._timeout)
            return self._handler(job.sock, job.address, job.head)
        except OSError:  # reset, or too slow to take the response: the client's problem
            self._report(job.address, "aborted")
        except Exception:  # a bug in a handler keeps its traceback
            log.exception("http_request_failed")
        return False
