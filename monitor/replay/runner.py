"""Offline replay: log files through exactly the engine the daemon runs.

Files are read in the order given, as one stream, in batches of lines. `-`
reads standard input; `.gz` files are decompressed on the fly. A line longer
than `events.max_event_bytes` is never held in memory whole: its head goes to
the dead-letter sink with reason `too_large` and the rest is skipped. Blank
lines are not events and are only counted. A file that cannot be read to the
end (a truncated gzip, say) is recorded in the result and the replay goes on
with the next one: bad input never stops a replay (`driftwarden replay` then
reports what was read and exits 2, naming the file).
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from driftwarden.monitor.engine import Engine, SourceLocator
from driftwarden.monitor.ingest.decode_pool import DecodePool
from driftwarden.monitor.ingest.event_survey import EventSurvey
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.rejection import RejectReason
from driftwarden.monitor.pipeline import Pipeline, SourceBatch
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.windows.windowing import WindowCounts

DEFAULT_BATCH = 8192  # lines per engine call: measured faster than 4096, and than 16384
_DEAD_LETTER_HEAD = 4096  # bytes of an over-long line kept for the dead-letter record
_IN_FLIGHT = 2  # batches out being decoded per decode worker
_READ_SIZE = 4 << 20  # bytes per read: about 11,000 lines of a typical event


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
def _open(path: str) -> Iterator[io.BufferedIOBase]:
    if path == "-":
        yield cast(io.BufferedIOBase, sys.stdin.buffer)
    elif path.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            yield handle
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
    pool: DecodePool[WindowCounts] | None = None,
    start_pool: Callable[[], DecodePool[WindowCounts] | None] | None = None,
    survey: EventSurvey | None = None,
    outcomes: Sequence[str] = (),
) -> ReplayResult:
    """Feed every line of `paths` to `engine`, then close all windows.

    `on_verdict` receives each closed window in order instead of the result
    keeping them all (see `ReplayResult`). `pool` (`monitor.pipeline.start_decode_pool`)
    decodes on other cores, up to
    `_IN_FLIGHT` batches per worker ahead of the counting (see
    `monitor.pipeline`); the caller owns it. The result is the same either way.
    `start_pool`, instead of `pool`, is called at the first batch read and may return
    one: an input without events forks no workers. The caller owns what it returns.
    `survey` looks at the first events read (see `monitor.ingest.event_survey`).
    `outcomes` are files of outcome events, read after the predictions and
    joined to them (`monitor.outcomes`): the engine must have the join on.
    """
    result = ReplayResult(on_verdict=on_verdict)
    if outcomes and engine.outcomes is not None:
        engine.outcomes.outcome_sources = True  # expiry waits for the outcome files
    reader = _Reader(
        Pipeline(engine, pool=pool, survey=survey),
        result,
        batch_size=batch_size,
        stream=stream,
        ahead=_IN_FLIGHT * pool.workers if pool is not None else 0,
        start_pool=start_pool if pool is None else None,
    )
    for path in paths:
        summary = InputSummary(path=path)
        result.inputs.append(summary)
        reader.read(path, summary)
    reader.drain()
    limit = engine.settings.events.max_event_bytes
    for path in outcomes:
        result.inputs.append(_replay_outcomes(engine, path, batch_size, limit))
    result.add(engine.close_all())
    return result


def _replay_outcomes(engine: Engine, path: str, batch_size: int, limit: int) -> InputSummary:
    """One file of outcome events through the engine's join, in batches of lines.

    After every prediction file: the predictions wait on disk for their outcomes,
    so the order of the two kinds of file changes nothing but the store's size.
    """
    summary = InputSummary(path=path)
    batch: list[bytes] = []
    lines: list[int] = []

    def flush() -> None:
        if batch:
            numbers = list(lines)
            engine.process_outcomes(
                list(batch),
                stream="outcomes",
                locate=lambda i: {"file": path, "line": numbers[i]},
            )
            batch.clear()
            lines.clear()

    try:
        with _open(path) as handle:
            for item in _blocks(handle, limit):
                if isinstance(item, LineBlock):
                    first, block, whole = item.first, list(item), True
                else:
                    first, block, whole = item
                summary.lines = first + len(block) - 1
                if not whole:
                    flush()
                    engine.reject_unread_outcome(
                        block[0],
                        RejectReason.TOO_LARGE,
                        f"line is longer than events.max_event_bytes={limit}",
                        {"file": path, "line": first},
                    )
                    continue
                for number, line in enumerate(block, start=first):
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
    return summary


class _Reader:
    """Reads inputs into the pipeline in batches of lines, numbering each line.

    Batches are cut exactly as reading line by line would cut them, whichever
    form `_blocks` hands the lines in.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        result: ReplayResult,
        *,
        batch_size: int,
        stream: str,
        ahead: int,
        start_pool: Callable[[], DecodePool[WindowCounts] | None] | None = None,
    ) -> None:
        self._pipeline, self._engine, self._result = pipeline, pipeline.engine, result
        self._batch_size, self._stream, self._ahead = batch_size, stream, ahead
        self._start_pool = start_pool
        self._path = ""
        self._batch: list[bytes] = []  # lines of the current input not fed yet
        self._lines: list[int] = []  # and their line numbers

    def read(self, path: str, summary: InputSummary) -> None:
        """Feed one input; an input that cannot be read to the end is recorded in `summary`."""
        self._path = path
        limit = self._engine.settings.events.max_event_bytes
        try:
            with _open(path) as handle:
                for item in _blocks(handle, limit):
                    if isinstance(item, LineBlock):
                        self._block(item, summary)
                    else:
                        self._loose(*item, summary=summary, limit=limit)
        except (OSError, EOFError, zlib.error) as exc:
            summary.error = f"{exc.__class__.__name__}: {exc}"
        self._flush()

    def drain(self) -> None:
        """Count every batch still in flight."""
        self._result.add(self._pipeline.count())

    def _block(self, block: LineBlock, summary: InputSummary) -> None:
        self._flush()  # lines buffered before the block go first: stream order
        summary.lines = block.first + len(block) - 1
        for start in range(0, len(block), self._batch_size):
            piece = block[start : start + self._batch_size]
            self._feed(piece, _line_numbers(self._path, piece.first))

    def _loose(
        self, first: int, lines: list[bytes], whole: bool, *, summary: InputSummary, limit: int
    ) -> None:
        if not whole:  # over-long: dead-lettered by its head, never buffered
            summary.lines = first
            self._flush()
            self.drain()  # its dead letter after those of earlier lines
            self._engine.reject_unread(
                lines[0],
                RejectReason.TOO_LARGE,
                f"line is longer than events.max_event_bytes={limit}",
                {"file": self._path, "line": first},
            )
            return
        summary.lines = first + len(lines) - 1
        stripped = list(map(bytes.strip, lines))
        numbers: Sequence[int] = range(first, first + len(lines))
        if b"" in stripped:
            kept = [i for i, line in enumerate(stripped) if line]
            summary.blank_lines += len(stripped) - len(kept)
            stripped = [stripped[i] for i in kept]
            numbers = [numbers[i] for i in kept]
        start = 0
        while start < len(stripped):
            stop = start + self._batch_size - len(self._batch)
            self._batch.extend(stripped[start:stop])
            self._lines.extend(numbers[start:stop])
            start = stop
            if len(self._batch) >= self._batch_size:
                self._flush()

    def _flush(self) -> None:
        """Feed the buffered lines of the current input, with their line numbers."""
        if not self._batch:
            return
        numbers, path = list(self._lines), self._path

        def locate(i: int) -> dict[str, str | int]:
            return {"file": path, "line": numbers[i]}

        self._feed(list(self._batch), locate)
        self._batch.clear()
        self._lines.clear()

    def _feed(self, payloads: Sequence[bytes], locate: SourceLocator) -> None:
        start, self._start_pool = self._start_pool, None
        if start is not None:  # the first batch: nothing is pending, the pool can change
            pool = start()
            if pool is not None:
                self._pipeline.use_pool(pool)
                self._ahead = _IN_FLIGHT * pool.workers
        self._pipeline.submit(SourceBatch(payloads, self._stream, locate))
        self._result.add(self._pipeline.count(leave=self._ahead))


