"""The first events say when a baseline's roles do not match them, and how to fix it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.cli import main
from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.event_survey import EventSurvey, output_like
from driftwarden.monitor.ingest.layout import ModelLayout
from examples.synthetic import write_training_csv
from tests.monitor.factories import event, make_baseline


def features_only(baseline: Baseline) -> Baseline:
    """The trap: the training table's score and label described as features."""
    return dataclasses.replace(
        baseline, columns=tuple(dataclasses.replace(c, role="feature") for c in baseline.columns)
    )


def survey(baseline: Baseline, **fields: object) -> EventSurvey:
    layouts = {baseline.model_id: ModelLayout.from_baseline(baseline)}
    return EventSurvey(layouts, EventFields(**fields))  # type: ignore[arg-type]


def test_output_like_names_are_the_usual_output_columns_and_not_features() -> None:
    names = ["amount", "credit_score", "score", "Label", "y_pred", "churn_proba", "country"]
    assert output_like(names) == ["score", "Label", "y_pred", "churn_proba"]


def test_prediction_keys_that_are_baseline_features_are_reported_once_with_the_fix() -> None:
    check = survey(features_only(make_baseline()))
    (found,) = check.observe([event(1), event(2)])
    assert check.observe([event(3)]) == []
    assert check.misplaced == [found]
    assert (found.model_id, found.section, found.columns) == ("m", "prediction", ("label", "score"))
    assert found.message().endswith("rebuild the baseline with --outputs label,score")


def test_a_baseline_with_its_outputs_sees_nothing_wrong() -> None:
    check = survey(make_baseline())
    assert check.observe([event(i) for i in range(50)]) == []
    assert check.misplaced == []


def test_outputs_sent_as_features_are_reported_too() -> None:
    check = survey(make_baseline())
    payload = json.dumps(
        {"model_id": "m", "timestamp": 1, "features": {"x": 1, "c": "a", "score": 0.4}}
    ).encode()
    (found,) = check.observe([payload])
    assert (found.section, found.columns, found.as_outputs) == ("features", ("score",), False)


def test_dotted_paths_and_a_default_model_are_followed() -> None:
    check = survey(
        features_only(make_baseline()),
        model_id=None,
        default_model="m",
        features="in.f",
        prediction="out.p",
    )
    payload = json.dumps({"in": {"f": {"x": 1}}, "out": {"p": {"score": 0.5}}}).encode()
    (found,) = check.observe([payload])
    assert (found.section, found.columns) == ("out.p", ("score",))


def test_it_looks_at_a_bounded_sample_then_never_again() -> None:
    check = survey(make_baseline())
    check.observe([b"not json", b"[]", *(event(i, model="other") for i in range(5))])
    assert check.unknown_models == ["other"]
    check.observe([event(i) for i in range(1000)])
    assert check.done
    assert check.observe([event(1, model="late-comer")]) == []
    assert check.unknown_models == ["other"]


# --- at build time --------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_training_csv(tmp_path_factory.mktemp("data") / "train.csv", 1_000, seed=11)


def build(store: Path, data: Path, *extra: str) -> int:
    return main(
        [
            *("baseline", "build", "--model", "credit-risk", "--data", str(data)),
            *("--output", str(store), "--created-at", "2026-01-01T00:00:00Z", *extra),
        ]
    )


def test_building_without_outputs_warns_about_output_like_columns(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build(tmp_path, train_csv) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 'score', 'label' look like model outputs")
    assert err.rstrip().endswith("rebuild with --outputs score,label")
    assert build(tmp_path, train_csv, "--outputs", "score,label") == 0
    assert capsys.readouterr().err == ""


def test_an_unknown_outputs_name_is_reported_as_the_option_the_user_passed(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build(tmp_path, train_csv, "--outputs", "score,lable") == 2
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error: --outputs names 'lable' but the training data")
    assert "schema" not in err
    assert err.rstrip().endswith("fix the name in --outputs")
