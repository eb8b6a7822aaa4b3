"""Decoding events: every payload is a counted column value or a rejection with a reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.batch import DecodedBatch
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.ingest.layout import MISSING_CODE, TYPE_ERROR_CODE, ModelLayout
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.rejection import RejectReason
from driftwarden.monitor.ingest.timestamps import parse_timestamps
from tests.monitor import hostile
from tests.monitor.factories import event, make_baseline


def decoder(baseline: Baseline, **fields: object) -> EventDecoder:
    return EventDecoder(
        {baseline.model_id: ModelLayout.from_baseline(baseline)}, EventFields(**fields)
    )  # type: ignore[arg-type]


def test_default_shape_decodes_into_columns(baseline: Baseline) -> None:
    batch = decoder(baseline).decode([event("2026-01-05T00:00:00Z", x=2.5, c="b", score=0.5)])
    assert batch.rejected == []
    (model,) = batch.models
    x, c, score, label = model.columns
    assert x.values.tolist() == [2.5]
    assert c.values.tolist() == [1]  # index of "b"
    assert score.values.tolist() == [0.5]
    assert label.values.tolist() == [0]
    assert model.timestamps.tolist() == [1767571200.0]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ('"3.5"', "string"),
        ("true", "bool"),
        ("NaN", "NaN literal"),
        ("Infinity", "infinity"),
        ("1e400", "overflows to infinity"),
        ('{"v": 1}', "object"),
        ("[1]", "list"),
        ("1" + "0" * 400, "integer beyond float range"),
    ],
)
def test_numeric_feature_of_the_wrong_type_is_a_type_error_not_a_lost_event(
    baseline: Baseline, raw: str, why: str
) -> None:
    payload = (
        '{"model_id": "m", "timestamp": 0, "features": {"x": ' + raw + ', "c": "a"}}'
    ).encode()
    batch = decoder(baseline).decode([payload, event(1, x=1.0)])
    assert batch.rejected == [], why
    x = batch.models[0].columns[0]
    assert x.type_error.tolist() == [True, False], why
    assert x.missing.tolist() == [False, False], why
    assert np.isnan(x.values[0])
    assert x.values[1] == 1.0


def test_absent_and_null_features_are_missing(baseline: Baseline) -> None:
    absent = b'{"model_id": "m", "timestamp": 0, "features": {"c": "a"}}'
    null = b'{"model_id": "m", "timestamp": 0, "features": {"x": null, "c": null}}'
    batch = decoder(baseline).decode([absent, null])
    x, c, score, _ = batch.models[0].columns
    assert x.missing.tolist() == [True, True]
    assert c.values.tolist() == [0, MISSING_CODE]
    assert score.missing.tolist() == [True, True]  # no prediction at all
    assert batch.models[0].unknown.tolist() == [0, 0]


def test_unknown_features_are_counted_not_errors(baseline: Baseline) -> None:
    batch = decoder(baseline).decode([event(0, extra={"new_feature": 1, "other": "z"}), event(1)])
    assert batch.rejected == []
    assert batch.models[0].unknown.tolist() == [2, 0]


def test_categorical_values_map_to_top_k_other_new_or_type_error(baseline: Baseline) -> None:
    values = ["c", "rare1", "never-seen", 7, True, 1.5, {"k": 1}, [1]]
    batch = decoder(baseline).decode([event(i, c=v) for i, v in enumerate(values)])
    codes = batch.models[0].columns[1].values.tolist()
    assert codes == [2, 3, 4, 4, 4, 4, TYPE_ERROR_CODE, TYPE_ERROR_CODE]


def test_categorical_numbers_are_spelled_as_the_baseline_builder_spells_them() -> None:
    from driftwarden.baselines.artifact import CategoricalColumn, category_label

    assert [category_label(v) for v in (49, 49.0, True, 1.5)] == ["49", "49", "true", "1.5"]
    column = CategoricalColumn(
        name="c",
        role="feature",
        categories=("49", "true", "1.5"),
        counts=np.array([1, 1, 1, 0]),
        known_other=(),
        n=3,
        missing=0,
    )
    layout = ModelLayout.from_baseline(
        Baseline(
            model_id="m",
            version=1,
            created_at="2026-01-01T00:00:00Z",
            driftwarden_version="t",
            row_count=3,
            columns=(column,),
        )
    )
    dec = EventDecoder({"m": layout}, EventFields())
    batch = dec.decode([event(i, c=v) for i, v in enumerate([49, 49.0, True, 1.5, float("nan")])])
    assert batch.models[0].columns[0].values.tolist() == [0, 0, 1, 2, TYPE_ERROR_CODE]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"model_id": "m", "timestamp": 0, "features": {', RejectReason.INVALID_JSON),
        (b"\xff\xfe\x00garbage", RejectReason.INVALID_JSON),
        (b"[1, 2, 3]", RejectReason.NOT_AN_OBJECT),
        (b'"just a string"', RejectReason.NOT_AN_OBJECT),
        (b'{"timestamp": 0, "features": {}}', RejectReason.MISSING_MODEL_ID),
        (b'{"model_id": 42, "timestamp": 0}', RejectReason.MISSING_MODEL_ID),
        (b'{"model_id": "fraud", "timestamp": 0}', RejectReason.UNKNOWN_MODEL),
        (b'{"model_id": "m", "timestamp": "yesterday"}', RejectReason.BAD_TIMESTAMP),
        (b'{"model_id": "m"}', RejectReason.BAD_TIMESTAMP),
        (b'{"model_id": "m", "timestamp": true}', RejectReason.BAD_TIMESTAMP),
        (b'{"model_id": "m", "timestamp": 0, "features": [1, 2]}', RejectReason.BAD_FEATURES),
        (b'{"model_id": "m", "timestamp": 0, "prediction": [1]}', RejectReason.BAD_PREDICTION),
    ],
)
def test_bad_events_are_rejected_with_a_reason(
    baseline: Baseline, payload: bytes, reason: RejectReason
) -> None:
    batch = decoder(baseline).decode([event(5), payload, event(6)])
    assert [(r.index, r.reason) for r in batch.rejected] == [(1, reason)]
    assert batch.rejected[0].detail
    assert batch.models[0].index.tolist() == [0, 2]


def test_oversized_payload_is_rejected_before_decoding(baseline: Baseline) -> None:
    big = event(0, extra={"blob": "x" * 5000})
    batch = decoder(baseline, max_event_bytes=1000).decode([big])
    assert [r.reason for r in batch.rejected] == [RejectReason.TOO_LARGE]


def test_events_of_several_models_are_grouped_and_unknown_ones_rejected() -> None:
    a, b = make_baseline("a"), make_baseline("b")
    dec = EventDecoder({m.model_id: ModelLayout.from_baseline(m) for m in (a, b)}, EventFields())
    batch = dec.decode(
        [event(0, model="a"), event(1, model="b"), event(2, model="z"), event(3, model="a")]
    )
    assert {m.model_id: m.index.tolist() for m in batch.models} == {"a": [0, 3], "b": [1]}
    assert [(r.index, r.reason) for r in batch.rejected] == [(2, RejectReason.UNKNOWN_MODEL)]


def test_field_mapping_follows_dotted_paths_and_odd_keys(baseline: Baseline) -> None:
    payload = json.dumps(
        {
            "meta": {"model-name": "m", "ts": 1_767_571_200_000},
            "inputs": {"x": 3.0, "c": "a"},
            "out": {"score": 1.0},
        }
    ).encode()
    dec = decoder(
        baseline,
        model_id="meta.model-name",
        timestamp="meta.ts",
        features="inputs",
        prediction="out",
    )
    batch = dec.decode([payload])
    assert batch.rejected == []
    assert batch.models[0].columns[0].values.tolist() == [3.0]
    assert batch.models[0].timestamps.tolist() == [1_767_571_200.0]  # milliseconds detected


def test_default_model_serves_topics_without_a_model_id(baseline: Baseline) -> None:
    dec = decoder(baseline, model_id=None, default_model="m")
    batch = dec.decode([b'{"timestamp": 0, "features": {"x": 1}}'])
    assert [m.model_id for m in batch.models] == ["m"]


def test_timestamps_accept_rfc3339_and_epoch_forms() -> None:
    values: list[object] = [
        "2026-01-05T00:00:00Z",
        "2026-01-05T02:00:00+02:00",
        "2026-01-05T00:00:00.5",
        1767571200,
        1767571200500,
        1767571200.25,
    ]
    parsed, errors = parse_timestamps(values)
    assert errors == []
    assert parsed.tolist() == [
        1767571200.0,
        1767571200.0,
        1767571200.5,
        1767571200.0,
        1767571200.5,
        1767571200.25,
    ]


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        -1,
        1e15,
        1e21,
        1e300,
        -1e21,
        10**400,
        float("nan"),
        float("inf"),
    ],
)
def test_timestamps_outside_1970_to_3000_are_bad_not_a_crash(value: object) -> None:
    """Every accepted time has a window whose start and end a report can spell."""
    for values in ([value], [value, 0], [value, "2026-01-05T00:00:00Z"]):
        _, errors = parse_timestamps(values)
        assert [j for j, _ in errors] == [0]
        assert "outside" in errors[0][1] or "finite" in errors[0][1] or "parse" in errors[0][1]


def test_the_plausible_range_is_1970_inclusive_to_3000_exclusive() -> None:
    parsed, errors = parse_timestamps([0, 32_503_679_999, "2999-12-31T23:59:59.999Z"])
    assert errors == []
    assert parsed.tolist() == [0.0, 32_503_679_999.0, 32_503_679_999.999]
    assert parse_timestamps([32_503_680_000_000])[1] != []  # the same instant in milliseconds


def test_source_timestamps_out_of_range_are_bad_too(baseline: Baseline) -> None:
    """A Kafka record timestamp of -1 (none set) cannot stand in for the event's time."""
    fields = {"timestamp": None}
    batch = decoder(baseline, **fields).decode(
        [b'{"model_id": "m"}', b'{"model_id": "m"}'], source_timestamps=[-0.001, 5.0]
    )
    assert [(r.index, r.reason) for r in batch.rejected] == [(0, RejectReason.BAD_TIMESTAMP)]
    assert batch.models[0].timestamps.tolist() == [5.0]


