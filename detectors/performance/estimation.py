"""Performance estimated from scores alone, before the labels arrive (CBPE's idea).

For a calibrated model a score is the probability that the row belongs to the
class, so a window's expected confusion matrix follows from its score histogram:
a row predicted p with calibrated probability q_j(bin) of class j adds q_j to
cell (j, p). Accuracy, precision, recall and f1 are then computed from expected
counts with the realised formulas (`metrics.confusion_metrics`), and `roc_auc`
from the histogram split into expected positives (count x q) and negatives
(count x (1 - q)). In a multi-class window each predicted class's column of
expected counts is rescaled to the rows predicted so, because one-vs-rest maps
need not sum to one.

Where it fails, and what is flagged (`Estimate.reliable` False, with reasons):

- the model is not calibrated on the reference even after the isotonic map
  (out-of-fold ECE above `max_reference_ece` and a Hosmer-Lemeshow p-value
  below `calibration_alpha`): every estimate would be biased;
- the window's scores land in score bins no reference row fell in (outside the
  reference score range, or in its gaps) for more than `max_unseen_share` of
  rows: the map there is an extrapolation;
- fewer than `min_rows` scored predictions: the realised value will wander
  from any estimate by sampling alone.

What cannot be flagged: concept drift. When P(y | x) changes while the scores
do not, the scores still look calibrated and the estimate stays at the
reference level; only realised performance (outcomes) shows it. Covariate
shift alone (inputs move, P(y | x) stays) is what the estimate handles.

Regression is not estimated: the estimate of a regression error needs a model
of the error itself (NannyML's DLE trains one on reference data), which this
pure, histogram-only layer does not have. Regression windows report realised
metrics only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance.calibration import Calibration
from driftwarden.detectors.performance.classification import ClassificationState
from driftwarden.detectors.performance.metrics import confusion_metrics, roc_auc_ovr

FloatArray = npt.NDArray[np.float64]

DEFAULT_MIN_ROWS = 300
DEFAULT_MAX_UNSEEN_SHARE = 0.01
DEFAULT_MAX_REFERENCE_ECE = 0.02
DEFAULT_CALIBRATION_ALPHA = 0.01
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass(frozen=True, slots=True)
class Estimate:
    """Estimated metrics of a window, whether to trust them, and why not.

    `metrics` holds the estimates even when `reliable` is False, so a report
    can show them with the warning; alerting uses only reliable ones.
    """

    metrics: dict[str, float]
    reliable: bool
    reasons: tuple[str, ...] = field(default=())
    n: int = 0


def estimate_metrics(
    state: ClassificationState,
    calibration: Calibration,
    *,
    min_rows: int = DEFAULT_MIN_ROWS,
    max_unseen_share: float = DEFAULT_MAX_UNSEEN_SHARE,
    max_reference_ece: float = DEFAULT_MAX_REFERENCE_ECE,
    calibration_alpha: float = DEFAULT_CALIBRATION_ALPHA,
) -> Estimate:
    """Estimate accuracy, precision, recall, f1 and roc_auc from `state.pred_hist`.

    `state` may hold predictions without labels (the usual case) or with them.
    """
    if state.classes != calibration.classes or not np.array_equal(
        state.score_edges, calibration.score_edges
    ):
        raise DetectorInputError(
            "the window's classes or score bins differ from the calibration's; estimate "
            "with the calibration of the baseline the window was counted against"
        )
    n = state.n_predicted
    if n == 0:
        return Estimate({}, reliable=False, reasons=("no predictions with scores",), n=0)
    reasons = _reasons(
        state,
        calibration,
        min_rows=min_rows,
        max_unseen_share=max_unseen_share,
        max_reference_ece=max_reference_ece,
        calibration_alpha=calibration_alpha,
    )
    hist = state.pred_hist.astype(np.float64)  # (score column, predicted class, bin)
    q = np.stack([c.probabilities for c in calibration.columns])  # (score column, bin)
    if state.binary:
        positive = hist[0] @ q[0]  # expected positives per predicted class
        confusion = np.stack([hist[0].sum(axis=1) - positive, positive])
        rows = hist[0].sum(axis=0)
        pairs = [(rows * q[0], rows * (1.0 - q[0]))]
    else:
        confusion = np.einsum("jpb,jb->jp", hist, q)
        predicted = hist[0].sum(axis=1)
        column_sums = confusion.sum(axis=0)
        confusion = confusion * np.where(column_sums > 0, predicted / column_sums, 0.0)
        rows_by_column = hist.sum(axis=1)  # (score column, bin)
        pairs = [
            (rows_by_column[j] * q[j], rows_by_column[j] * (1.0 - q[j])) for j in range(len(q))
        ]
    metrics = confusion_metrics(confusion, binary=state.binary)
    auc = roc_auc_ovr(pairs)
    if auc is not None:
        metrics["roc_auc"] = auc
    return Estimate(metrics, reliable=not reasons, reasons=tuple(reasons), n=n)


def _reasons(
    state: ClassificationState,
    calibration: Calibration,
    *,
    min_rows: int,
    max_unseen_share: float,
    max_reference_ece: float,
    calibration_alpha: float,
) -> list[str]:
    reasons = []
    for j, column in enumerate(calibration.columns):
        name = _column_name(state, j)
        if column.ece > max_reference_ece and column.p_value < calibration_alpha:
            reasons.append(
                f"the model is not calibrated on the reference for {name} even after the "
                f"calibration map (out-of-fold ECE {column.ece:.3f} > {max_reference_ece}, "
                f"Hosmer-Lemeshow p = {column.p_value:.2g})"
            )
        rows = state.pred_hist[j].sum(axis=0)
        unseen = float(rows[column.reference_counts == 0].sum()) / max(float(rows.sum()), 1.0)
        if unseen > max_unseen_share:
            seen = np.flatnonzero(column.reference_counts)
            low, high = state.score_edges[seen[0]], state.score_edges[seen[-1] + 1]
            reasons.append(
                f"{unseen:.1%} of the window's scores for {name} fall in score bins the "
                f"reference never saw (reference scores in [{low:.3f}, {high:.3f}])"
            )
    if state.n_predicted < min_rows:
        reasons.append(
            f"only {state.n_predicted} scored predictions; an estimate needs at least {min_rows}"
        )
    return reasons


def _column_name(state: ClassificationState, column: int) -> str:
    return repr(state.classes[1] if state.binary else state.classes[column])
