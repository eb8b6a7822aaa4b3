"""Build a baseline's performance section from training data with the true outcome.

Built when `driftwarden baseline build --target COL` names the training column
holding the true outcome. It records which of the baseline's *output* columns
(the keys of an event's `prediction` object) carry the model's predicted class
or value and its class probabilities, the reference metrics with their spread
(`detectors.performance.reference`), the reference's score histograms (its
window state) and the calibration map for the estimate before labels.

Columns, by the rules below (each can be named instead with a flag):

- task (`--task`): regression for a numeric target with fractional values or
  more than `MAX_CLASSES` distinct values, else binary (2 classes) or multiclass;
- score (`--score`): binary: the one numeric output whose values lie in [0, 1],
  the probability of the positive class; multiclass: `CLASS=COL` for every class;
- prediction (`--prediction`): classification: the one categorical output whose
  values are classes; when there is none, a binary model predicts the positive
  class at score >= `threshold` (0.5) and a multiclass one the most probable
  class; regression: the one numeric output;
- positive class (`--positive-class`): 1 or true when the classes are 0/1 or
  false/true; otherwise it must be named.

The target column is not described as a feature: live prediction events do not
carry it, so its drift would read as a column missing from every window.
Old baselines have no performance section and load as before.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import category_label
from driftwarden.baselines.errors import BaselineError, TrainingDataError
from driftwarden.baselines.performance import ReferencePerformance, Task
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import (
    ClassificationState,
    classification_reference,
    fit_calibration,
    regression_reference,
    uniform_edges,
)
from driftwarden.detectors.performance.classification import DEFAULT_SCORE_BINS

MAX_CLASSES = 50
"""More distinct integer target values than this reads as a regression target."""
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class PerformanceSpec:
    """What `--target` and its companion flags asked for; None means infer."""

    target: str
    task: Task | None = None
    prediction: str | None = None
    scores: Mapping[str, str] | Sequence[str] = field(default_factory=tuple)
    positive_class: str | None = None
    score_bins: int = DEFAULT_SCORE_BINS
    seed: int = 0


# --- building ---------------------------------------------------------------------------


def build_performance(
    table: Mapping[str, npt.NDArray[Any]],
    spec: PerformanceSpec,
    *,
    outputs: Collection[str],
    kinds: Mapping[str, str],
) -> ReferencePerformance:
    """Reference performance of the rows with a target, given the baseline's outputs.

    `outputs` are the names of the baseline's output columns and `kinds` their
    kinds (numeric or categorical), as the baseline resolved them.
    """
    if spec.target not in table:
        raise TrainingDataError(
            f"--target {spec.target!r}: the training data has no such column (it has "
            f"{', '.join(table) or 'none'}); fix the name"
        )
    if spec.target in outputs:
        raise BaselineError(
            f"--target {spec.target!r} is also a model output; the target is the true "
            f"outcome, not what the model predicted: name the outcome column"
        )
    raw_target = np.asarray(table[spec.target])
    task = spec.task or _infer_task(spec.target, raw_target)
    if task == "regression":
        return _regression(table, spec, raw_target, outputs=outputs, kinds=kinds)
    return _classification(table, spec, raw_target, task, outputs=outputs, kinds=kinds)


def _infer_task(name: str, values: npt.NDArray[Any]) -> Task:
    labels = _labels(name, values)
    present = [v for v in values.tolist() if v is not None]
    numeric = [v for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
    distinct = set(labels[labels != ""].tolist())
    if numeric and len(numeric) == len(present):
        finite = [float(v) for v in numeric if math.isfinite(float(v))]
        if any(not v.is_integer() for v in finite) or len(distinct) > MAX_CLASSES:
            return "regression"
    if len(distinct) < 2:
        raise TrainingDataError(
            f"target {name!r} has {len(distinct)} distinct value(s); a classification "
            f"baseline needs both outcomes in the reference data"
        )
    return "binary" if len(distinct) == 2 else "multiclass"


def _labels(name: str, values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Class labels as the baseline spells them; '' marks a missing value."""
    out = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append("")
            continue
        try:
            out.append(category_label(value))
        except TypeError:
            raise TrainingDataError(
                f"column {name!r} holds {type(value).__name__} values, which are not class "
                f"labels; convert them to strings or numbers"
            ) from None
    return np.asarray(out, dtype=str)