@pytest.mark.parametrize(
    "payload",
    [
        '{"model_id": "m", "timestamp": 0}'.encode("utf-16"),
        '{"model_id": "m", "timestamp": 0}'.encode("utf-16-le"),
        '{"model_id": "m", "timestamp": 0}'.encode("utf-32"),
        '{"model_id": "m", "timestamp": 0}'.encode("utf-8-sig"),
        b'{"model_id": "m\xff", "timestamp": 0}',
        b'{"model_id": "m", "timestamp": 0, "features": {"c": "\xed\xa0\x80"}}',
        b'{"model_id": "m", "timestamp": 0, "features": {"c": "\\ud800"}}',
        b'{"model_id": "m", "timestamp": NaN, "features": {"c": "\\udc80"}}',
    ],
    ids=[
        "utf-16",
        "utf-16-le",
        "utf-32",
        "bom",
        "bad-byte",
        "surrogate-bytes",
        "escape",
        "lenient",
    ],
)
def test_json_that_is_not_utf8_is_invalid_json(baseline: Baseline, payload: bytes) -> None:
    """RFC 8259: JSON exchanged between systems is UTF-8, without a byte order mark."""
    batch = decoder(baseline).decode([payload, event(1)])
    assert [(r.index, r.reason) for r in batch.rejected] == [(0, RejectReason.INVALID_JSON)]
    assert batch.models[0].index.tolist() == [1]


