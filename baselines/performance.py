"""The baseline's performance section: what the model achieved on the reference.

Present when the baseline was built with `--target COL` (`build_performance.py`
builds it). It says which of the baseline's *output* columns (the keys of an
event's `prediction` object) carry the model's predicted class or value and
its class probabilities, and holds the reference metrics with their spread
(`detectors.performance.reference`), the reference counted as one window (its
score histograms) and the calibration map for the estimate before labels.
Old baselines have no such section and load as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from driftwarden.detectors.performance import (
    Calibration,
    ClassificationState,
    ReferenceMetric,
    RegressionState,
)

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")
PERFORMANCE_FIELD = "performance"


@dataclass(frozen=True, slots=True)
class ReferencePerformance:
    """The reference's performance, and how to read a live event's outputs for it.

    `scores` maps each class with a probability column to that output column
    (one entry, the positive class, for a binary model). `prediction` is None
    when the predicted class follows from the scores (`threshold` for binary,
    the most probable class for multiclass). `state` is the whole reference
    counted as one window: its score histograms show what scores the reference
    produced. `calibration` is None without scores (no estimate then).
    """

    target: str
    task: Task
    prediction: str | None
    scores: Mapping[str, str]
    classes: tuple[str, ...]
    positive_class: str | None
    threshold: float | None
    n: int
    missing: int
    metrics: Mapping[str, ReferenceMetric]
    state: ClassificationState | RegressionState
    calibration: Calibration | None

    def empty_state(self) -> ClassificationState | RegressionState:
        """A window state over the reference's classes and score bins, nothing counted."""
        if isinstance(self.state, RegressionState):
            return RegressionState.empty()
        return ClassificationState.empty(self.classes, self.state.score_edges)

    @property
    def score_columns(self) -> tuple[str, ...]:
        """The output columns to read probabilities from, in the state's column order."""
        if self.task == "binary":
            return tuple(self.scores.values())
        return tuple(self.scores[c] for c in self.classes) if self.scores else ()


# --- serialisation --------------------------------------------------------------------


def performance_to_dict(perf: ReferencePerformance) -> dict[str, Any]:
    """The artifact body's `performance` object, plain JSON."""
    return {
        "target": perf.target,
        "task": perf.task,
        "prediction": perf.prediction,
        "scores": dict(perf.scores),
        "classes": list(perf.classes),
        "positive_class": perf.positive_class,
        "threshold": perf.threshold,
        "n": perf.n,
        "missing": perf.missing,
        "metrics": {
            name: {
                "value": m.value,
                "std": m.std,
                "rows": m.rows,
                "n_reference": m.n_reference,
            }
            for name, m in sorted(perf.metrics.items())
        },
        "state": perf.state.to_dict(),
        "calibration": None if perf.calibration is None else perf.calibration.to_dict(),
    }


def performance_from_dict(raw: Mapping[str, Any]) -> ReferencePerformance:
    """Read the section `performance_to_dict` wrote (DetectorInputError is a ValueError)."""
    task = raw["task"]
    if task not in TASKS:
        raise ValueError(f"unknown performance task {task!r}")
    state: ClassificationState | RegressionState
    if task == "regression":
        state = RegressionState.from_dict(raw["state"])
    else:
        state = ClassificationState.from_dict(raw["state"])
    calibration = None if raw["calibration"] is None else Calibration.from_dict(raw["calibration"])
    threshold = raw.get("threshold")
    return ReferencePerformance(
        target=str(raw["target"]),
        task=task,
        prediction=None if raw["prediction"] is None else str(raw["prediction"]),
        scores={str(k): str(v) for k, v in raw["scores"].items()},
        classes=tuple(str(c) for c in raw["classes"]),
        positive_class=None if raw["positive_class"] is None else str(raw["positive_class"]),
        threshold=None if threshold is None else float(threshold),
        n=int(raw["n"]),
        missing=int(raw["missing"]),
        metrics={
            str(name): ReferenceMetric(
                value=float(m["value"]),
                std=float(m["std"]),
                rows=int(m["rows"]),
                n_reference=int(m["n_reference"]),
            )
            for name, m in raw["metrics"].items()
        },
        state=state,
        calibration=calibration,
    )
