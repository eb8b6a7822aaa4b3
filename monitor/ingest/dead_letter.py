"""Dead-letter sinks: where events go that could not be counted, with the reason why.

A rejected event is never dropped silently: it is counted in
`driftwarden_events_rejected_total{reason}` and written here, so an operator can
see what broke (a renamed field, a type change upstream) and replay it once
fixed. The replay tool writes the JSONL file; the daemon writes a topic.

Both sinks buffer. `flush()` makes every earlier `write()` durable and raises
`SinkUnavailable` when that failed; the daemon flushes before it checkpoints, so a
record's offset is never committed before its dead letter is safe.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from driftwarden.monitor.errors import SinkUnavailable

SourceFields = Mapping[str, str | int]

DEFAULT_MAX_PAYLOAD_BYTES: Final = 65_536
WRITE_THRESHOLD: Final = 65_536
"""Buffered dead-letter bytes written out without waiting for `flush()`."""
MAX_BACKLOG_BYTES: Final = 64 * 1024 * 1024
"""Dead letters held in memory while the disk refuses them; past it, `write` raises."""
FORMAT_VERSION: Final = 1

HEADER_REASON: Final = "driftwarden.reason"
HEADER_SOURCE_PREFIX: Final = "driftwarden.source."
HEADER_TRUNCATED: Final = "driftwarden.truncated"
HEADER_PAYLOAD_SIZE: Final = "driftwarden.payload_size"
TOPIC_HEADROOM: Final = 16_384
"""Bytes of a dead-letter record kept for its headers and framing (see KafkaDeadLetterSink)."""


class DeadLetterSink(Protocol):
    """Takes rejected events. Not thread-safe unless an implementation says so."""

    def write(self, payload: bytes, reason: str, source: SourceFields) -> None:
        """Queue one rejected event. `source` says where it came from (topic,
        partition, offset; or file and line for replay)."""

    def flush(self) -> None:
        """Make every earlier write durable; `SinkUnavailable` if that failed."""

    def close(self) -> None:
        """Flush and release the sink; later writes raise."""


def _check_source(source: SourceFields) -> dict[str, str | int]:
    out: dict[str, str | int] = {}
    for key, value in source.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(
                f"dead-letter source fields are str -> str | int, got {key!r}: {value!r}"
            )
        out[key] = value
    return out


# --- JSONL file ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One line of a dead-letter file, parsed (see `JsonlDeadLetterSink`)."""

    time: str
    reason: str
    source: Mapping[str, str | int]
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
    payload_size: int
    truncated: bool

    def payload_bytes(self) -> bytes:
        """The stored payload bytes: all of them unless `truncated`."""
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload, validate=True)
        return self.payload.encode("utf-8")


