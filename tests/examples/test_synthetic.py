"""The seeded credit-risk generator behind the example, calibration tests and benchmarks."""

from __future__ import annotations

import gzip
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftwarden.baselines.readers import read_training_file
from examples.synthetic import (
    CATEGORICAL_FEATURES,
    COLUMNS,
    FEATURES,
    INTEGER_COLUMNS,
    NUMERIC_FEATURES,
    Drift,
    event_table,
    events,
    rfc3339_millis,
    training_table,
    write_events_jsonl_gz,
    write_training_csv,
)

START = 1_767_571_200.0  # 2026-01-05T00:00:00Z


def _same(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(a.tolist() == b.tolist())


def test_training_table_has_the_documented_columns_and_is_deterministic() -> None:
    first = training_table(5_000, seed=1)
    assert list(first) == list(COLUMNS)
    assert len(FEATURES) >= 12
    again = training_table(5_000, seed=1)
    assert all(_same(first[name], again[name]) for name in COLUMNS)
    other = training_table(5_000, seed=2)
    assert not _same(first["amount"], other["amount"])


def test_distributions_have_the_shapes_the_binning_is_meant_for() -> None:
    table = training_table(20_000, seed=3)
    age = table["age"]
    assert age.min() >= 18
    assert age.max() <= 90
    assert np.all(age == np.rint(age))
    assert set(np.unique(table["num_dependents"]).tolist()) <= set(range(7))
    assert (table["prior_defaults"] == 0).mean() == pytest.approx(0.85, abs=0.02)
    assert (table["balance"] == 0).mean() == pytest.approx(0.30, abs=0.02)
    assert table["amount"].mean() > np.median(table["amount"])  # right-skewed
    assert len(set(table["country"].tolist())) == 40
    assert set(table["label"].tolist()) == {"approve", "review", "decline"}
    for name, rate in {"income": 0.01, "device_os": 0.03, "employment_type": 0.01}.items():
        values = table[name]
        missing = np.isnan(values) if values.dtype.kind == "f" else values == None  # noqa: E711
        assert missing.mean() == pytest.approx(rate, abs=0.006)


def test_labels_follow_the_score_thresholds() -> None:
    table = training_table(2_000, seed=4)
    expected = np.where(
        table["score"] >= 0.6, "decline", np.where(table["score"] >= 0.35, "review", "approve")
    )
    assert table["label"].tolist() == expected.tolist()


def test_training_csv_reads_back_with_the_same_values(tmp_path: Path) -> None:
    path = write_training_csv(tmp_path / "train.csv", 500, seed=5)
    data = read_training_file(path)
    table = training_table(500, seed=5)
    assert list(data.columns) == list(COLUMNS)
    for name in COLUMNS:
        assert _same(data.columns[name], table[name]), name
    assert "\n0," not in path.read_text().split("\n", 2)[1]  # integers are written as integers


def test_events_have_the_documented_shape() -> None:
    stream = list(events(2_000, seed=6, start=START, rate_per_second=5.0))
    first = stream[0]
    assert first["model_id"] == "credit-risk"
    assert first["timestamp"] == "2026-01-05T00:00:00.000Z"
    assert first["request_id"] == "r-1"
    assert set(first["prediction"]) == {"score", "label"}
    assert set(first["features"]) == set(FEATURES)
    assert all(isinstance(first["features"][n], int) for n in INTEGER_COLUMNS if n != "income")
    stamps = [datetime.fromisoformat(e["timestamp"]).timestamp() for e in stream]
    assert stamps == sorted(stamps)
    assert (stamps[-1] - stamps[0]) / len(stamps) == pytest.approx(0.2, rel=0.1)
    missing_numeric = [e for e in stream if "income" not in e["features"]]
    assert missing_numeric  # about 1% of 2,000
    assert any(e["features"]["device_os"] is None for e in stream)


def test_an_undrifted_prefix_is_identical_to_the_undrifted_stream() -> None:
    drift = Drift(mean_shift={"amount": 1.0}, new_category={"country": ("XX", 0.5)})
    plain = event_table(1_000, seed=7, start=START, rate_per_second=5.0)
    drifted = event_table(
        1_000, seed=7, start=START, rate_per_second=5.0, drift=drift, drift_start_index=600
    )
    assert drifted.drifted.tolist() == [False] * 600 + [True] * 400
    for name in COLUMNS:
        assert _same(plain.columns[name][:600], drifted.columns[name][:600]), name
    assert np.array_equal(plain.times, drifted.times)


def test_mean_shift_moves_the_column_by_the_requested_sigmas() -> None:
    plain = event_table(20_000, seed=8, start=START, rate_per_second=5.0)
    shifted = event_table(
        20_000, seed=8, start=START, rate_per_second=5.0, drift=Drift(mean_shift={"age": 1.0})
    )
    sigma = plain.columns["age"].std()
    delta = shifted.columns["age"].mean() - plain.columns["age"].mean()
    assert delta == pytest.approx(sigma, rel=0.05)
    assert np.all(shifted.columns["age"] == np.rint(shifted.columns["age"]))


@pytest.mark.parametrize("name", ["num_dependents", "prior_defaults"])
def test_a_sub_unit_shift_of_an_integer_column_still_moves_its_mean(name: str) -> None:
    plain = event_table(40_000, seed=13, start=START, rate_per_second=5.0)
    shifted = event_table(
        40_000, seed=13, start=START, rate_per_second=5.0, drift=Drift(mean_shift={name: 0.5})
    )
    sigma = plain.columns[name].std()
    assert 0.5 * sigma < 1.0
    delta = shifted.columns[name].mean() - plain.columns[name].mean()
    assert delta == pytest.approx(0.5 * sigma, rel=0.05)
    assert np.all(shifted.columns[name] == np.rint(shifted.columns[name]))


def test_new_category_missing_increase_and_decline_doubling() -> None:
    drift = Drift(
        new_category={"country": ("XX", 0.08)},
        missing_increase={"utilization": 0.2},
        decline_factor=2.0,
    )
    plain = event_table(40_000, seed=9, start=START, rate_per_second=5.0)
    table = event_table(
        40_000, seed=9, start=START, rate_per_second=5.0, drift=drift, drift_start_time=START + 4000
    )
    after = table.drifted
    assert 0.4 < after.mean() < 0.6
    assert (table.columns["country"][after] == "XX").mean() == pytest.approx(0.08, abs=0.01)
    assert not (table.columns["country"][~after] == "XX").any()
    assert np.isnan(table.columns["utilization"][after]).mean() == pytest.approx(0.2, abs=0.01)
    base = (plain.columns["label"][after] == "decline").mean()
    assert (table.columns["label"][after] == "decline").mean() == pytest.approx(2 * base, rel=0.1)
    decline = table.columns["label"] == "decline"
    assert (table.columns["score"][decline] >= 0.6).all()


def test_drift_scenarios_validate_their_columns() -> None:
    with pytest.raises(ValueError, match="mean_shift"):
        Drift(mean_shift={"country": 1.0})
    with pytest.raises(ValueError, match="new_category"):
        Drift(new_category={"amount": ("XX", 0.1)})
    with pytest.raises(ValueError, match="missing_increase"):
        Drift(missing_increase={"amount": 1.5})


def test_event_logs_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    def write(name: str) -> bytes:
        rows = events(300, seed=10, start=START, rate_per_second=5.0)
        return write_events_jsonl_gz(tmp_path / name, rows).read_bytes()

    first = write("a.jsonl.gz")
    assert first == write("b.jsonl.gz")
    lines = gzip.decompress(first).decode().splitlines()
    assert len(lines) == 300
    decoded = json.loads(lines[0])
    assert decoded == next(iter(events(1, seed=10, start=START, rate_per_second=5.0)))


def test_rfc3339_millis_formats_utc_with_milliseconds() -> None:
    assert rfc3339_millis(np.array([START, START + 1.2345])).tolist() == [
        "2026-01-05T00:00:00.000Z",
        "2026-01-05T00:00:01.234Z",
    ]


def test_numeric_and_categorical_feature_lists_partition_the_features() -> None:
    assert set(NUMERIC_FEATURES) | set(CATEGORICAL_FEATURES) == set(FEATURES)
    assert not set(NUMERIC_FEATURES) & set(CATEGORICAL_FEATURES)
    assert math.isclose(len(FEATURES), 12)


def test_the_first_rows_do_not_depend_on_how_many_are_generated() -> None:
    """Benchmarks and tests can ask for different sizes and still share a prefix."""
    small = training_table(10, seed=12)
    large = training_table(20_000, seed=12)
    assert all(_same(small[name], large[name][:10]) for name in COLUMNS)
    few = list(events(5, seed=12, start=START, rate_per_second=5.0))
    many = events(10_000, seed=12, start=START, rate_per_second=5.0)
    assert few == [next(many) for _ in range(5)]
