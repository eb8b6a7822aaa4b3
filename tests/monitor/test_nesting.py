"""The nesting bound: exact, the same for every form of a batch, and free for short events."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.nesting import (
    MAX_DEPTH,
    SHORTEST_TOO_DEEP,
    nesting_depth,
    too_deep,
    too_deep_positions,
)
from tests.monitor.hostile import deep


def reference_depth(payload: bytes) -> int:
    """Byte by byte, the obvious way: a quote after an even run of backslashes toggles
    being inside a string; brackets outside strings move the depth."""
    depth = best = 0
    inside = False
    backslashes = 0
    for char in payload.decode("latin-1"):
        if char == '"' and backslashes % 2 == 0:
            inside = not inside
        elif not inside and char in "[{":
            depth += 1
        elif not inside and char in "]}":
            depth -= 1
        best = max(best, depth)
        backslashes = backslashes + 1 if char == "\\" else 0
    return best


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), children, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(json_values)
def test_depth_of_json_matches_a_byte_by_byte_count(value: object) -> None:
    """Brackets and escaped quotes inside strings do not count."""
    payload = json.dumps(value).encode()
    assert nesting_depth(payload) == reference_depth(payload)


@settings(max_examples=300)
@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a"]), max_size=64))
def test_depth_of_any_bytes_is_defined_and_matches_the_reference(parts: list[bytes]) -> None:
    payload = b"".join(parts)
    assert nesting_depth(payload) == reference_depth(payload)


@pytest.mark.parametrize(
    ("levels", "rejected"), [(1, False), (MAX_DEPTH, False), (MAX_DEPTH + 1, True), (1000, True)]
)
def test_an_event_is_too_deep_exactly_beyond_max_depth(levels: int, rejected: bool) -> None:
    payload = b'{"model_id": "m", "x": ' + deep(levels - 1).encode() + b"}"
    assert nesting_depth(payload) == levels
    assert too_deep(payload) is rejected


def test_brackets_inside_strings_never_make_an_event_too_deep() -> None:
    payload = json.dumps({"model_id": "m", "note": "[{" * 2000}).encode()
    assert not too_deep(payload)


def test_a_batch_of_short_events_is_not_looked_at() -> None:
    """The common batch: no payload can hold MAX_DEPTH levels in under 2 * MAX_DEPTH bytes."""
    short = [b"[" * (SHORTEST_TOO_DEEP - 1)]
    assert too_deep_positions(short, longest=SHORTEST_TOO_DEEP - 1) == []
    assert too_deep_positions([b"[" * SHORTEST_TOO_DEEP], longest=SHORTEST_TOO_DEEP) == [0]


def test_a_line_block_finds_the_same_events_as_a_list_of_lines() -> None:
    lines = [
        b'{"a": 1}',
        b'{"a": ' + deep(400).encode() + b"}",
        b'{"a": "' + b"[" * 600 + b'"}',
        b'{"a": ' + deep(MAX_DEPTH - 1).encode() + b"}",
        b'{"a": ' + deep(MAX_DEPTH).encode() + b"}",
    ]
    data = b"\n".join(lines) + b"\n"
    block = LineBlock.scan(data, 0, len(data) - 1, first=1, max_length=len(data))
    assert block is not None
    longest = max(map(len, lines))
    assert too_deep_positions(block, longest) == too_deep_positions(lines, longest) == [1, 4]