def test_request_ids_that_are_not_strings_or_numbers_are_no_id(baseline: Baseline) -> None:
    ids = ['"r"', "7", "1.5", "true", "[1]", '{"a": 1}', "1" + "0" * 30, "null"]
    payloads = [
        ('{"model_id": "m", "timestamp": 0, "request_id": ' + rid + "}").encode() for rid in ids
    ]
    for batch in (payloads, payloads[:4]):  # the general path, and the typed one
        decoded = decoder(baseline, dedup_window=60).decode(batch)
        assert decoded.rejected == []
        assert (
            decoded.models[0].request_ids
            == ["r", 7, 1.5, True, None, None, None, None][: len(batch)]
        )


def test_fast_and_slow_timestamp_paths_agree() -> None:
    fast, _ = parse_timestamps(["2026-01-05T00:00:01Z", "2026-01-05T00:00:02.125Z"])
    slow, _ = parse_timestamps(["2026-01-05T00:00:01Z", "2026-01-05T00:00:02.125+00:00"])
    assert fast.tolist() == slow.tolist()


# --- the typed fast path is an optimisation, never a second set of rules ---------------


class GeneralOnly(EventDecoder):
    """The same decoder with the typed fast path switched off."""

    def _decode_typed(self, payloads: Any, source_timestamps: Any, longest: int) -> None:
        return None


