"""The calibration map behind the label-free estimate, fitted on reference data only.

The estimate (`estimation.py`) reads a score as the probability that the row
belongs to the class: right only for a calibrated model. Following NannyML's
CBPE, each score column gets an isotonic map from score bin to the observed
share of its class on the reference, and the map is used only when it lowers
the expected calibration error (ECE) of out-of-fold predictions over stratified
reference splits; otherwise the raw score stands (the mean reference score of
each bin). A map fitted and judged on the same rows would always look better.

What the map cannot do is recorded too: the out-of-fold ECE of the chosen
probabilities and a Hosmer-Lemeshow p-value for them, both over equal-size
groups of reference rows by score (`expected_calibration_error` says why). A model whose scores are
not monotone in the true probability stays miscalibrated after any isotonic
map, and the estimate is then flagged unreliable, not trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance.classification import (
    ClassificationState,
    score_bins,
    score_columns,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_FOLDS = 5
CALIBRATION_GROUPS = 10
"""Equal-size groups of reference rows by score for the calibration error and test."""


@dataclass(frozen=True, slots=True)
class CalibrationColumn:
    """One score column's map and how well it calibrates the reference.

    `probabilities[b]`: P(row is of this column's class | score in bin b).
    `reference_counts[b]`: reference rows whose score fell in bin b; a bin with
    none has an interpolated probability that no reference row supports.
    """

    probabilities: FloatArray
    reference_counts: IntArray
    mapped: bool
    ece_raw: float
    ece_mapped: float
    p_value: float

    @property
    def ece(self) -> float:
        """Out-of-fold ECE of the probabilities the estimate uses."""
        return self.ece_mapped if self.mapped else self.ece_raw


@dataclass(frozen=True, slots=True)
class Calibration:
    """A calibration map per score column, over the baseline's classes and score bins."""

    classes: tuple[str, ...]
    score_edges: FloatArray
    columns: tuple[CalibrationColumn, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "score_edges": self.score_edges.tolist(),
            "columns": [
                {
                    "probabilities": c.probabilities.tolist(),
                    "reference_counts": c.reference_counts.tolist(),
                    "mapped": c.mapped,
                    "ece_raw": c.ece_raw,
                    "ece_mapped": c.ece_mapped,
                    "p_value": c.p_value,
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Calibration:
        try:
            state = ClassificationState.empty(raw["classes"], raw["score_edges"])
            bins = state.score_edges.size - 1
            columns = tuple(
                CalibrationColumn(
                    probabilities=np.asarray(c["probabilities"], dtype=np.float64),
                    reference_counts=np.asarray(c["reference_counts"], dtype=np.int64),
                    mapped=bool(c["mapped"]),
                    ece_raw=float(c["ece_raw"]),
                    ece_mapped=float(c["ece_mapped"]),
                    p_value=float(c["p_value"]),
                )
                for c in raw["columns"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectorInputError(
                f"calibration is not readable ({exc!r}); it was not written by Calibration.to_dict"
            ) from None
        if len(columns) != score_columns(len(state.classes)) or any(
            c.probabilities.shape != (bins,) or c.reference_counts.shape != (bins,) for c in columns
        ):
            raise DetectorInputError(
                "calibration has the wrong number of score columns or bins for its classes, "
                "or probabilities outside [0, 1]; it was not written by Calibration.to_dict"
            )
        return cls(classes=state.classes, score_edges=state.score_edges, columns=columns)


def fit_calibration(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    classes: Sequence[str],
    score_edges: npt.ArrayLike,
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> Calibration:
    """Fit and judge a calibration map per score column on reference rows.

    `labels` and `scores` are what `ClassificationState.add_batch` takes; rows
    with a non-finite score are left out. Deterministic for a given `seed`.
    """
    shape = ClassificationState.empty(classes, score_edges)
    truth = shape.class_indices(labels, "labels")
    matrix = shape.score_matrix(scores, truth.size)
    finite = np.isfinite(matrix).all(axis=1)
    truth, matrix = truth[finite], matrix[finite]
    if truth.size < 2 * folds:
        raise DetectorInputError(
            f"calibration needs at least {2 * folds} reference rows with scores, got "
            f"{truth.size}; build the baseline from more labelled data"
        )
    edges = shape.score_edges
    bin_index = score_bins(edges, matrix)
    fold = _stratified_folds(truth, folds, seed)
    columns = []
    for s in range(matrix.shape[1]):
        positive = truth == (1 if shape.binary else s)
        columns.append(
            _fit_column(
                positive, matrix[:, s], bin_index[:, s], fold=fold, folds=folds, edges=edges
            )
        )
    return Calibration(classes=shape.classes, score_edges=edges, columns=tuple(columns))


def _fit_column(
    positive: npt.NDArray[np.bool_],
    raw: FloatArray,
    bin_index: IntArray,
    *,
    fold: IntArray,
    folds: int,
    edges: FloatArray,
) -> CalibrationColumn:
    out_of_fold = np.empty_like(raw)
    for f in range(folds):
        test = fold == f
        train = ~test
        table = _isotonic_table(positive[train], bin_index[train], edges)
        out_of_fold[test] = table[bin_index[test]]
    ece_raw = expected_calibration_error(raw, positive, raw)
    ece_mapped = expected_calibration_error(out_of_fold, positive, raw)
    mapped = ece_mapped < ece_raw
    bins = edges.size - 1
    counts = np.bincount(bin_index, minlength=bins).astype(np.int64)
    if mapped:
        probabilities = _isotonic_table(positive, bin_index, edges)
        chosen = out_of_fold
    else:
        centres = (edges[:-1] + edges[1:]) / 2
        sums = np.bincount(bin_index, weights=raw, minlength=bins)
        probabilities = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
        chosen = raw
    return CalibrationColumn(
        probabilities=probabilities,
        reference_counts=counts,
        mapped=bool(mapped),
        ece_raw=ece_raw,
        ece_mapped=ece_mapped,
        p_value=hosmer_lemeshow(chosen, positive, raw),
    )


def _isotonic_table(
    positive: npt.NDArray[np.bool_], bin_index: IntArray, edges: FloatArray
) -> FloatArray:
    """P(positive | bin) fitted non-decreasing over the bins (pool adjacent violators)."""
    from scipy.optimize import isotonic_regression  # noqa: PLC0415 - at first use

    bins = edges.size - 1
    counts = np.bincount(bin_index, minlength=bins).astype(np.float64)
    hits = np.bincount(bin_index, weights=positive.astype(np.float64), minlength=bins)
    seen = counts > 0
    fitted = isotonic_regression(hits[seen] / counts[seen], weights=counts[seen]).x
    centres = (edges[:-1] + edges[1:]) / 2
    table: FloatArray = np.interp(centres, centres[seen], fitted)
    return table


def _stratified_folds(truth: IntArray, folds: int, seed: int) -> IntArray:
    """A fold number per row, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(truth.size, dtype=np.int64)
    for label in np.unique(truth):
        rows = np.flatnonzero(truth == label)
        fold[rng.permutation(rows)] = np.arange(rows.size) % folds
    return fold


def score_groups(raw: FloatArray, *, groups: int = CALIBRATION_GROUPS) -> list[IntArray]:
    """Row indices in `groups` groups of equal size by raw score, lowest first."""
    order = np.argsort(raw, kind="stable")
    return [part for part in np.array_split(order, groups) if part.size]


def expected_calibration_error(
    probabilities: FloatArray, positive: npt.NDArray[np.bool_], raw: FloatArray
) -> float:
    """Sum over equal-size groups by raw score of (share of rows) x |observed - predicted|.

    Grouping by the raw score, not by the calibrated probability, is what the
    estimate needs: it reads each score bin's probability, so a map must be right
    along the score. A map that pools a score range whose true rate goes up and
    down is right on average over its pooled value (an ECE grouped by that value
    is near zero) but wrong along the score; grouped by score, it shows.
    """
    if probabilities.size == 0:
        return 0.0
    gap = sum(
        abs(float(positive[part].sum()) - float(probabilities[part].sum()))
        for part in score_groups(raw)
    )
    return gap / probabilities.size


def hosmer_lemeshow(
    probabilities: FloatArray, positive: npt.NDArray[np.bool_], raw: FloatArray
) -> float:
    """P-value of the Hosmer-Lemeshow test over the equal-size groups by raw score.

    Small values say the probabilities do not match the observed shares beyond
    sampling noise. Degrees of freedom: groups - 2, the textbook choice.
    """
    from scipy import special  # noqa: PLC0415 - at first use

    statistic = 0.0
    used = 0
    for part in score_groups(raw):
        expected = float(probabilities[part].sum())
        observed = float(positive[part].sum())
        variance = expected * (1.0 - expected / part.size)
        if variance > 0:
            statistic += (observed - expected) ** 2 / variance
            used += 1
        elif observed != expected:
            return 0.0  # certain predictions that the data contradicts
    df = max(used - 2, 1)
    return float(special.chdtrc(df, statistic))
