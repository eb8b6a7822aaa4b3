"""`driftwarden baseline build --target`: reference performance from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.cli import main
from tests.support.classifiers import LogisticWorld

CREATED = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(4)
    labels, predicted, scores = LogisticWorld().sample(rng, 2_000)
    path = tmp_path_factory.mktemp("data") / "train.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "score", "label", "defaulted"])
        for i in range(2_000):
            verdict = "bad" if predicted[i] else "good"
            outcome = "bad" if labels[i] else "good"
            writer.writerow([f"{rng.normal():.6f}", f"{scores[i]:.6f}", verdict, outcome])
    return path


def _build(store: Path, data: Path, *extra: str) -> int:
    command = ["baseline", "build", "--model", "credit-risk", "--data", str(data)]
    command += ["--output", str(store), "--outputs", "score,label", "--created-at", CREATED]
    return main([*command, *extra])


def test_build_with_target_records_and_shows_reference_performance(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _build(tmp_path, train_csv, "--target", "defaulted", "--positive-class", "bad")
    out = capsys.readouterr().out
    assert code == 0
    assert "performance: binary on target 'defaulted' (2,000 labelled rows): accuracy " in out
    baseline = load_baseline(tmp_path / "credit-risk")
    assert baseline.performance is not None
    assert baseline.performance.scores == {"bad": "score"}
    assert baseline.performance.prediction == "label"
    assert "defaulted" not in [c.name for c in baseline.columns]
    assert main(["baseline", "show", str(tmp_path / "credit-risk")]) == 0
    assert "performance: binary on target 'defaulted'" in capsys.readouterr().out


def test_performance_flags_without_target_are_refused_in_one_line(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _build(tmp_path, train_csv, "--score", "score") == 2
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error: --score describe the model's performance")
    assert err.count("\n") == 1


def test_a_malformed_multiclass_score_list_is_refused_with_an_example(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _build(tmp_path, train_csv, "--target", "defaulted", "--score", "a=,b=p") == 2
    assert "CLASS=COL for every class" in capsys.readouterr().err