def same_decoding(a: DecodedBatch, b: DecodedBatch) -> bool:
    if a.rejected != b.rejected or len(a.models) != len(b.models):
        return False
    for x, y in zip(a.models, b.models, strict=True):
        if (x.model_id, x.request_ids) != (y.model_id, y.request_ids):
            return False
        arrays = [(x.index, y.index), (x.timestamps, y.timestamps), (x.unknown, y.unknown)]
        for cx, cy in zip(x.columns, y.columns, strict=True):
            arrays += [(cx.values, cy.values), (cx.missing, cy.missing)]
            arrays += [(cx.type_error, cy.type_error)]
        if not all(np.array_equal(p, q, equal_nan=True) for p, q in arrays):
            return False
    return True


CATEGORIES = ["a", "b", "c", "rare1", "new-1", "new-2", None, 7]
SCORES = [0.5, 3, None, "x"]
LABELS = ["approve", "decline", "maybe", None]


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(CATEGORIES),
                st.sampled_from(SCORES),
                st.sampled_from(LABELS),
                st.sampled_from(["m", "m", "m", "other"]),
            ),
            min_size=1,
            max_size=40,
        ),
        min_size=1,
        max_size=12,
    ),
    as_block=st.booleans(),
)
def test_the_typed_fast_path_decodes_exactly_as_the_general_path(
    batches: list[list[tuple[object, object, object, str]]], as_block: bool
) -> None:
    """Batch after batch, so that new categories the fast path admits as it goes
    (and the slices it sends to its open envelope meanwhile) are covered too."""
    layouts = {"m": ModelLayout.from_baseline(make_baseline())}
    fast, general = EventDecoder(layouts, EventFields()), GeneralOnly(layouts, EventFields())
    t = 0
    for rows in batches:
        payloads = []
        for c, score, label, model in rows:
            payloads.append(event(t, c=c, score=score, label=label, model=model))
            t += 1
        given_ = payloads
        if as_block:
            data = b"\n".join(payloads) + b"\n"
            block = LineBlock.scan(data, 0, len(data) - 1, first=1, max_length=1 << 20)
            assert block is not None
            given_ = block
        assert same_decoding(fast.decode(given_), general.decode(payloads))


@settings(max_examples=200, deadline=None)
@given(batch=hostile.payloads, as_block=st.booleans())
def test_the_typed_fast_path_follows_the_general_rules_on_hostile_input(
    batch: list[bytes], as_block: bool
) -> None:
    """Whatever the fast path lets through, the general path decodes the same way."""
    layouts = {"m": ModelLayout.from_baseline(make_baseline())}
    fields = EventFields(dedup_window=60)
    fast, general = EventDecoder(layouts, fields), GeneralOnly(layouts, fields)
    given_: Sequence[bytes] = batch
    if as_block:
        data = b"\n".join(batch) + b"\n"
        block = LineBlock.scan(data, 0, len(data) - 1, first=1, max_length=1 << 20)
        if block is not None and len(block) == len(batch):
            given_ = block
    assert same_decoding(fast.decode(given_), general.decode(batch))


def test_a_categorical_column_of_free_text_admits_a_bounded_number_of_new_names() -> None:
    """New categories join the fast path's closed envelope, but never without bound."""
    layouts = {"m": ModelLayout.from_baseline(make_baseline())}
    fast, general = EventDecoder(layouts, EventFields()), GeneralOnly(layouts, EventFields())
    for start in range(0, 4000, 200):
        payloads = [event(i, c=f"free text {start + i % 5}") for i in range(start, start + 200)]
        assert same_decoding(fast.decode(payloads), general.decode(payloads))
    typed = fast._typed["m"]
    assert typed._learned == 60  # five new names a batch, admitted while under 64 in all
    assert len(typed._admitted["c"]) <= len(layouts["m"].columns[1].lookup) + 64