def _blocks(
    handle: io.BufferedIOBase, limit: int, read_size: int = _READ_SIZE
) -> Iterator[LineBlock | tuple[int, list[bytes], bool]]:
    """The lines of an input in order, read in large chunks, without a Python call per line.

    A chunk whose complete lines are all regular (see `monitor.ingest.lines`) comes as
    one `LineBlock`, valid until the next item is asked for: the chunks are read
    into one reused buffer, which keeps a 1 MiB read in the CPU cache from the
    read to the decoder. Any other chunk comes as (first line number, lines,
    whole) triples for the caller to strip: its complete lines in a list, without
    their newline; or an over-long line, `limit + 2` bytes or more without its
    newline, alone, as its head, with whole=False, never held in memory beyond
    `limit + 2 + read_size` bytes. The two forms hold the same lines.
    """
    cap = limit + 2  # room for "\r\n"
    head = min(cap, _DEAD_LETTER_HEAD)
    number = 0
    buffer = bytearray(2 * read_size)
    held = 0  # bytes at the start of `buffer`: a line whose end has not been read yet
    skipping = False  # inside an over-long line: drop bytes up to its newline
    readinto = handle.readinto1
    while True:
        if len(buffer) < held + read_size:  # a long line is pending: room for it
            buffer = buffer[:held] + bytearray(read_size + max(held, read_size))
        with memoryview(buffer) as view:
            got = readinto(view[held : held + read_size])
        if not got:
            break
        stop = held + got
        start = 0
        if skipping:
            newline = buffer.find(b"\n", 0, stop)
            if newline < 0:
                continue
            skipping = False
            start = newline + 1
        last = buffer.rfind(b"\n", start, stop)
        if last >= 0:
            number = yield from _complete_lines(buffer, start, last, number, cap=cap, head=head)
            start = last + 1
        held = stop - start
        buffer[:held] = buffer[start:stop]
        if held >= cap:
            number += 1
            yield number, [bytes(buffer[:head])], False
            held = 0
            skipping = True
    if held:
        yield number + 1, [bytes(buffer[:held])], True


def _complete_lines(
    buffer: bytearray, start: int, last: int, number: int, *, cap: int, head: int
) -> Generator[LineBlock | tuple[int, list[bytes], bool], None, int]:
    """The lines of `buffer[start:last]` after line `number`, in `_blocks`' forms;
    returns the number of the last one."""
    block = LineBlock.scan(buffer, start, last, first=number + 1, max_length=cap - 1)
    if block is not None:
        yield block
        return number + len(block)
    parts = bytes(buffer[start:last]).split(b"\n")
    if max(map(len, parts)) < cap:
        yield number + 1, parts, True
        return number + len(parts)
    for part in parts:
        number += 1
        if len(part) < cap:
            yield number, [part], True
        else:
            yield number, [part[:head]], False
    return number


def _line_numbers(path: str, first: int) -> Callable[[int], dict[str, str | int]]:
    def locate(i: int) -> dict[str, str | int]:
        return {"file": path, "line": first + i}

    return locate
