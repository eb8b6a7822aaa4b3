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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from monitor.engine import Engine
from monitor.events import RejectReason
from monitor.verdict import WindowVerdict

DEFAULT_BATCH = 4096
_DEAD_LETTER_HEAD = 4096  # bytes of an over-long line kept for the dead-letter record


@dataclass(slots=True)
class InputSummary:
    path: str
    lines: int = 0
    blank_lines: int = 0
    error: str | None = None


@dataclass(slots=True)
class ReplayResult:
    verdicts: list[WindowVerdict] = field(default_factory=list)
    inputs: list[InputSummary] = field(default_factory=list)


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
) -> ReplayResult:
    """Feed every line of `paths` to `engine`, then close all windows."""
    result = ReplayResult()
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
                for number, line, whole in _lines(handle, limit):
                    summary.lines = number
                    if not whole:  # over-long: dead-lettered by its head, never buffered
                        flush()
                        engine.reject_unread(
                            line,
                            RejectReason.TOO_LARGE,
                            f"line is longer than events.max_event_bytes={limit}",
                            {"file": path, "line": number},
                        )
                        continue
                    stripped = line.strip()
                    if not stripped:
                        summary.blank_lines += 1
                        continue
                    batch.append(stripped)
                    lines.append(number)
                    if len(batch) >= batch_size:
                        flush()
        except (OSError, EOFError, zlib.error) as exc:
            summary.error = f"{exc.__class__.__name__}: {exc}"
        flush()
    result.verdicts.extend(engine.close_all())
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

        verdicts = self._engine.process(self._batch, stream=self._stream, locate=locate)
        self._result.verdicts.extend(verdicts)
        self._batch.clear()
        self._lines.clear()


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