class JsonlDeadLetterSink:
    """Appends one JSON object per rejected event to a UTF-8 file (JSON Lines).

    Line format, version 1 (keys always present; more keys may be added later,
    readers must ignore keys they do not know)::

        {"v": 1,
         "time": "2026-11-23T13:05:00.123456Z",     # when written, UTC, RFC 3339
         "reason": "missing_field:features.age",    # why the event was rejected
         "source": {"topic": "predictions", "partition": 2, "offset": 1234},
         "payload": "{\\"model_id\\": ...}",          # the event bytes, see below
         "payload_encoding": "utf-8",               # or "base64"
         "payload_size": 2048,                      # length of the ORIGINAL payload, bytes
         "truncated": false}                        # true: only the first bytes are kept

    - `payload` holds the event as text when its bytes are valid UTF-8, else
      standard base64 (RFC 4648, with padding) and `payload_encoding: "base64"`.
    - At most `max_payload_bytes` bytes of the payload are kept (default 64 KiB):
      a flood of oversized events must not fill the disk. A cut never splits a
      UTF-8 character (up to 3 further bytes are dropped to avoid that), so
      text stays text; `payload_size` keeps the original length.
    - `source` values are strings or integers; replay writes `{"file", "line"}`.
    - The file is opened in append mode and only whole lines are written, so
      concurrent readers (`tail -f`) never see half a record. A crash can still
      leave the last line incomplete: readers should skip a last line that is
      not valid JSON (`read_dead_letters` does).

    Lines are buffered and written whole with `os.write`; `flush()` writes the
    buffer and fsyncs. A write the disk refuses (ENOSPC, EIO) is cut back to the
    last whole line with `ftruncate` and its lines stay buffered, so a full disk
    loses no dead letter and tears no line: `flush()` raises `SinkUnavailable`
    meanwhile (the daemon then does not checkpoint or commit past them), and the
    next write or flush tries again. Only a backlog over `MAX_BACKLOG_BYTES`
    makes `write` raise. Thread-safe.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        clock: Callable[[], float] = time.time,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
    ) -> None:
        if max_payload_bytes < 4:
            raise ValueError("max_payload_bytes must be at least 4")
        self._path = path
        self._max = max_payload_bytes
        self._max_backlog = max_backlog_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SinkUnavailable(
                f"dead-letter file {path}: cannot open for appending ({exc.strerror}); "
                "check dead_letter.path and the directory's permissions"
            ) from None

    @property
    def path(self) -> Path:
        return self._path

    def encode_line(self, payload: bytes, reason: str, source: SourceFields) -> str:
        """The JSON line (with its newline) for one event; pure apart from the clock."""
        kept = payload[: self._max]
        truncated = len(kept) < len(payload)
        text = _utf8_prefix(kept, may_trim=truncated)
        if text is not None:
            body, encoding = text, "utf-8"
        else:
            body, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        record = {
            "v": FORMAT_VERSION,
            "time": stamp,
            "reason": reason,
            "source": _check_source(source),
            "payload": body,
            "payload_encoding": encoding,
            "payload_size": len(payload),
            "truncated": truncated,
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"

    def write(self, payload: bytes, reason: str, source: SourceFields) -> None:
        # A lone surrogate in a detail is written as its JSON escape, never an error.
        line = self.encode_line(payload, reason, source).encode("utf-8", "backslashreplace")
        with self._lock:
            if self._fd is None:
                raise SinkUnavailable(f"dead-letter file {self._path} is closed")
            self._pending.append(line)
            self._pending_bytes += len(line)
            if self._pending_bytes < WRITE_THRESHOLD:
                return
            error = self._write_pending()
            if error is not None and self._pending_bytes > self._max_backlog:
                raise SinkUnavailable(
                    f"dead-letter file {self._path}: write failed ({error}) and "
                    f"{self._pending_bytes} bytes wait in memory; free space on its disk"
                )

    def _write_pending(self) -> str | None:
        """Write the buffer whole or not at all; the error text, or None when written."""
        if not self._pending or self._fd is None:
            return None
        data = b"".join(self._pending)
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)  # no half line stays behind
            self._pending = [data]
            return exc.strerror or type(exc).__name__
        self._pending.clear()
        self._pending_bytes = 0
        return None

    def flush(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            error = self._write_pending()
            if error is None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    error = exc.strerror or type(exc).__name__
            if error is not None:
                raise SinkUnavailable(
                    f"dead-letter file {self._path}: write failed ({error}); "
                    f"{self._pending_bytes} bytes kept in memory until it succeeds; "
                    "free space on its disk"
                )

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> JsonlDeadLetterSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _utf8_prefix(data: bytes, *, may_trim: bool) -> str | None:
    """`data` as text, or None when it is not UTF-8.

    With `may_trim` (the payload was cut), an incomplete character at the very
    end is dropped: the incremental decoder holds back exactly a valid but
    unfinished trailing sequence and still rejects invalid bytes anywhere.
    """
    try:
        if may_trim:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_dead_letter(line: str) -> DeadLetterRecord:
    """One JSONL line back into a record; `ValueError` if it is not one."""
    raw: Any = json.loads(line)
    if not isinstance(raw, dict) or raw.get("v") != FORMAT_VERSION:
        raise ValueError(f"not a version-{FORMAT_VERSION} dead-letter line")
    encoding = raw["payload_encoding"]
    if encoding not in ("utf-8", "base64"):
        raise ValueError(f"unknown payload_encoding {encoding!r}")
    record = DeadLetterRecord(
        time=str(raw["time"]),
        reason=str(raw["reason"]),
        source=_check_source(raw["source"]),
        payload=str(raw["payload"]),
        payload_encoding=encoding,
        payload_size=int(raw["payload_size"]),
        truncated=bool(raw["truncated"]),
    )
    if encoding == "base64":
        try:
            record.payload_bytes()
        except binascii.Error as exc:
            raise ValueError(f"payload is not valid base64: {exc}") from None
    return record


def read_dead_letters(path: Path) -> Iterator[DeadLetterRecord]:
    """Every record of a dead-letter file, in order.

    A last line without its newline is what a crash mid-write leaves and is
    skipped; any other malformed line raises `ValueError` naming its number.
    """
    with path.open("r", encoding="utf-8", newline="\n") as handle:
        lines = handle.read().split("\n")
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        if not line:
            continue
        try:
            yield parse_dead_letter(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a dead-letter record ({exc})") from None
    if tail:
        try:
            yield parse_dead_letter(tail)
        except (ValueError, KeyError, TypeError):
            return


# --- Kafka topic ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unsent:
    """A dead letter the topic has not acknowledged yet."""

    payload: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]


class KafkaDeadLetterSink:
    """Sends each rejected event, byte for byte, to a dead-letter topic.

    The record value is the original payload (no envelope: consumers of the
    topic see exactly what the producer sent); the metadata rides in headers:
    `driftwarden.reason`, and `driftwarden.source.<field>` for each source field
    (`topic`, `partition`, `offset` from the daemon), all UTF-8. The key is the
    original record's key when `write_keyed` is used, else none.

    A payload that would not fit the producer's `max_request_size` with its
    headers (a record that just fit the source topic does not, once headers are
    added; the producer would refuse it and the daemon would stop on that record
    at every restart) keeps its first `max_request_size - TOPIC_HEADROOM` bytes,
    with headers `driftwarden.truncated: true` and `driftwarden.payload_size`
    (the original length).

    The producer must be built with acks=all (`KafkaClientConfig.producer_kwargs`
    does); it is checked here. The sink does not own the producer: `close()`
    flushes but leaves closing it to its owner.

    A send that fails (the topic missing, the brokers away past the producer's own
    retries) keeps its record: the next `flush()` sends it again and raises
    `SinkUnavailable` while any record is still not acknowledged, so the daemon
    neither checkpoints nor commits past a dead letter that is not safe, and
    catches up by itself when the topic is back. Only more than
    `MAX_BACKLOG_BYTES` of such records makes `write` raise.
    """

    def __init__(self, producer: Any, topic: str, *, flush_timeout: float = 30.0) -> None:
        acks = getattr(producer, "config", {}).get("acks", -1)
        if acks not in (-1, "all"):
            raise ValueError(
                f"dead-letter producer has acks={acks!r}; build it with acks='all' so a "
                "dead letter survives a broker failure"
            )
        self._producer = producer
        self._topic = topic
        self._flush_timeout = flush_timeout
        max_request = getattr(producer, "config", {}).get("max_request_size", 1_048_576)
        self._max_value = max(1024, int(max_request) - TOPIC_HEADROOM)
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self._unsent: list[_Unsent] = []
        self._unsent_bytes = 0
        self._closed = False

    @property
    def topic(self) -> str:
        return self._topic

    @staticmethod
    def headers(reason: str, source: SourceFields) -> list[tuple[str, bytes]]:
        fields = _check_source(source)
        out = [(HEADER_REASON, reason.encode("utf-8"))]
        out.extend(
            (f"{HEADER_SOURCE_PREFIX}{name}", str(value).encode("utf-8", "backslashreplace"))
            for name, value in fields.items()
        )
        return out

    def write(self, payload: bytes, reason: str, source: SourceFields) -> None:
        self.write_keyed(payload, reason, source, key=None)

    def write_keyed(
        self, payload: bytes, reason: str, source: SourceFields, *, key: bytes | None
    ) -> None:
        if self._closed:
            raise SinkUnavailable(f"dead-letter topic {self._topic!r}: sink is closed")
        headers = self.headers(reason, source)
        if len(payload) > self._max_value:
            headers += [
                (HEADER_TRUNCATED, b"true"),
                (HEADER_PAYLOAD_SIZE, str(len(payload)).encode("ascii")),
            ]
            payload = payload[: self._max_value]
        self._send(_Unsent(payload, key, headers))
        if self._unsent_bytes > MAX_BACKLOG_BYTES:
            raise SinkUnavailable(
                f"dead-letter topic {self._topic!r}: {self._unsent_bytes} bytes of dead letters "
                "not acknowledged; check that the topic exists and the brokers are up"
            )

    def _send(self, record: _Unsent) -> None:
        try:
            future = self._producer.send(
                self._topic, value=record.payload, key=record.key, headers=record.headers
            )
        except TypeError:
            raise
        except Exception as exc:  # the producer's buffer is full, or it is closed
            self._keep(record, exc)
            return
        future.add_errback(functools.partial(self._keep, record))

    def _keep(self, record: _Unsent, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)
            self._unsent.append(record)
            self._unsent_bytes += len(record.payload)

    def flush(self) -> None:
        with self._lock:
            retry, self._unsent, self._unsent_bytes = self._unsent, [], 0
            self._errors = []
        for record in retry:
            self._send(record)
        try:
            self._producer.flush(timeout=self._flush_timeout)
        except Exception as exc:
            raise SinkUnavailable(
                f"dead-letter topic {self._topic!r}: not acknowledged within "
                f"{self._flush_timeout}s ({type(exc).__name__}); check the brokers"
            ) from None
        with self._lock:
            errors, unsent = list(self._errors), len(self._unsent)
        if unsent:
            first = errors[0] if errors else None
            raise SinkUnavailable(
                f"dead-letter topic {self._topic!r}: {unsent} write(s) failed, kept and "
                f"sent again at the next flush; first: {type(first).__name__}: {first}; "
                "check the topic and its permissions"
            )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.flush()
