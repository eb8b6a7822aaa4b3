"""Hypothesis strategies for what a broken or hostile producer sends.

Events shaped enough like ours to reach every rule (model id, timestamp,
request id, features, prediction), with values from the whole JSON grammar and
beyond it: deep nesting, numbers past float range, NaN and Infinity literals,
every timestamp form, lone surrogate escapes, other encodings and damaged
bytes; and plain arbitrary bytes.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

TIMESTAMP_FORMS: tuple[str, ...] = (
    '"2026-01-05T00:00:00Z"',
    '"2026-01-05T00:00:00"',
    '"2026-01-05T00:00:00+02:00"',
    '"2026-01-05t00:00:00z"',
    '"2026-01-05 00:00:00Z"',
    '"2026-01-05T00:00:00.123456Z"',
    '"2026-01-05"',
    '"9999-12-31T23:59:59Z"',
    '"9999-12-31T23:59:59-01:00"',
    '"0001-01-01T00:00:00+01:00"',
    '"2100-01-01T00:00:00Z"',
    '"yesterday"',
    '""',
    "0",
    "1",
    "1767571200",
    "1767571200.5",
    "1767571200000",
    "-1",
    "1e11",
    "1e15",
    "1e21",
    "1e300",
    "-1e21",
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "1e400",
    "1e-400",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "null",
    "[]",
    "{}",
)

NUMBER_LITERALS: tuple[str, ...] = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "1e308",
    "-0.0",
    "1" + "0" * 400,
    "4.9e-324",
)


def deep(levels: int) -> str:
    """`levels` nested arrays and objects, alternating."""
    return (
        "".join("[" if i % 2 else '{"k":' for i in range(levels))
        + "1"
        + "".join("]" if i % 2 else "}" for i in reversed(range(levels)))
    )


_plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)

_plain_text = _plain.map(json.dumps)
_odd = st.one_of(
    st.sampled_from(NUMBER_LITERALS),
    st.sampled_from(TIMESTAMP_FORMS),
    st.integers(min_value=250, max_value=1200).map(deep),
    st.sampled_from(['"\\ud800"', '"\\udc80x"', '"\\ud83d\\ude00"', '"caf\\u00e9"', '"\\u0000"']),
)
json_value: st.SearchStrategy[str] = st.one_of(
    *[_plain_text] * 6, st.floats(allow_nan=False, allow_infinity=False).map(json.dumps), _odd
)
"""Raw JSON text of one value (some of it valid only to Python's lenient parser)."""


def _object(fields: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"


@st.composite
def event_text(draw: st.DrawFn) -> str:
    """An event-like JSON object whose every part may be wrong."""
    fields: dict[str, str] = {}
    if draw(st.integers(0, 9)):
        wrong = st.sampled_from(['"other"', '""', "42"]) | json_value
        fields["model_id"] = draw(st.just('"m"') if draw(st.integers(0, 4)) else wrong)
    if draw(st.integers(0, 3)):
        fields["timestamp"] = draw(st.sampled_from(TIMESTAMP_FORMS) | json_value)
    if draw(st.booleans()):
        fields["request_id"] = draw(st.sampled_from(['"r-1"', '"r-2"', "7"]) | json_value)
    if draw(st.integers(0, 3)):
        features = {
            name: draw(json_value)
            for name in draw(st.lists(st.sampled_from(["x", "c", "zz"]), unique=True))
        }
        fields["features"] = draw(st.just(_object(features)) | json_value)
    if draw(st.booleans()):
        prediction = {
            name: draw(json_value)
            for name in draw(st.lists(st.sampled_from(["score", "label"]), unique=True))
        }
        fields["prediction"] = draw(st.just(_object(prediction)) | json_value)
    if draw(st.booleans()):
        fields["extra"] = draw(json_value)
    return _object(fields)


@st.composite
def encoded(draw: st.DrawFn, text: str) -> bytes:
    """`text` as UTF-8 mostly; else another encoding, a byte order mark, or damaged."""
    how = draw(st.integers(0, 14))
    if how <= 9:
        return text.encode("utf-8", "surrogatepass")
    if how == 10:
        return text.encode(
            draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])), "surrogatepass"
        )
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    position = draw(st.integers(0, len(data)))
    if how == 11:
        data[position:position] = draw(st.binary(min_size=1, max_size=3))
    elif how == 12:
        del data[position:]
    else:
        data[position:position] = b"\xff" if how == 13 else b"\xed\xa0\x80"
    return bytes(data)


payload: st.SearchStrategy[bytes] = st.one_of(
    event_text().flatmap(encoded),
    event_text().flatmap(encoded),
    st.binary(max_size=200),
)

payloads: st.SearchStrategy[list[bytes]] = st.lists(payload, min_size=1, max_size=12)
