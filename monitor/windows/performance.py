"""A prediction window's performance state: scores at prediction time, labels as they come.

Two constant-size states per window, both from `detectors.performance`, both
mergeable and plain JSON:

- the *prediction* side, a `ClassificationState` counting every accepted
  prediction's predicted class and scores (`pred_hist`) without labels. It rides
  in the `WindowState` (merged across partitions, checkpointed with the window)
  and gives the estimate before labels when the window closes;
- the *labelled* side, `LabelledPerformance`, counting each joined (prediction,
  outcome) pair in the window of its prediction. It rides in the join's
  `LabelledWindow` (checkpointed with the join) and gives realised metrics.

Both read a prediction the way the baseline's performance section names its
output columns (`baselines.model_outputs.read_outputs`). The prediction side
reads the decoded columns, so a decode worker counts it too; a category the
baseline does not know, or a missing prediction, is not counted for
performance (it is still counted for drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import CategoricalColumn
from driftwarden.baselines.model_outputs import encode_classes, read_outputs
from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.detectors.performance import ClassificationState, RegressionState
from driftwarden.monitor.ingest.layout import ModelLayout

if TYPE_CHECKING:  # ingest.events imports windows.window, which imports this module
    from driftwarden.monitor.ingest.batch import ModelBatch

PerformanceState = ClassificationState | RegressionState


def prediction_state(layout: ModelLayout) -> ClassificationState | None:
    """An empty prediction-side state, or None (no performance section, or regression)."""
    perf = layout.baseline.performance
    if perf is None or isinstance(perf.state, RegressionState):
        return None
    return ClassificationState.empty(perf.classes, perf.state.score_edges)


def count_predictions(
    layout: ModelLayout,
    batch: ModelBatch,
    states: Sequence[tuple[ClassificationState, npt.NDArray[np.bool_] | None]],
) -> None:
    """Count the batch's predicted classes and scores into each window's prediction state.

    `states` pairs a window's state with the batch rows that belong to it (None: all).
    """
    perf = layout.baseline.performance
    if perf is None or not states:
        return
    fast = decoded_classes(layout, perf, batch)
    if fast is None:  # a numeric or absent prediction column: the general reader
        outputs = read_outputs(perf, decoded_outputs(layout, batch, _named_outputs(perf)))
        fast = (outputs.predicted.astype(np.int64), outputs.scores)
    all_predicted, all_scores = fast
    for state, mask in states:
        predicted = all_predicted if mask is None else all_predicted[mask]
        scores = all_scores if mask is None or all_scores is None else all_scores[mask]
        known = predicted >= 0
        if not known.all():
            predicted = predicted[known]
            scores = None if scores is None else scores[known]
        state.add_batch(None, predicted, scores)


def decoded_classes(
    layout: ModelLayout, perf: ReferencePerformance, batch: ModelBatch
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64] | None] | None:
    """`read_outputs` on decoded columns, without going back to Python values.

    Scores are the numeric columns' values (NaN where not counted); a categorical
    prediction column's codes map to class indices through its categories once. The
    result equals `read_outputs(perf, decoded_outputs(...))` (tested); None when the
    prediction column is numeric or not in the layout, which that path handles.
    """
    n = len(batch)
    position = {slot.name: i for i, slot in enumerate(layout.columns)}
    scores = None
    if perf.score_columns:
        columns = []
        for name in perf.score_columns:
            i = position.get(name)
            if i is None or layout.columns[i].kind != "numeric":
                columns.append(np.full(n, np.nan))
            else:
                columns.append(np.asarray(batch.columns[i].values, dtype=np.float64))
        scores = np.stack(columns, axis=1)
    if perf.prediction is None:
        if scores is None:
            return None
        missing = ~np.isfinite(scores).all(axis=1)
        if perf.task == "binary":
            threshold = perf.threshold if perf.threshold is not None else 0.5
            predicted = (np.nan_to_num(scores[:, 0], nan=0.0) >= threshold).astype(np.int64)
        else:
            predicted = np.nan_to_num(scores, nan=-1.0).argmax(axis=1).astype(np.int64)
        predicted[missing] = -1
        return predicted, scores
    i = position.get(perf.prediction)
    if i is None or layout.columns[i].kind != "categorical":
        return None
    spec = layout.baseline.columns[layout.columns[i].index]
    assert isinstance(spec, CategoricalColumn)
    by_code = np.concatenate(
        (encode_classes(perf, np.asarray(spec.categories, dtype=object)), [-1, -1, -1])
    )
    codes = np.asarray(batch.columns[i].values, dtype=np.int64)
    # -1 (missing) reads the last slot; other and new codes read -1 slots too.
    return by_code[np.where(codes < 0, by_code.size - 1, codes)].astype(np.int64), scores


def decoded_outputs(
    layout: ModelLayout, batch: ModelBatch, names: Sequence[str]
) -> dict[str, npt.NDArray[Any]]:
    """The named output columns of a decoded batch as values again (None where not counted).

    Numeric columns are their values (NaN where missing or mistyped); categorical
    ones their category labels, None for a missing value or one outside the
    baseline's categories (no baseline class).
    """
    slots = {slot.name: slot for slot in layout.columns}
    result: dict[str, npt.NDArray[Any]] = {}
    for name in names:
        slot = slots.get(name)
        if slot is None:
            continue
        column = batch.columns[slot.index]
        if slot.kind == "numeric":
            result[name] = np.asarray(column.values, dtype=np.float64)
            continue
        spec = layout.baseline.columns[slot.index]
        assert isinstance(spec, CategoricalColumn)
        labels = np.asarray([*spec.categories, None, None, None], dtype=object)
        codes = np.asarray(column.values, dtype=np.int64)
        # -1 (missing) indexes the last None; other and new codes index Nones too.
        result[name] = labels[np.where(codes < 0, len(labels) - 1, codes)]
    return result


def _named_outputs(perf: ReferencePerformance) -> tuple[str, ...]:
    named = () if perf.prediction is None else (perf.prediction,)
    return named + perf.score_columns


@dataclass(slots=True)
class LabelledPerformance:
    """The realised side of one prediction window: joined pairs counted, constant size.

    `unreadable` counts joined pairs that cannot be scored: an outcome that is
    not one of the baseline's classes (or not a number, for regression), or a
    prediction whose class is missing. They stay counted as labelled by the join
    (its coverage) but are left out of every metric, and reported.
    """

    state: PerformanceState
    unreadable: int = 0

    @classmethod
    def empty(cls, perf: ReferencePerformance) -> LabelledPerformance:
        return cls(perf.empty_state())

    @property
    def n_labelled(self) -> int:
        return self.state.n_labelled

    def add(
        self,
        perf: ReferencePerformance,
        predictions: Sequence[Mapping[str, object]],
        outcomes: Sequence[object],
    ) -> None:
        """Count joined pairs: `predictions[i]` by output column, `outcomes[i]` the truth."""
        if not predictions:
            return
        names = _named_outputs(perf)
        columns = {
            name: np.asarray([p.get(name) for p in predictions], dtype=object) for name in names
        }
        outputs = read_outputs(perf, columns)
        if isinstance(self.state, RegressionState):
            truth = _floats(outcomes)
            guess = outputs.predicted.astype(np.float64)
            ok = np.isfinite(truth) & np.isfinite(guess)
            self.state.add_batch(truth[ok], guess[ok])
        else:
            labels = encode_classes(perf, np.asarray(list(outcomes), dtype=object))
            ok = (labels >= 0) & (outputs.predicted >= 0)
            scores = None if outputs.scores is None else outputs.scores[ok]
            self.state.add_batch(labels[ok], outputs.predicted[ok].astype(np.int64), scores)
        self.unreadable += int((~ok).sum())

    def merge(self, other: LabelledPerformance) -> LabelledPerformance:
        if isinstance(self.state, RegressionState) and isinstance(other.state, RegressionState):
            merged: PerformanceState = self.state.merge(other.state)
        elif isinstance(self.state, ClassificationState) and isinstance(
            other.state, ClassificationState
        ):
            merged = self.state.merge(other.state)
        else:
            raise ValueError("cannot merge a regression and a classification window state")
        return LabelledPerformance(merged, self.unreadable + other.unreadable)

    def to_raw(self) -> dict[str, Any]:
        kind = "regression" if isinstance(self.state, RegressionState) else "classification"
        return {"kind": kind, "state": self.state.to_dict(), "unreadable": self.unreadable}

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> LabelledPerformance:
        state: PerformanceState
        if raw["kind"] == "regression":
            state = RegressionState.from_dict(raw["state"])
        else:
            state = ClassificationState.from_dict(raw["state"])
        return cls(state, int(raw["unreadable"]))


def _floats(values: Sequence[object]) -> npt.NDArray[np.float64]:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[i] = float(value)
    return out
