"""Change detectors over per-window series.

Measured with the default parameters on unit-variance Gaussian noise (seeds
0-199, 1000 points each, 200,000 points in all):

- Page-Hinkley (threshold 10, delta 0.5): 2 false alarms in 200,000 points;
  0 on seed 0, which the test below pins.
- ADWIN (delta 0.002, clock 1): 0 false alarms.
- For comparison, Page-Hinkley with threshold 5 and delta 0.05: 7157 alarms,
  about 36 per 1000 points, far too many for a unit-noise series.

A 2-sigma step after 200 stationary points (seeds 100-104) was detected after
5-9 points by Page-Hinkley and 13-17 by ADWIN; a 1-sigma step after 13-81 and
39-81 points.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.change import (
    AdwinParams,
    ChangeParams,
    PageHinkleyParams,
    SeriesChangeDetector,
    detect_changes,
)
from driftwarden.detectors.errors import DetectorInputError

DEFAULTS: list[ChangeParams] = [PageHinkleyParams(), AdwinParams()]
IDS = ["page_hinkley", "adwin"]


def noise(seed: int, size: int) -> list[float]:
    values: list[float] = np.random.default_rng(seed).standard_normal(size).tolist()
    return values


def step_series(
    seed: int, *, before: int = 200, after: int = 200, height: float = 2.0
) -> list[float]:
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.standard_normal(before), height + rng.standard_normal(after)])
    series: list[float] = values.tolist()
    return series


@pytest.mark.parametrize("params", DEFAULTS, ids=IDS)
@pytest.mark.parametrize("seed", range(100, 105))
def test_a_two_sigma_step_is_detected_within_25_points_and_not_before(
    params: ChangeParams, seed: int
) -> None:
    changes = detect_changes(step_series(seed), params)
    assert changes, "the step was never detected"
    assert 200 <= changes[0] < 225


@pytest.mark.parametrize("params", DEFAULTS, ids=IDS)
def test_stationary_noise_gives_no_false_alarm_over_1000_points(params: ChangeParams) -> None:
    assert detect_changes(noise(0, 1000), params) == []


@pytest.mark.parametrize("params", DEFAULTS, ids=IDS)
def test_update_reports_the_same_points_as_detect_changes(params: ChangeParams) -> None:
    series = step_series(7)
    detector = SeriesChangeDetector(params)
    live = [i for i, x in enumerate(series) if detector.update(x)]
    assert live == detect_changes(series, params)
    assert live


@pytest.mark.parametrize("params", DEFAULTS, ids=IDS)
@pytest.mark.parametrize("split", [0, 50, 210, 399])
def test_replaying_a_history_that_fits_rebuilds_the_live_state(
    params: ChangeParams, split: int
) -> None:
    """Callers persist the series; a restart replays it and carries on as if never stopped."""
    series = step_series(3, after=400)
    restored = SeriesChangeDetector.from_history(series[:split], params, history=500)
    resumed = [split + i for i, x in enumerate(series[split:]) if restored.update(x)]
    assert resumed == [i for i in detect_changes(series, params) if i >= split]


@pytest.mark.parametrize("params", DEFAULTS, ids=IDS)
def test_replay_is_bounded_to_the_last_history_points(params: ChangeParams) -> None:
    series = step_series(5)
    restored = SeriesChangeDetector.from_history(series, params, history=50)
    fresh = SeriesChangeDetector.from_history(series[-50:], params, history=500)
    follow_up = noise(11, 100)
    assert [restored.update(x) for x in follow_up] == [fresh.update(x) for x in follow_up]
    assert restored.params == params


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.25, 4.0, 1024.0]), st.integers(-8, 8))
def test_standardising_with_center_and_scale_makes_detection_unit_free(
    seed: int, scale: float, center: int
) -> None:
    """Thresholds are in noise units: the same series in other units detects identically."""
    series = step_series(seed, before=60, after=60)
    scaled = [center + scale * x for x in series]
    for params in DEFAULTS:
        expected = detect_changes(series, params)
        assert detect_changes(scaled, params, center=center, scale=scale) == expected


@pytest.mark.parametrize(
    ("center", "scale"), [(0.0, 0.0), (0.0, -1.0), (float("nan"), 1.0), (0.0, float("inf"))]
)
def test_invalid_standardisation_is_rejected(center: float, scale: float) -> None:
    with pytest.raises(DetectorInputError, match="scale"):
        SeriesChangeDetector(PageHinkleyParams(), center=center, scale=scale)


def test_non_finite_points_are_rejected_with_a_fix() -> None:
    detector = SeriesChangeDetector(AdwinParams())
    with pytest.raises(DetectorInputError, match="skip windows without a value"):
        detector.update(float("nan"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: AdwinParams(delta=0.0),
        lambda: AdwinParams(clock=0),
        lambda: PageHinkleyParams(threshold=0.0),
        lambda: PageHinkleyParams(alpha=0.0),
        lambda: PageHinkleyParams(min_instances=0),
        lambda: PageHinkleyParams(mode="sideways"),  # type: ignore[arg-type]
    ],
)
def test_invalid_parameters_are_rejected(make: object) -> None:
    with pytest.raises(DetectorInputError):
        make()  # type: ignore[operator]


def test_history_must_be_positive() -> None:
    with pytest.raises(DetectorInputError, match="history"):
        SeriesChangeDetector.from_history([1.0], AdwinParams(), history=0)
