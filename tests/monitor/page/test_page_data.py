"""A report reshaped for its page: one series per column, the same numbers as the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftwarden.monitor.page.data import PageData
from tests.support.generated_report import generated_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = generated_report(tmp_path_factory.mktemp("r") / "report.json", windows=30, drift_at=20)
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_each_column_series_has_one_value_per_window_and_counts_in_window_order(
    report: dict[str, Any],
) -> None:
    data = PageData(report).extend(report["windows"]).to_dict()
    (model,) = data["models"]
    n = len(report["windows"])
    assert len(model["windows"]["tier"]) == n
    assert len(model["columns"]) == 20
    for column in model["columns"]:
        slots = len(column["labels"])
        assert len(column["tier"]) == len(column["effect_values"]) == n
        assert len(column["counts"]) == n * slots
        for i, window in enumerate(report["windows"]):
            record = next(c for c in window["columns"] if c["column"] == column["name"])
            assert column["counts"][i * slots : (i + 1) * slots] == record["histogram"]["counts"]


def test_window_prose_is_kept_only_for_windows_that_left_tier_none(
    report: dict[str, Any],
) -> None:
    data = PageData(report).extend(report["windows"]).to_dict()
    kept = {int(k) for k in data["models"][0]["prose"]}
    expected = {i for i, w in enumerate(report["windows"]) if w["tier"] != "none"}
    assert kept == expected
    assert expected, "the generated drift must reach a tier"


def test_performance_is_passed_through_when_windows_carry_it(report: dict[str, Any]) -> None:
    """Issue 14 adds `windows[].performance`; the page draws it when present."""
    windows = [
        {**w, "performance": {"realised": {"auc": 0.8}, "estimated": {}, "tier": "none"}}
        for w in report["windows"]
    ]
    with_it = PageData(report).extend(windows).to_dict()["models"][0]["performance"]
    without = PageData(report).extend(report["windows"]).to_dict()["models"][0]["performance"]
    assert with_it is not None
    assert with_it[0]["realised"] == {"auc": 0.8}
    assert without is None


def test_statistics_are_rounded_to_four_significant_digits(report: dict[str, Any]) -> None:
    data = PageData(report).extend(report["windows"]).to_dict()
    for column in data["models"][0]["columns"]:
        for value in column["effect_values"]:
            assert value is None or value == float(f"{value:.4g}")


def test_a_report_file_and_the_replay_stream_give_the_same_page_data(
    tmp_path: Path, report: dict[str, Any]
) -> None:
    """Column order must not depend on whether keys were sorted by the JSON writer."""
    reversed_columns = {m: dict(reversed(c.items())) for m, c in report["histograms"].items()}
    shuffled = {**report, "histograms": reversed_columns}
    a = PageData(report).extend(report["windows"]).to_dict()
    b = PageData(shuffled).extend(report["windows"]).to_dict()
    assert a == b


def test_the_p_value_falls_back_to_the_raw_test_when_no_adjusted_one_exists(
    report: dict[str, Any],
) -> None:
    window = json.loads(json.dumps(report["windows"][0]))
    for column in window["columns"]:
        stats = column["statistics"]
        stats["drift_p_value_adjusted"] = None
        stats["ks_p_value"] = None
        stats["chi_square_p_value"] = 0.0123
    data = PageData(report).extend([window]).to_dict()
    assert {c["p_values"][0] for c in data["models"][0]["columns"]} == {0.0123}
