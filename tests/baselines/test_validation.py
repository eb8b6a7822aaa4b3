"""Every load checks the artifact body's whole shape, so a bad baseline fails before any data.

Each case edits a valid body the way a hand edit or a broken tool would,
recomputes the plain sha256 (so only the shape check can catch it) and checks
the one-line message: the baseline, the column, the problem and the fix.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.artifact import FORMAT, baseline_to_body, content_hash, decode_artifact
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.errors import BaselineCorrupt, BaselineTooSmall
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.validation import MIN_TRAINING_ROWS, check_body

Body = dict[str, Any]


def _body(rows: int = MIN_TRAINING_ROWS) -> Body:
    rng = np.random.default_rng(7)
    table = {
        "amount": rng.normal(100.0, 15.0, rows),
        "country": np.array(rng.choice(["US", "GB", "DE"], rows), dtype=object),
    }
    baseline = build_baseline(
        "credit-risk",
        table,
        Schema(),
        version=3,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="test",
        allow_few_rows=True,
    )
    return baseline_to_body(baseline)


BODY = _body()


def _artifact(body: Body) -> bytes:
    """An artifact whose plain sha256 matches `body`, as an editor could recompute it."""
    document = {"format": FORMAT, "content_sha256": content_hash(body), "body": body}
    return json.dumps(document).encode()


def _column(body: Body, name: str) -> dict[str, Any]:
    return next(c for c in body["columns"] if c["name"] == name)


def _reverse_edges(b: Body) -> None:
    _column(b, "amount")["edges"].reverse()


def _equal_edges(b: Body) -> None:
    edges = _column(b, "amount")["edges"]
    edges[2] = edges[1]


def _empty_edges(b: Body) -> None:
    _column(b, "amount")["edges"] = []


def _short_counts(b: Body) -> None:
    _column(b, "amount")["counts"].pop()


def _counts_not_summing(b: Body) -> None:
    _column(b, "amount")["counts"][1] += 1


def _negative_count(b: Body) -> None:
    counts = _column(b, "amount")["counts"]
    counts[1], counts[2] = -1, counts[2] + counts[1] + 1


def _float_count(b: Body) -> None:
    _column(b, "amount")["counts"][1] += 0.5


def _string_edge(b: Body) -> None:
    _column(b, "amount")["edges"][0] = "0"


def _duplicate_column(b: Body) -> None:
    b["columns"].append(copy.deepcopy(_column(b, "amount")))


def _unknown_kind(b: Body) -> None:
    _column(b, "amount")["kind"] = "ordinal"


def _unknown_role(b: Body) -> None:
    _column(b, "country")["role"] = "label"


def _wrong_n(b: Body) -> None:
    _column(b, "country")["n"] -= 1


def _categorical_counts_short(b: Body) -> None:
    _column(b, "country")["counts"].pop()


def _duplicate_category(b: Body) -> None:
    cats = _column(b, "country")["categories"]
    cats[1] = cats[0]


def _negative_std(b: Body) -> None:
    _column(b, "amount")["std"] = -1.0


def _no_columns(b: Body) -> None:
    b["columns"] = []


def _zero_rows(b: Body) -> None:
    b["row_count"] = 0


CASES: list[tuple[Callable[[Body], None], str]] = [
    (_reverse_edges, "column 'amount': edges are not strictly increasing"),
    (_equal_edges, "column 'amount': edges are not strictly increasing (edges[1] = "),
    (_empty_edges, "column 'amount': 'edges' is empty"),
    (_short_counts, "column 'amount': 21 counts for 21 edges"),
    (_counts_not_summing, "column 'amount': the counts sum to 1001, not to n (1000)"),
    (_negative_count, "column 'amount': 'counts[1]' must be a whole number >= 0, found -1"),
    (_float_count, "column 'amount': 'counts[1]' must be a whole number >= 0"),
    (_string_edge, "column 'amount': 'edges[0]' must be a finite number, found '0'"),
    (_duplicate_column, "column 'amount': the column is described twice"),
    (_unknown_kind, "column 'amount': 'kind' must be one of numeric, categorical, found 'ordinal'"),
    (_unknown_role, "column 'country': 'role' must be one of feature, output, found 'label'"),
    (_wrong_n, "column 'country': n (999) + missing (0) is not the baseline's row_count (1000)"),
    (_categorical_counts_short, "column 'country': 3 counts for 3 categories"),
    (_duplicate_category, "column 'country': category "),
    (_negative_std, "column 'amount': 'std' is negative"),
    (_no_columns, "it describes no columns"),
    (_zero_rows, "'row_count' must be a whole number >= 1, found 0"),
]


@pytest.mark.parametrize(("edit", "problem"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_malformed_body_is_refused_at_load_with_one_line_naming_baseline_and_column(
    edit: Callable[[Body], None], problem: str
) -> None:
    body = copy.deepcopy(BODY)
    edit(body)
    with pytest.raises(BaselineCorrupt) as info:
        decode_artifact(_artifact(body), source="b.json")
    message = str(info.value)
    assert message.startswith("baseline 'credit-risk@3' (b.json)")
    assert problem in message
    assert message.endswith(
        "rebuild it with 'driftwarden baseline build' or restore the original file"
    )
    assert "\n" not in message


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused_as_invalid_json_not_a_traceback(constant: bytes) -> None:
    data = _artifact(BODY).replace(b'"edges": [', b'"edges": [' + constant + b", ", 1)
    with pytest.raises(BaselineCorrupt, match=r"not valid JSON \(ValueError: .* is not a JSON"):
        decode_artifact(data, source="b.json")


def test_deeply_nested_json_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(BaselineCorrupt, match="not valid JSON"):
        decode_artifact(b"[" * 100_000 + b"]" * 100_000, source="b.json")


def test_the_valid_body_passes() -> None:
    baseline = decode_artifact(_artifact(BODY), source="b.json")
    assert baseline.ref == "credit-risk@3"


def test_a_baseline_below_the_row_floor_is_refused_unless_its_build_opted_in() -> None:
    small = _body(rows=50)
    assert small["few_rows_accepted"] is True
    assert decode_artifact(_artifact(small), source="b.json").row_count == 50
    del small["few_rows_accepted"]
    with pytest.raises(BaselineTooSmall) as info:
        decode_artifact(_artifact(small), source="b.json")
    assert str(info.value) == (
        "baseline 'credit-risk@3' (b.json): built from 50 training rows, below the floor of "
        "1,000; its rates are too noisy to alert on; rebuild it from more data, or rebuild "
        "with 'driftwarden baseline build --allow-few-rows' to accept that"
    )


def test_the_opt_in_is_recorded_only_below_the_floor_so_older_artifacts_keep_their_hash() -> None:
    assert "few_rows_accepted" not in BODY


@settings(max_examples=60, deadline=None)
@given(
    column=st.sampled_from(["amount", "country"]),
    key=st.sampled_from(["counts", "n", "missing", "edges", "categories", "kind", "role"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(allow_nan=False),
        st.text(max_size=3),
        st.lists(st.integers(-2, 2), max_size=3),
    ),
)
def test_any_single_field_replaced_by_junk_is_a_corrupt_baseline_or_still_valid(
    column: str, key: str, value: object
) -> None:
    """Never a KeyError, TypeError or IndexError: the loader owns every failure."""
    body = copy.deepcopy(BODY)
    _column(body, column)[key] = value
    problem = None
    try:
        check_body(body, source="b.json")
    except BaselineCorrupt as exc:
        problem = str(exc)
    if problem is not None:
        assert problem.startswith(f"baseline 'credit-risk@3' (b.json) column '{column}': ")