def _classification(
    table: Mapping[str, npt.NDArray[Any]],
    spec: PerformanceSpec,
    raw_target: npt.NDArray[Any],
    task: Task,
    *,
    outputs: Collection[str],
    kinds: Mapping[str, str],
) -> ReferencePerformance:
    target = _labels(spec.target, raw_target)
    prediction, predicted_labels = _predicted(table, spec, outputs=outputs, kinds=kinds)
    seen = set(target.tolist()) - {""}
    if predicted_labels is not None:
        seen |= set(predicted_labels.tolist()) - {""}
    classes = _order_classes(sorted(seen), task, spec)
    scores = _score_columns(table, spec, task, classes, outputs=outputs, kinds=kinds)
    if prediction is None and not scores:
        raise BaselineError(
            f"--target {spec.target!r}: no output column says what the model predicted; "
            f"name it with --prediction COL (the predicted class) or --score COL (probabilities)"
        )
    keep = target != ""
    if predicted_labels is not None:
        keep &= predicted_labels != ""
    rows = int(keep.sum())
    if rows == 0:
        raise TrainingDataError(f"target {spec.target!r} is missing in every row")
    probabilities = _score_matrix(table, scores, classes, task)
    shape = ClassificationState.empty(classes, uniform_edges(spec.score_bins))
    truth = shape.encode(target[keep])
    matrix = None if probabilities is None else probabilities[keep]
    guess, threshold = _guesses(
        shape, None if predicted_labels is None else predicted_labels[keep], matrix, task
    )
    try:
        state, metrics = classification_reference(
            truth, guess, matrix, classes, shape.score_edges, seed=spec.seed
        )
        calibration = None
        if matrix is not None:
            calibration = fit_calibration(truth, matrix, classes, shape.score_edges, seed=spec.seed)
    except DetectorInputError as exc:
        raise TrainingDataError(f"--target {spec.target!r}: {exc}") from None
    return ReferencePerformance(
        target=spec.target,
        task=task,
        prediction=prediction,
        scores=scores,
        classes=classes,
        positive_class=classes[1] if task == "binary" else None,
        threshold=threshold,
        n=rows,
        missing=int(raw_target.size - rows),
        metrics=metrics,
        state=state,
        calibration=calibration,
    )


def _predicted(
    table: Mapping[str, npt.NDArray[Any]],
    spec: PerformanceSpec,
    *,
    outputs: Collection[str],
    kinds: Mapping[str, str],
) -> tuple[str | None, npt.NDArray[np.str_] | None]:
    """The output column holding the predicted class (named, or the one categorical
    output), and its values as labels."""
    prediction = spec.prediction or _only(
        [c for c in outputs if kinds.get(c) == "categorical"], allow_none=True
    )
    if prediction is None:
        return None, None
    _check_output(prediction, outputs, "--prediction")
    return prediction, _labels(prediction, np.asarray(table[prediction]))


def _guesses(
    shape: ClassificationState,
    predicted: npt.NDArray[np.str_] | None,
    matrix: npt.NDArray[np.float64] | None,
    task: Task,
) -> tuple[npt.NDArray[np.int64], float | None]:
    """The predicted class per row, and the threshold that made it when only scores exist."""
    if predicted is not None:
        return shape.encode(predicted), None
    assert matrix is not None  # scores exist when prediction does not
    if task == "binary":
        guess = np.nan_to_num(matrix[:, 0], nan=0.0) >= DEFAULT_THRESHOLD
        return guess.astype(np.int64), DEFAULT_THRESHOLD
    return np.nan_to_num(matrix, nan=-1.0).argmax(axis=1).astype(np.int64), None


def _order_classes(seen: list[str], task: Task, spec: PerformanceSpec) -> tuple[str, ...]:
    if task == "multiclass":
        if len(seen) < 3:
            raise TrainingDataError(
                f"target {spec.target!r} has classes {seen}; multiclass needs at least 3 "
                f"(use --task binary for two)"
            )
        return tuple(seen)
    if len(seen) != 2:
        raise TrainingDataError(
            f"target {spec.target!r} and the predictions hold classes {seen[:10]}; a binary "
            f"baseline needs exactly 2 (use --task multiclass for more)"
        )
    positive = spec.positive_class
    if positive is None:
        for candidate in ("1", "true"):
            if candidate in seen:
                positive = candidate
    if positive is None:
        raise BaselineError(
            f"target {spec.target!r} has classes {seen}: say which one is positive with "
            f"--positive-class (e.g. --positive-class {seen[1]})"
        )
    if positive not in seen:
        raise BaselineError(
            f"--positive-class {positive!r} is not one of the classes {seen}; pick one of them"
        )
    return (next(c for c in seen if c != positive), positive)


