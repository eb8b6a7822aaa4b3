"""Calibration: no false warnings on calm data; real drift flagged on the right column and tier.

The numbers behind these assertions are tabled in docs/calibration.md
(`uv run python -m bench.calibration`).
"""

from __future__ import annotations

import pytest

from bench.calibration import SCENARIOS, make_baseline, no_drift, run_scenario
from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.verdicts.tier import Tier
from examples import synthetic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return make_baseline()


def test_a_thousand_calm_windows_give_no_warning_and_no_critical(baseline: Baseline) -> None:
    result = no_drift(baseline, windows=1000)
    assert result.columns >= 10
    assert result.windows * result.columns >= 10_000
    assert result.tiers["warning"] == 0, result.findings
    assert result.tiers["critical"] == 0, result.findings


MEAN_SHIFTS = [s for s in SCENARIOS if s.name.startswith("mean shift")]
DATA_CHANGES = [s for s in SCENARIOS if not s.name.startswith("mean shift")]


@pytest.mark.parametrize("scenario", MEAN_SHIFTS, ids=lambda s: s.target)
def test_half_sigma_mean_shift_reaches_warning_within_two_windows(
    baseline: Baseline, scenario: object
) -> None:
    result = run_scenario(baseline, scenario)  # type: ignore[arg-type]
    assert result.reached is not None, result.target_tiers
    assert result.reached <= 2, result.target_tiers
    assert result.target_tiers[1] >= Tier.WARNING


@pytest.mark.parametrize("scenario", DATA_CHANGES, ids=lambda s: s.target)
def test_data_changes_are_flagged_on_the_right_column_at_the_right_tier(
    baseline: Baseline, scenario: object
) -> None:
    result = run_scenario(baseline, scenario)  # type: ignore[arg-type]
    expected = result.scenario.expected
    assert expected is not None
    assert result.reached is not None, result.target_tiers
    assert max(result.target_tiers) == expected, result.target_tiers
    features_flagged = {c for c in result.others_flagged if c in synthetic.FEATURES}
    assert features_flagged == set(), result.others_flagged
    if result.scenario.target in synthetic.FEATURES:
        # Feature-level data problems that do not change the score leave the outputs alone.
        assert result.others_flagged == {}
