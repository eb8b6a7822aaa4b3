"""Offline replay: log files through exactly the engine the daemon runs.

Files are read in the order given, as one stream, in batches of lines. `-`
reads standard input; `.gz` files are decompressed on the fly. A line longer
than `events.max_event_bytes` is never held in memory whole: its head goes to
the dead-letter sink with reason `too_large` and the rest is skipped. Blank
lines are not events and are only counted. A file that cannot be read to the
end (a truncated gzip, say) is recorded in the result and the replay goes on
with the next one: bad input never stops a replay.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from monitor.engine import Engine
from monitor.events import RejectReason
from monitor.verdict import WindowVerdict

DEFAULT_BATCH = 4096
_DEAD_LETTER_HEAD = 4096  # bytes of an over-long line kept for the dead-letter record
_READ_SIZE = 1 << 20  # bytes per read of a plain file


@dataclass(slots=True)
class InputSummary:
    path: str
    lines: int = 0
    blank_lines: int = 0
    error: str | None = None


@dataclass(slots=True)
class ReplayResult:
    """What a replay read; `verdicts` holds the closed windows unless they were streamed.

    With `on_verdict`, each verdict goes to the callback as its window closes and
    is not kept, so memory stays flat however long the replayed period is.
    """

    verdicts: list[WindowVerdict] = field(default_factory=list)
    inputs: list[InputSummary] = field(default_factory=list)
    on_verdict: Callable[[WindowVerdict], None] | None = None

    def add(self, verdicts: Iterable[WindowVerdict]) -> None:
        if self.on_verdict is None:
            self.verdicts.extend(verdicts)
        else:
            for verdict in verdicts:
                self.on_verdict(verdict)


@contextmanager
def _open(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
    elif path.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            yield handle  # type: ignore[misc]
    else:
        with Path(path).open("rb") as handle:
            yield handle


def replay(
    engine: Engine,
    paths: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH,
    stream: str = "replay",
    on_verdict: Callable[[WindowVerdict], None] | None = None,
) -> ReplayResult:
    """Feed every line of `paths` to `engine`, then close all windows.

    `on_verdict` receives each closed window in order instead of the result
    keeping them all (see `ReplayResult`).
    """
    result = ReplayResult(on_verdict=on_verdict)
    limit = engine.settings.events.max_event_bytes
    for path in paths:
        summary = InputSummary(path=path)
        result.inputs.append(summary)
        batch: list[bytes] = []
        lines: list[int] = []
        flush = _Flusher(
            engine=engine, result=result, path=path, stream=stream, batch=batch, lines=lines
        )

        try:
            with _open(path) as handle:
                plain = path != "-" and not path.endswith(".gz")
                blocks = _blocks(handle, limit) if plain else _single_lines(handle, limit)
                for first, block, whole in blocks:
                    if not whole:  # over-long: dead-lettered by its head, never buffered
                        summary.lines = first
                        flush()
                        engine.reject_unread(
                            block[0],
                            RejectReason.TOO_LARGE,
                            f"line is longer than events.max_event_bytes={limit}",
                            {"file": path, "line": first},
                        )
                        continue
                    summary.lines = first + len(block) - 1
                    stripped = list(map(bytes.strip, block))
                    numbers: Sequence[int] = range(first, first + len(block))
                    if b"" in stripped:
                        kept = [i for i, line in enumerate(stripped) if line]
                        summary.blank_lines += len(stripped) - len(kept)
                        stripped = [stripped[i] for i in kept]
                        numbers = [numbers[i] for i in kept]
                    start = 0
                    while start < len(stripped):  # cut batches exactly as line by line would
                        stop = start + batch_size - len(batch)
                        batch.extend(stripped[start:stop])
                        lines.extend(numbers[start:stop])
                        start = stop
                        if len(batch) >= batch_size:
                            flush()
        except (OSError, EOFError, zlib.error) as exc:
            summary.error = f"{exc.__class__.__name__}: {exc}"
        flush()
    result.add(engine.close_all())
    return result


class _Flusher:
    """Hands the buffered lines of one input to the engine, with their line numbers."""

    def __init__(
        self,
        *,
        engine: Engine,
        result: ReplayResult,
        path: str,
        stream: str,
        batch: list[bytes],
        lines: list[int],
    ) -> None:
        self._engine, self._result, self._path, self._stream = engine, result, path, stream
        self._batch, self._lines = batch, lines

    def __call__(self) -> None:
        if not self._batch:
            return
        numbers = list(self._lines)
        path = self._path

        def locate(i: int) -> dict[str, str | int]:
            return {"file": path, "line": numbers[i]}

        self._result.add(self._engine.process(self._batch, stream=self._stream, locate=locate))
        self._batch.clear()
        self._lines.clear()


def _single_lines(handle: BinaryIO, limit: int) -> Iterator[tuple[int, list[bytes], bool]]:
    """`_lines` as one-line blocks: gzip and stdin are read line by line."""
    for number, line, whole in _lines(handle, limit):
        yield number, [line], whole


def _blocks(
    handle: BinaryIO, limit: int, read_size: int = _READ_SIZE
) -> Iterator[tuple[int, list[bytes], bool]]:
    """(first line number, lines, whole) for a plain file, read in large chunks.

    Gives the same lines as `_lines` without a Python call per line: complete
    lines come in blocks (without their newline; callers strip them anyway). A
    line of `limit + 2` bytes or more, newline excluded, is over-long exactly as
    in `_lines`: it comes alone, as its head, with whole=False, and is never held
    in memory beyond `limit + 2 + read_size` bytes.
    """
    cap = limit + 2
    head = min(cap, _DEAD_LETTER_HEAD)
    number = 0
    pending = b""  # the start of a line whose end has not been read yet
    skipping = False  # inside an over-long line: drop bytes up to its newline
    read = getattr(handle, "read1", handle.read)
    while True:
        data = read(read_size)
        if not data:
            break
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            skipping = False
            data = data[end + 1 :]
        parts = (pending + data).split(b"\n")
        pending = parts.pop()
        if parts:
            if max(map(len, parts)) < cap:
                yield number + 1, parts, True
                number += len(parts)
            else:
                for part in parts:
                    number += 1
                    if len(part) < cap:
                        yield number, [part], True
                    else:
                        yield number, [part[:head]], False
        if len(pending) >= cap:
            number += 1
            yield number, [pending[:head]], False
            pending = b""
            skipping = True
    if pending:
        yield number + 1, [pending], True


def _lines(handle: BinaryIO, limit: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, whole) triples; an over-long line comes as its head, whole=False."""
    number = 0
    cap = limit + 2  # room for "\r\n"
    while True:
        line = handle.readline(cap)
        if not line:
            return
        number += 1
        if len(line) >= cap and not line.endswith(b"\n"):
            while True:  # skip the rest of the over-long line in bounded chunks
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, line[:_DEAD_LETTER_HEAD], False
            continue
        yield number, line, True
