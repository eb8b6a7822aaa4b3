"""The report's chart data: bins once per column, a window's counts in the same slots."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from driftwarden.monitor.config import ModelPolicy
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.verdicts.charts import NEW_LABEL, OTHER_LABEL, baseline_histograms, shares
from driftwarden.monitor.verdicts.evaluation import ModelEvaluator
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.windows.window import WindowState
from tests.monitor.factories import make_baseline, settings_with


def _engine() -> Engine:
    return Engine([make_baseline()], settings_with(), wall_clock=None)


def test_every_column_has_one_label_and_one_baseline_share_per_count_slot() -> None:
    engine = _engine()
    histograms = baseline_histograms(engine.layouts, engine.policies)
    layout = engine.layouts["m"]
    assert set(histograms) == {"m"}
    for slot in layout.columns:
        entry = histograms["m"][slot.name]
        assert len(entry["labels"]) == slot.n_bins
        assert entry["baseline_counts"] == slot.reference.tolist()
        assert len(entry["baseline_shares"]) == slot.n_bins
        assert abs(sum(entry["baseline_shares"]) - 1.0) < 1e-5


def test_numeric_labels_name_the_out_of_range_slots_and_categorical_the_other_and_new() -> None:
    entry = baseline_histograms(_engine().layouts, _engine().policies)["m"]
    assert entry["x"]["labels"][0].startswith("< ")
    assert entry["x"]["labels"][-1].startswith("> ")
    assert entry["x"]["edges"] is not None
    assert entry["c"]["labels"][-2:] == [OTHER_LABEL, NEW_LABEL]
    assert entry["c"]["edges"] is None


def test_thresholds_follow_the_policy_the_window_was_judged_by() -> None:
    policy = ModelPolicy(thresholds={"psi": {"info": 0.2, "warning": 0.3, "critical": 0.4}})
    engine = _engine()
    entry = baseline_histograms(engine.layouts, {"m": policy})["m"]["x"]
    assert entry["effects"] == ["psi"]
    assert entry["effect_thresholds"]["psi"] == {"info": 0.2, "warning": 0.3, "critical": 0.4}
    assert entry["alpha"] == policy.significance.alpha


def test_a_window_record_carries_its_counts_in_the_baseline_slots() -> None:
    engine = _engine()
    layout = engine.layouts["m"]
    state = WindowState.empty(layout, key=0)
    rng = np.random.default_rng(3)
    state.bins[:] = rng.integers(0, 50, layout.total_bins)
    state.events = 1_000
    for slot in layout.columns:
        state.counted[slot.index] = int(state.bins[slot.offset : slot.stop].sum())
    verdict = ModelEvaluator(layout, engine.policies["m"]).evaluate(
        state, window_index=0, start=0.0, end=60.0
    )
    record = window_record(verdict)
    for slot, column in zip(layout.columns, record["columns"], strict=True):
        assert column["histogram"]["counts"] == state.bins[slot.offset : slot.stop].tolist()
        if slot.kind == "categorical":
            assert column["histogram"]["shares"] == shares(column["histogram"]["counts"])
        else:
            assert "shares" not in column["histogram"]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40))
def test_shares_sum_to_one_or_are_all_zero(counts: list[int]) -> None:
    result = shares(counts)
    assert len(result) == len(counts)
    assert all(0.0 <= s <= 1.0 for s in result)
    assert abs(sum(result) - (1.0 if sum(counts) else 0.0)) < 1e-4
