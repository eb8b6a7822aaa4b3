"""Building a baseline from a column table: the statistics that get frozen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.artifact import (
    CategoricalColumn,
    NumericColumn,
    SourceFile,
    category_label,
    decode_artifact,
    encode_artifact,
)
from driftwarden.baselines.binning import bin_counts
from driftwarden.baselines.build import (
    QUANTILES,
    build_baseline,
    build_categorical_column,
    build_numeric_column,
    category_counts,
    format_created_at,
    resolve_created_at,
)
from driftwarden.baselines.errors import BaselineError, TrainingDataError
from driftwarden.baselines.schema import ColumnSpec, Schema
from examples.synthetic import CATEGORICAL_FEATURES, NUMERIC_FEATURES, training_table

CREATED = "2026-01-01T00:00:00Z"


def _build(table: dict[str, Any], schema: Schema | None = None, **kwargs: Any) -> Any:
    arrays = {name: np.asarray(values) for name, values in table.items()}
    options: dict[str, Any] = {"version": 1, "created_at": CREATED, "driftwarden_version": "9.9"}
    options.update(kwargs)
    return build_baseline("credit-risk", arrays, schema or Schema(), **options)


def test_numeric_statistics_match_numpy_on_the_present_values() -> None:
    rng = np.random.default_rng(3)
    x = rng.lognormal(size=2_000)
    with_gaps = x.copy()
    with_gaps[::50] = np.nan
    present = with_gaps[~np.isnan(with_gaps)]
    col = build_numeric_column("amount", "feature", with_gaps)
    assert col.n == present.size
    assert col.missing == 40
    assert col.minimum == present.min()
    assert col.maximum == present.max()
    assert col.mean == pytest.approx(present.mean(), rel=1e-12)
    assert col.std == pytest.approx(present.std(ddof=0), rel=1e-12)
    assert list(col.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    for key, q in QUANTILES.items():
        assert col.quantiles[key] == pytest.approx(np.quantile(present, q))
    assert col.counts.sum() == col.n
    assert col.counts.tolist() == bin_counts(present, col.edges).tolist()


def test_none_in_an_object_column_is_missing_and_numeric_text_is_a_number() -> None:
    col = build_numeric_column("x", "feature", np.array([1, None, "2.5", 4.0], dtype=object))
    assert (col.n, col.missing, col.minimum, col.maximum) == (3, 1, 1.0, 4.0)


@pytest.mark.parametrize("bad", ["abc", True, {"a": 1}])
def test_non_numbers_in_a_numeric_column_are_refused_naming_the_column(bad: object) -> None:
    values = np.array([1.0, bad, 3.0], dtype=object)
    with pytest.raises(TrainingDataError, match=r"column 'amount' is numeric.*kind: categorical"):
        build_numeric_column("amount", "feature", values)


def test_infinities_are_refused() -> None:
    with pytest.raises(TrainingDataError, match=r"'amount' has 1 infinite"):
        build_numeric_column("amount", "feature", np.array([1.0, np.inf]))


def test_a_numeric_column_with_no_values_is_refused() -> None:
    with pytest.raises(TrainingDataError, match="missing in every row"):
        build_numeric_column("amount", "feature", np.array([np.nan, np.nan]))


def test_categories_are_ranked_by_count_then_name() -> None:
    values = np.array(["b", "a", "c", "c", "d", "d", None, "e"], dtype=object)
    col = build_categorical_column("x", "feature", values, top_k=3)
    assert col.categories == ("c", "d", "a")
    assert col.counts.tolist() == [2, 2, 1, 2]  # top-3, then "other" (b and e)
    assert col.known_other == ("b", "e")
    assert (col.n, col.missing) == (7, 1)
    assert col.n_bins == 5


def test_known_other_is_dropped_above_the_limit() -> None:
    values = np.array([f"c{i}" for i in range(30)], dtype=object)
    col = build_categorical_column("x", "feature", values, top_k=5, max_known_categories=24)
    assert col.known_other is None
    kept = build_categorical_column("x", "feature", values, top_k=5, max_known_categories=25)
    assert kept.known_other is not None
    assert len(kept.known_other) == 25


def test_all_categories_in_the_top_k_leaves_an_empty_other_bucket() -> None:
    col = build_categorical_column("x", "feature", np.array(["a", "b"], dtype=object))
    assert col.counts.tolist() == [1, 1, 0]
    assert col.known_other == ()


@pytest.mark.parametrize(
    ("value", "label"),
    [(49, "49"), (49.0, "49"), (2.5, "2.5"), (True, "true"), (False, "false"), ("NA", "NA")],
)
def test_categories_are_spelled_as_json_spells_them(value: object, label: str) -> None:
    assert category_label(value) == label


def test_true_and_one_stay_separate_categories() -> None:
    counts, missing = category_counts("x", np.array([True, 1, 1.0, np.nan, None], dtype=object))
    assert counts == {"true": 1, "1": 2}
    assert missing == 2


def test_unhashable_values_in_a_categorical_column_are_refused() -> None:
    with pytest.raises(TrainingDataError, match=r"'x' holds dict values.*ignore"):
        category_counts("x", np.array(["a", {"b": 1}], dtype=object))


def test_numbers_forced_categorical_are_counted_as_strings() -> None:
    baseline = _build(
        {"branch": [7, 7, 12, 3]},
        Schema(columns={"branch": ColumnSpec(kind="categorical")}),
    )
    col = baseline.column("branch")
    assert isinstance(col, CategoricalColumn)
    assert col.categories == ("7", "12", "3")


def test_float_codes_with_missing_values_become_integer_categories() -> None:
    counts, missing = category_counts("x", np.array([1.0, 2.0, np.nan, 1.0]))
    assert counts == {"1": 2, "2": 1}
    assert missing == 1


def test_build_assembles_roles_provenance_and_sorted_labels() -> None:
    table = training_table(2_000, seed=5)
    sources = (SourceFile(name="train.csv", rows=2_000, sha256="ab" * 32),)
    baseline = _build(
        table,
        Schema(outputs=("score", "label")),
        sources=sources,
        labels={"z": "1", "a": "2"},
    )
    assert baseline.ref == "credit-risk@1"
    assert baseline.row_count == 2_000
    assert baseline.sources == sources
    assert list(baseline.labels) == ["a", "z"]
    assert [c.name for c in baseline.features] == [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]
    assert [c.name for c in baseline.outputs] == ["score", "label"]
    for name in NUMERIC_FEATURES:
        assert isinstance(baseline.column(name), NumericColumn)
    for name in CATEGORICAL_FEATURES:
        assert isinstance(baseline.column(name), CategoricalColumn)


def test_same_inputs_give_byte_identical_artifacts_that_round_trip() -> None:
    table = training_table(3_000, seed=6)
    schema = Schema(outputs=("score", "label"))
    first = encode_artifact(_build(table, schema))
    second = encode_artifact(_build(table, schema))
    assert first == second
    decoded = decode_artifact(first, source="memory")
    assert encode_artifact(decoded) == first


def test_driftwarden_version_defaults_to_the_installed_package() -> None:
    from importlib.metadata import version

    baseline = build_baseline("m", {"x": np.arange(3.0)}, Schema(), version=1, created_at=CREATED)
    assert baseline.driftwarden_version == version("driftwarden")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"version": 0}, "version must be 1 or more"),
        ({"created_at": "2026-01-01 00:00"}, "RFC 3339"),
        ({"bins": 0}, "bins"),
    ],
)
def test_invalid_build_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        _build({"x": [1.0, 2.0]}, **kwargs)


def test_invalid_model_ids_are_refused() -> None:
    with pytest.raises(BaselineError, match="cannot name a baseline"):
        build_baseline("../etc", {"x": np.arange(3.0)}, Schema(), version=1, created_at=CREATED)


def test_uneven_columns_and_empty_tables_are_refused() -> None:
    with pytest.raises(TrainingDataError, match="'y' has 2 rows but the others have 3"):
        _build({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]})
    with pytest.raises(TrainingDataError, match="no rows"):
        _build({"x": np.array([], dtype=float)})


def test_created_at_prefers_the_explicit_value_then_source_date_epoch_then_the_clock() -> None:
    def clock() -> datetime:
        return datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)

    assert resolve_created_at(explicit="2026-01-02T03:04:05+01:00", clock=clock) == (
        "2026-01-02T02:04:05Z"
    )
    assert resolve_created_at(source_date_epoch="1767225600", clock=clock) == CREATED
    assert resolve_created_at(clock=clock) == "2026-03-04T05:06:07Z"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"explicit": "yesterday"}, "not an RFC 3339 time"),
        ({"explicit": "2026-01-01T00:00:00"}, "no timezone"),
        ({"source_date_epoch": "soon"}, "SOURCE_DATE_EPOCH"),
    ],
)
def test_bad_build_times_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        resolve_created_at(**kwargs)


def test_format_created_at_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        format_created_at(datetime(2026, 1, 1))


@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 3)),
        min_size=1,
        max_size=60,
    ),
    top_k=st.integers(1, 6),
)
@settings(max_examples=100, deadline=None)
def test_categorical_counts_partition_the_present_values(values: list[object], top_k: int) -> None:
    col = build_categorical_column("x", "feature", np.array(values, dtype=object), top_k=top_k)
    present = [v for v in values if v is not None]
    assert col.missing == len(values) - len(present)
    assert col.counts.sum() == col.n == len(present)
    assert len(col.categories) <= top_k
    ranked = [(-int(c), name) for name, c in zip(col.categories, col.counts, strict=False)]
    assert ranked == sorted(ranked)
    labels = {category_label(v) for v in present}
    assert set(col.categories) | set(col.known_other or ()) == labels
