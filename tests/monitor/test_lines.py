"""Reading replayed files in blocks gives exactly the lines, and the results, of line by line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.replay.runner import _blocks
from driftwarden.monitor.verdicts.record import window_record
from tests.monitor.factories import (
    RecordingSink,
    event,
    make_baseline,
    settings_with,
    uniform_events,
)

LIMIT = 120  # max_event_bytes for the reading tests: lines of every length class fit
HEAD = 4096

# Every kind of line the reader must tell apart, regular ones first.
REGULAR = [
    event(1.0),
    b'{"model_id": "m", "timestamp": 2, "features": {"x": 3.5}}',
    b"{}",
    b'{"a": 1} {"b": 2}',  # two values on one line: regular, and invalid JSON
]
IRREGULAR = [
    b"",
    b" ",
    b"\t  \r",
    event(3.0) + b"\r",  # CRLF
    b"  " + event(4.0),
    b"[1, 2]",
    b"{broken",
    b"\x00\xff binary",
    b"{" + b"x" * (LIMIT - 1) + b"}",  # LIMIT + 1 bytes: over the limit, under the cap
    b"{" + b"y" * LIMIT + b"}",  # the cap: over-long
    b"z" * (3 * LIMIT),
]


def reference(data: bytes, limit: int) -> list[tuple[int, bytes, bool]]:
    """(line number, line or its head, whole), read the obvious way."""
    cap = limit + 2
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [
        (number, line, True) if len(line) < cap else (number, line[: min(cap, HEAD)], False)
        for number, line in enumerate(lines, start=1)
    ]


def flattened(data: bytes, limit: int, read_size: int) -> Iterator[tuple[int, bytes, bool, bool]]:
    """`_blocks` as (line number, line, whole, came in a LineBlock), consumed as it reads."""
    for item in _blocks(io.BufferedReader(io.BytesIO(data)), limit, read_size=read_size):
        if isinstance(item, LineBlock):
            for i, line in enumerate(item):
                yield item.first + i, line, True, True
        else:
            first, lines, whole = item
            for i, line in enumerate(lines):
                yield first + i, line, whole, False


line_kinds = st.lists(st.sampled_from(REGULAR + IRREGULAR), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    lines=line_kinds,
    final_newline=st.booleans(),
    read_size=st.integers(min_value=1, max_value=400),
)
def test_blocks_hold_exactly_the_lines_of_a_line_by_line_read(
    lines: list[bytes], final_newline: bool, read_size: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    got = list(flattened(data, LIMIT, read_size))
    assert [g[:3] for g in got] == reference(data, LIMIT)


def test_a_file_of_regular_lines_comes_in_line_blocks_only() -> None:
    data = b"\n".join([event(float(i)) for i in range(500)]) + b"\n"
    got = list(flattened(data, 1 << 20, 4096))
    assert len(got) == 500
    assert all(in_block for *_, in_block in got)


def test_an_irregular_line_sends_only_its_own_chunk_the_slow_way() -> None:
    lines = [event(float(i)) for i in range(300)]
    lines[150] = lines[150] + b"\r"
    data = b"\n".join(lines) + b"\n"
    got = list(flattened(data, 1 << 20, len(data) // 10))
    slow = [number for number, _, _, in_block in got if not in_block]
    assert 151 in slow
    assert len(slow) < 60


# --- the engine takes a block as it takes its lines -------------------------------------

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 20}}

BRACED = [
    b'{"model_id": "m", "timestamp": 7, "features": {"x": NaN}}',  # lenient JSON only
    b'{"model_id": "m", "timestamp": 8, "features": {"x": "12"}}',  # a type error
    b'{"model_id": "other", "timestamp": 9}',  # unknown model
    b'{"model_id": "m", "timestamp": "soon"}',  # bad timestamp
    b'{"model_id": "m", "timestamp": 10} {"model_id": "m", "timestamp": 11}',
    b'{"model_id": "m", "timestamp": 1, "features": {"x": 1, "new": 2}}',  # late, unknown key
    b"{}",
]


def run(batches: list[Any]) -> tuple[bytes, list[dict[str, Any]], list[Any]]:
    sink = RecordingSink()
    engine = Engine([make_baseline()], settings_with(policy=POLICY), reject_sink=sink)
    verdicts = []
    for batch in batches:
        verdicts += engine.process(batch, locate=lambda i: {"i": i})
    verdicts += engine.close_all()
    return engine.snapshot(), [window_record(v) for v in verdicts], sink.items


@settings(max_examples=60, deadline=None)
@given(
    inserts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.sampled_from(BRACED)), max_size=8
    ),
    cut=st.integers(min_value=1, max_value=700),
)
def test_an_engine_given_line_blocks_ends_as_one_given_the_lines(
    inserts: list[tuple[int, bytes]], cut: int
) -> None:
    payloads = uniform_events(np.random.default_rng(5), 400, t0=0.0)
    for position, line in inserts:
        payloads.insert(position, line)
    data = b"\n".join(payloads) + b"\n"
    block = LineBlock.scan(data, 0, len(data) - 1, first=1, max_length=1 << 20)
    assert block is not None
    as_blocks = [block[i : i + cut] for i in range(0, len(block), cut)]
    as_lines = [payloads[i : i + cut] for i in range(0, len(payloads), cut)]
    assert run(as_blocks) == run(as_lines)


# --- payloads that arrive one object each (Kafka records) -------------------------------

NEWLINED = [
    b'{"model_id": "m",\n"timestamp": 12, "features": {"x": 1}}',  # one valid event, two lines
    b'{"model_id": "m", "timestamp": 13}\n{"model_id": "m", "timestamp": 14}',  # two in one
    b"\n",
    b'{"model_id": "m", "timestamp": 15}\n',
]


def test_regular_payloads_join_into_one_block_of_exactly_those_lines() -> None:
    payloads = [*uniform_events(np.random.default_rng(2), 50, t0=0.0), b"{}"]
    block = LineBlock.joined(payloads)
    assert block is not None
    assert list(block) == payloads
    assert block.detached() is block  # its own immutable bytes: nothing to copy


def test_a_payload_that_is_not_one_regular_line_keeps_the_batch_unjoined() -> None:
    good = uniform_events(np.random.default_rng(3), 20, t0=0.0)
    assert LineBlock.joined([]) is None
    # A long braced line is regular here: events.max_event_bytes is the decoder's rule.
    odd_ones = [p for p in IRREGULAR if not (p.startswith(b"{") and p.endswith(b"}"))]
    assert len(odd_ones) == len(IRREGULAR) - 2
    for odd in [*odd_ones, *NEWLINED]:
        assert LineBlock.joined([*good[:7], odd, *good[7:]]) is None, odd


@settings(max_examples=60, deadline=None)
@given(
    inserts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=300), st.sampled_from(BRACED + NEWLINED)),
        max_size=6,
    ),
    cut=st.integers(min_value=1, max_value=500),
)
def test_an_engine_given_joined_payloads_ends_as_one_given_them_one_by_one(
    inserts: list[tuple[int, bytes]], cut: int
) -> None:
    payloads = uniform_events(np.random.default_rng(6), 300, t0=0.0)
    for position, line in inserts:
        payloads.insert(position, line)
    batches = [payloads[i : i + cut] for i in range(0, len(payloads), cut)]
    joined = [LineBlock.joined(batch) or batch for batch in batches]
    assert run(joined) == run(batches)