def _score_columns(
    table: Mapping[str, npt.NDArray[Any]],
    spec: PerformanceSpec,
    task: Task,
    classes: tuple[str, ...],
    *,
    outputs: Collection[str],
    kinds: Mapping[str, str],
) -> dict[str, str]:
    given = (spec.scores,) if isinstance(spec.scores, str) else spec.scores
    if isinstance(given, Mapping):
        columns = dict(given)
    elif task == "binary" and len(given) == 1:
        columns = {classes[1]: given[0]}
    elif given:
        raise BaselineError(
            f"--score {','.join(given)}: "
            + (
                "a binary model has one score column, the positive class's probability"
                if task == "binary"
                else "name each class's probability column as CLASS=COL, e.g. "
                f"--score {classes[0]}=p_{classes[0]},{classes[1]}=p_{classes[1]},..."
            )
        )
    elif task == "binary":
        candidates = [c for c in outputs if kinds.get(c) == "numeric" and _is_probability(table[c])]
        found = _only(candidates, allow_none=True)
        columns = {} if found is None else {classes[1]: found}
    else:
        columns = {}
    for column in columns.values():
        _check_output(column, outputs, "--score")
    if task == "binary" and set(columns) - {classes[1]}:
        raise BaselineError(
            f"--score names classes {sorted(columns)}; a binary model's score is the "
            f"probability of the positive class {classes[1]!r}"
        )
    if task == "multiclass" and columns and set(columns) != set(classes):
        raise BaselineError(
            f"--score gives columns for classes {sorted(columns)} but the classes are "
            f"{list(classes)}; give one probability column per class"
        )
    return columns


def _score_matrix(
    table: Mapping[str, npt.NDArray[Any]],
    scores: Mapping[str, str],
    classes: tuple[str, ...],
    task: Task,
) -> npt.NDArray[np.float64] | None:
    if not scores:
        return None
    order = [scores[classes[1]]] if task == "binary" else [scores[c] for c in classes]
    columns = []
    for name in order:
        values = np.asarray(table[name])
        try:
            numbers = np.asarray(
                [math.nan if v is None else float(v) for v in values.tolist()], dtype=np.float64
            )
        except (TypeError, ValueError):
            raise TrainingDataError(
                f"score column {name!r} holds values that are not numbers; a score is a "
                f"probability in [0, 1]"
            ) from None
        finite = numbers[np.isfinite(numbers)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise TrainingDataError(
                f"score column {name!r} has values outside [0, 1] (min {finite.min():g}, max "
                f"{finite.max():g}); a score must be a probability, not a logit or margin"
            )
        columns.append(numbers)
    return np.stack(columns, axis=1)


def _is_probability(values: npt.NDArray[Any]) -> bool:
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    finite = numbers[np.isfinite(numbers)]
    return bool(finite.size) and bool(finite.min() >= 0) and bool(finite.max() <= 1)


def _regression(
    table: Mapping[str, npt.NDArray[Any]],
    spec: PerformanceSpec,
    raw_target: npt.NDArray[Any],
    *,
    outputs: Collection[str],
    kinds: Mapping[str, str],
) -> ReferencePerformance:
    if spec.scores:
        raise BaselineError("--score is for classifiers; a regression model has --prediction")
    prediction = spec.prediction or _only([c for c in outputs if kinds.get(c) == "numeric"])
    assert prediction is not None
    _check_output(prediction, outputs, "--prediction")
    actual = _numbers(spec.target, raw_target)
    predicted = _numbers(prediction, np.asarray(table[prediction]))
    keep = np.isfinite(actual) & np.isfinite(predicted)
    rows = int(keep.sum())
    if rows == 0:
        raise TrainingDataError(f"target {spec.target!r} is missing in every row")
    state, metrics = regression_reference(actual[keep], predicted[keep], seed=spec.seed)
    return ReferencePerformance(
        target=spec.target,
        task="regression",
        prediction=prediction,
        scores={},
        classes=(),
        positive_class=None,
        threshold=None,
        n=rows,
        missing=int(raw_target.size - rows),
        metrics=metrics,
        state=state,
        calibration=None,
    )


def _numbers(name: str, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(
            [math.nan if v is None else float(v) for v in values.tolist()], dtype=np.float64
        )
    except (TypeError, ValueError):
        raise TrainingDataError(
            f"column {name!r} holds values that are not numbers; a regression target and "
            f"prediction must be numeric"
        ) from None


def _only(candidates: list[str], *, allow_none: bool = False) -> str | None:
    if len(candidates) == 1:
        return candidates[0]
    if not candidates and allow_none:
        return None
    raise BaselineError(
        f"cannot tell which output column to use among {candidates or 'none'}; name it "
        f"with --prediction COL (and --score COL for probabilities)"
    )


def _check_output(name: str, outputs: Collection[str], flag: str) -> None:
    if name not in outputs:
        raise BaselineError(
            f"{flag} {name!r} is not one of the baseline's output columns "
            f"({', '.join(sorted(outputs)) or 'none'}); declare it with --outputs {name}"
        )
