"""Window performance end to end: replay with outcomes, metrics equal scikit-learn's.

The stream (`performance_stream.py`) has outcomes minutes to a day late, out of
order, repeated, for unknown requests and past the horizon; every one must be
accounted for, and each window's realised metrics must be scikit-learn's on
exactly the rows that joined.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from driftwarden.monitor.cli import main
from driftwarden.monitor.replay.report import summary_text
from tests.monitor.performance_stream import Stream, build_baseline, replay_report


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_baseline(tmp_path_factory.mktemp("baseline"))


def _run(tmp_path: Path, baseline: Path, stream: Stream, seed: int) -> dict[str, Any]:
    predictions, outcomes = stream.write(tmp_path, np.random.default_rng(seed))
    return replay_report(tmp_path, baseline, predictions, outcomes)


def test_window_performance_equals_scikit_learn_on_the_rows_that_joined(
    tmp_path: Path, baseline: Path
) -> None:
    rng = np.random.default_rng(11)
    stream = Stream()
    for window in range(4):
        stream.add_window(rng, window, 1_500)
    report = _run(tmp_path, baseline, stream, seed=12)

    counts = report["outcomes"]["counts"]
    assert counts["reconciles"]
    assert counts["rejected"] == stream.expected_rejected
    assert counts["joined"] == sum(len(rows) for rows in stream.joined.values())
    windows = {w["window_index"]: w for w in report["windows"]}
    assert sorted(windows) == [0, 1, 2, 3]
    for key, rows in stream.joined.items():
        truth = np.asarray([r[0] for r in rows])
        guess = np.asarray([r[1] for r in rows])
        score = np.asarray([r[2] for r in rows])
        performance = windows[key]["performance"]
        realised = performance["realised"]
        assert realised["accuracy"] == accuracy_score(truth, guess)
        assert realised["precision"] == pytest.approx(precision_score(truth, guess), abs=1e-12)
        assert realised["recall"] == pytest.approx(recall_score(truth, guess), abs=1e-12)
        assert realised["f1"] == pytest.approx(f1_score(truth, guess), abs=1e-12)
        assert realised["roc_auc"] == pytest.approx(roc_auc_score(truth, score), abs=0.01)
        assert realised["brier"] == pytest.approx(brier_score_loss(truth, score), abs=1e-9)
        assert realised["log_loss"] == pytest.approx(log_loss(truth, score), abs=1e-9)
        labels = performance["labels"]
        assert labels["n_labelled"] == len(rows)
        assert labels["n_predictions"] == 1_500
        assert labels["label_coverage"] == pytest.approx(len(rows) / 1_500)
        assert labels["final"] == "horizon"  # coverage stays below min_coverage 0.99
        assert 60.0 <= labels["label_delay_p50"] <= 86400.0 * 1.3
        # The estimate at close sits beside the realised values, and agrees closely.
        assert performance["estimated"]["accuracy"] == pytest.approx(realised["accuracy"], abs=0.04)
        assert performance["tier"] == "none"
    schema = json.loads(Path("docs/replay-report.schema.json").read_text())
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


def test_a_drop_in_accuracy_is_a_performance_finding_that_raises_the_tier(
    tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Concept drift: the labels change, the scores do not; only outcomes show it."""
    rng = np.random.default_rng(21)
    stream = Stream()
    for window in range(2):
        stream.add_window(rng, window, 2_000, messy=False)
    for window in range(2, 5):
        stream.add_window(rng, window, 2_000, flip=0.15, messy=False)
    predictions, outcomes = stream.write(tmp_path, np.random.default_rng(22))
    report = replay_report(
        tmp_path, baseline, predictions, outcomes, extra_args=("--fail-on", "warning"), exit_code=1
    )
    assert report["summary"]["max_tier"] == "none"  # at close: the scores look the same
    summary = summary_text(report, dead_letter=None)
    assert "performance: 5 windows with final labels, 3 with a realised performance tier" in (
        summary
    )
    gate = capsys.readouterr().err
    assert "--fail-on warning: credit-risk window 3: realised performance reached critical" in gate

    windows = {w["window_index"]: w["performance"] for w in report["windows"]}
    for key in (0, 1):
        assert windows[key]["findings"] == []
        assert windows[key]["tier"] == "none"
    for key in (2, 3, 4):
        realised = [f for f in windows[key]["findings"] if f["source"] == "realised"]
        accuracy = next(f for f in realised if f["metric"] == "accuracy")
        assert accuracy["severity"] == "critical"
        assert accuracy["change"] < -0.05
        # The estimate cannot see concept drift: no estimated finding.
        assert not [f for f in windows[key]["findings"] if f["source"] == "estimated"]
        assert windows[key]["condition"] == "critical"
        assert "accuracy fell from" in windows[key]["what_happened"]
        assert "labelled predictions, label coverage 100%" in windows[key]["what_happened"]
        assert "estimated from scores at window close" in windows[key]["what_happened"]
    # Sustain (critical needs 2 windows by default) holds the first, then it is critical.
    assert windows[3]["tier"] == "critical"
    assert windows[4]["tier"] == "critical"
    finals = [w["performance"] for w in report["outcomes"]["windows"]]
    # Every outcome came within the horizon; the last window closed at the end of
    # the replay, when every prediction expires at once (so it is final by horizon).
    assert [p["labels"]["final"] for p in finals] == ["coverage"] * 4 + ["horizon"]
    assert all(p["labels"]["label_coverage"] == 1.0 for p in finals)
    # The replay's alerts: the realised drop is its own incident, as in the daemon.
    alerts = _alerts(report)
    assert alerts, "the realised drop must alert in replay"
    assert {a["labels"]["alertname"] for a in alerts} == {"DriftwardenModelPerformance"}
    firing = [a for a in alerts if a["status"] == "firing"]
    assert firing[-1]["tier"] == "critical"
    assert firing[-1]["title"].startswith(
        "[CRITICAL] credit-risk (replay): realised performance dropped on window "
    )
    assert any("accuracy fell from" in line for line in firing[-1]["what_happened"])


