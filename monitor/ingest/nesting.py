"""The nesting-depth bound on events, decided before any decoder recurses into them.

JSON decoders (msgspec, Python's `json`) recurse once per level of nesting and
raise `RecursionError` near Python's recursion limit, at a depth that depends
on how deep the caller's own stack already is: the same payload could decode
in a decode worker and fail in the daemon's process. So the bound is ours and
exact: an event nested deeper than `MAX_DEPTH` levels anywhere (arrays and
objects, outside strings, whether driftwarden reads that part or not) is
rejected as `too_deep`, and every event within it decodes in any context.

It costs nothing on ordinary events: `MAX_DEPTH` levels take at least
`2 * MAX_DEPTH + 2` bytes, so a batch whose longest payload is shorter is
not looked at; a longer payload is first bounded by its count of `[` and `{`
bytes (two C-speed scans), and only one with more than `MAX_DEPTH` of them is
measured exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from driftwarden.monitor.ingest.lines import LineBlock

MAX_DEPTH = 256
"""Far beyond any prediction event (a few levels), far below the recursion limit."""

SHORTEST_TOO_DEEP = 2 * MAX_DEPTH + 2
"""No payload shorter than this can nest deeper than `MAX_DEPTH`."""

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = (ord("["), ord("{")), (ord("]"), ord("}"))


def nesting_depth(payload: bytes) -> int:
    """The deepest nesting of arrays and objects in `payload`, outside strings.

    Defined for any bytes, JSON or not: a quote not escaped by an odd run of
    backslashes opens or closes a string; brackets inside strings do not count.
    Linear in the payload's length, vectorised (no Python loop per byte).
    """
    raw = np.frombuffer(payload, dtype=np.uint8)
    n = len(raw)
    if not n:
        return 0
    index = np.arange(n)
    # The run of backslashes just before each byte: odd means the byte is escaped.
    not_backslash = np.where(raw != _BACKSLASH, index, -1)
    last_plain = np.maximum.accumulate(not_backslash)
    run_before = np.empty(n, dtype=np.int64)
    run_before[0] = 0
    run_before[1:] = index[:-1] - last_plain[:-1]
    quotes = (raw == _QUOTE) & (run_before % 2 == 0)
    inside = np.cumsum(quotes) % 2 == 1  # a string's opening quote up to before its closing one
    step = np.zeros(n, dtype=np.int64)
    for opener in _OPENERS:
        step[raw == opener] = 1
    for closer in _CLOSERS:
        step[raw == closer] = -1
    step[inside] = 0
    return max(0, int(np.cumsum(step).max()))


def too_deep(payload: bytes) -> bool:
    """True when `payload` nests deeper than `MAX_DEPTH` (see the module docstring)."""
    if len(payload) < SHORTEST_TOO_DEEP:
        return False
    if payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH:
        return False
    return nesting_depth(payload) > MAX_DEPTH


def too_deep_positions(payloads: Sequence[bytes], longest: int) -> list[int]:
    """Positions of the payloads nested deeper than `MAX_DEPTH`; `longest` is the
    batch's longest payload in bytes (the common batch returns at once)."""
    if longest < SHORTEST_TOO_DEEP:
        return []
    if not isinstance(payloads, LineBlock):
        return [i for i, payload in enumerate(payloads) if too_deep(payload)]
    # Counted in the block's buffer: no line is copied unless it has many brackets.
    data, starts, ends = payloads.spans()
    found = []
    for i in np.flatnonzero(ends - starts >= SHORTEST_TOO_DEEP).tolist():
        start, end = int(starts[i]), int(ends[i])
        if data.count(b"[", start, end) + data.count(b"{", start, end) <= MAX_DEPTH:
            continue
        if nesting_depth(bytes(data[start:end])) > MAX_DEPTH:
            found.append(i)
    return found
