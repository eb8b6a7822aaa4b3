"""Newline-delimited payloads that stay in the buffer they were read into.

Splitting a replayed file into one `bytes` object per line costs about as much
as the rest of reading it (a copy and an allocation per line, then a strip per
line). A `LineBlock` instead keeps the buffer and the offsets of its lines,
found with one numpy scan, so msgspec can decode a run of lines straight from
the buffer (`msgspec.json.Decoder.decode_lines`). It is a `Sequence[bytes]`:
code that wants line objects (the general decoding path, the dead-letter sink)
gets them on demand and sees exactly the stripped lines line-by-line reading
would give.

Only *regular* lines make a block: each starts with `{` and ends with `}`, so
no line is blank or has whitespace to strip, and no JSON value can continue
from one line onto the next. That is what lets a decoder trust that
`decode_lines` over the block gives one value per line whenever it gives as
many values as there are lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

_NEWLINE, _OPEN, _CLOSE = ord("\n"), ord("{"), ord("}")


class LineBlock(Sequence[bytes]):
    """Lines `first`, `first + 1`, ... of an input, as offsets into one buffer.

    The buffer may be a reader's, reused for the next read: a block is processed
    before the next read, or kept as `detached()`, its own copy (its lines, taken
    with `[i]`, are copies too).
    """

    __slots__ = ("_data", "_ends", "_starts", "first")

    def __init__(
        self,
        data: bytes | bytearray,
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        first: int,
    ) -> None:
        self._data = data
        self._starts = starts
        self._ends = ends  # exclusive; the newline is not part of the line
        self.first = first

    @classmethod
    def scan(
        cls, data: bytes | bytearray, start: int, end: int, *, first: int, max_length: int
    ) -> LineBlock | None:
        """The lines of `data[start:end + 1]` (which ends with a newline) if all are regular.

        None when any line is shorter than 2 bytes or longer than `max_length`, or
        does not start with `{` and end with `}`: the caller then splits the lines
        itself, with every rule for blank, padded and over-long lines.
        """
        raw = np.frombuffer(data, dtype=np.uint8, count=end + 1 - start, offset=start)
        ends = np.flatnonzero(raw == _NEWLINE)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        if int(lengths.min()) < 2 or int(lengths.max()) > max_length:
            return None
        if not ((raw[starts] == _OPEN).all() and (raw[ends - 1] == _CLOSE).all()):
            return None
        return cls(data, starts + start, ends + start, first)

    @classmethod
    def joined(cls, payloads: list[bytes]) -> LineBlock | None:
        """The payloads joined into one newline-delimited block, if each is a regular line.

        For payloads that arrive one object each (Kafka records): one join, then the
        same scan a replayed file gets, so decoding takes the fast path over one
        buffer and a decode worker receives that buffer as is. None when any payload
        is not a regular line or holds a newline itself (it would make two lines):
        the caller keeps the payloads as they are, and the decoder applies every
        rule to them one by one.
        """
        if not payloads:
            return None
        data = b"\n".join(payloads) + b"\n"
        block = cls.scan(data, 0, len(data) - 1, first=0, max_length=len(data))
        return block if block is not None and len(block) == len(payloads) else None

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> LineBlock: ...

    def __getitem__(self, index: int | slice) -> bytes | LineBlock:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("a LineBlock slices with step 1 only")
            return LineBlock(
                self._data, self._starts[start:stop], self._ends[start:stop], self.first + start
            )
        return bytes(self._data[self._starts[index] : self._ends[index]])

    def __iter__(self) -> Iterator[bytes]:
        data = self._data
        for start, end in zip(self._starts.tolist(), self._ends.tolist(), strict=True):
            yield bytes(data[start:end])

    def max_length(self) -> int:
        return int((self._ends - self._starts).max()) if len(self) else 0

    def detached(self) -> LineBlock:
        """The same lines over their own copy of the bytes, to keep past the next read
        (itself when its buffer is immutable `bytes`, which no read can reuse)."""
        if not len(self) or isinstance(self._data, bytes):
            return self
        start = int(self._starts[0])
        return LineBlock(bytes(self.buffer()), self._starts - start, self._ends - start, self.first)

    def spans(self) -> tuple[bytes | bytearray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The buffer and each line's start and (exclusive) end in it, to scan in place."""
        return self._data, self._starts, self._ends

    def buffer(self) -> memoryview:
        """All the lines, newline-separated, without copying (empty for no lines)."""
        if not len(self):
            return memoryview(b"")
        return memoryview(self._data)[int(self._starts[0]) : int(self._ends[-1])]