def test_a_window_final_by_horizon_with_few_labels_is_a_data_quality_finding(
    tmp_path: Path, baseline: Path
) -> None:
    rng = np.random.default_rng(41)
    stream = Stream()
    stream.add_window(rng, 0, 1_000, messy=False, labelled_share=0.2)
    stream.add_window(rng, 1, 1_000, messy=False, labelled_share=0.0)  # the feed stopped
    for window in range(2, 4):
        stream.add_window(rng, window, 1_000, messy=False)
    report = _run(tmp_path, baseline, stream, seed=42)
    windows = {w["window_index"]: w["performance"] for w in report["windows"]}
    assert windows[0]["coverage_low"]
    assert windows[0]["labels"]["final"] == "horizon"
    assert windows[0]["condition"] == "none"  # too few labels is not a performance drop
    assert (
        "label coverage 20% below outcomes.low_coverage 50% (200 of 1,000"
        in (windows[0]["what_happened"])
    )
    assert windows[1]["coverage_low"]
    assert windows[1]["labels"]["n_labelled"] == 0
    assert windows[1]["realised"] == {}
    assert windows[1]["coverage_tier"] == "warning"  # sustained over the two windows
    assert all(windows[k]["tier"] == "none" for k in windows)
    assert "label coverage 0% below outcomes.low_coverage 50%" in windows[1]["what_happened"]
    assert not any(windows[k]["coverage_low"] for k in (2, 3))
    # Its own alert, in its own words: never a "performance dropped" page.
    alerts = _alerts(report)
    assert {a["labels"]["alertname"] for a in alerts} == {"DriftwardenLabelCoverage"}
    firing = [a["title"] for a in alerts if a["status"] == "firing"]
    assert firing[0] == (  # sustain: warning needs two windows, info opens the incident
        "[INFO] credit-risk (replay): label coverage 20% below outcomes.low_coverage 50% "
        "on window 1970-01-01T00:00:00Z"
    )
    assert firing[-1] == (
        "[WARNING] credit-risk (replay): label coverage 0% below outcomes.low_coverage 50% "
        "on window 1970-01-01T01:00:00Z"
    )
    assert not any("performance dropped" in a["title"] for a in alerts)


def _alerts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every alert the replay's notifications carried, in order."""
    return [a for note in report["alerts"] for a in note.get("alerts", [])]


@pytest.mark.slow
def test_a_thousand_windows_without_drift_raise_no_performance_warning(
    tmp_path: Path, baseline: Path
) -> None:
    """1,000 windows of 300 predictions, every one labelled, drawn from the reference's
    own model: any performance warning here is a false alarm (the estimate's too)."""
    rng = np.random.default_rng(31)
    stream = Stream()
    for window in range(1_000):
        stream.add_window(rng, window, 300, messy=False)
    report = _run(tmp_path, baseline, stream, seed=32)
    severities = [f["severity"] for w in report["windows"] for f in w["performance"]["findings"]]
    assert "warning" not in severities
    assert "critical" not in severities
    assert {w["performance"]["tier"] for w in report["windows"]} <= {"none", "info"}
    assert len(report["windows"]) == 1_000
    finals = report["outcomes"]["windows"]
    assert len(finals) == 1_000
    assert all(w["performance"]["labels"]["label_coverage"] == 1.0 for w in finals)
    assert all(w["performance"]["realised"]["accuracy"] > 0 for w in finals)
    # Nor any alert of warning or above, realised performance and label coverage included.
    assert not [a for a in _alerts(report) if a["tier"] in {"warning", "critical"}]


def test_without_outcomes_each_window_still_has_its_estimate_in_the_report(
    tmp_path: Path, baseline: Path
) -> None:
    rng = np.random.default_rng(91)
    stream = Stream()
    for window in range(3):
        stream.add_window(rng, window, 1_000, messy=False)
    predictions, _ = stream.write(tmp_path, rng)
    report_path = tmp_path / "report.json"
    config = tmp_path / "config.yaml"
    config.write_text("policy:\n  window: {size: 1h, allowed_lateness: 0s}\n")
    command = ["replay", "--baseline", str(baseline), "--config", str(config)]
    assert main([*command, "--report", str(report_path), str(predictions)]) == 0
    report = json.loads(report_path.read_text())
    assert "outcomes" not in report
    assert len(report["windows"]) == 3
    for window in report["windows"]:
        performance = window["performance"]
        assert performance["kind"] == "estimated"
        assert performance["realised"] == {}
        assert performance["labels"] is None
        assert performance["estimate_reliable"]
        assert 0.7 < performance["estimated"]["accuracy"] < 0.82
    schema = json.loads(Path("docs/replay-report.schema.json").read_text())
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
