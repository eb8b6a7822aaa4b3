"""Realised performance of a window from its outcome state, named as scikit-learn names it.

Classification: `accuracy`, `precision`, `recall`, `f1` (binary: of the positive
class `classes[1]`; multi-class: the macro average over the classes that occur
in the window's labels or predictions, scikit-learn's `average="macro"` with its
default `labels`), `roc_auc` (binary; multi-class: one-vs-rest, macro), `brier`
(binary: mean (p - y)^2 of the positive class; multi-class: mean over rows of the
sum over classes), `log_loss`, `ece`, plus `n_labelled` and `n_scored`.
Regression: `mae`, `rmse`, `mean_error` (predicted - actual) and `n_labelled`.

Count metrics are exact. A ratio with a zero denominator is 0.0, scikit-learn's
`zero_division` result. `roc_auc` comes from the score histograms with ties
inside a bin counted one half, so it is within about 0.5 / bins of the exact
value when scores spread over the bins, and exact when no two different scores
share a bin. A metric with no defined value (no scores; `roc_auc` with only one
class present) is left out of the dict rather than written as NaN.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.performance.classification import ClassificationState
from driftwarden.detectors.performance.regression import RegressionState

FloatArray = npt.NDArray[np.float64]

HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "ece", "mae", "rmse"})
TWO_SIDED = frozenset({"mean_error"})
"""`mean_error` is a bias: moving away from the reference either way is worse."""

COUNT_METRICS = frozenset({"accuracy", "precision", "recall", "f1"})
SCORE_METRICS = frozenset({"roc_auc", "brier", "log_loss", "ece"})


def realised_metrics(state: ClassificationState | RegressionState) -> dict[str, float]:
    """Every defined metric of the state's labelled rows (see the module doc)."""
    if isinstance(state, RegressionState):
        return regression_metrics(state)
    result: dict[str, float] = {"n_labelled": float(state.n_labelled)}
    if state.n_labelled:
        result.update(confusion_metrics(state.confusion.astype(np.float64), binary=state.binary))
    result["n_scored"] = float(state.n_scored)
    if state.n_scored:
        auc = roc_auc_ovr(
            [
                (
                    state.true_hist[s, _positive(state, s)].astype(np.float64),
                    _negatives(state.true_hist[s], state, s).astype(np.float64),
                )
                for s in range(state.true_hist.shape[0])
            ]
        )
        if auc is not None:
            result["roc_auc"] = auc
        result["brier"] = state.brier_sum / state.n_scored
        result["log_loss"] = state.log_loss_sum / state.n_scored
        gap = np.abs(state.ece_correct - state.ece_confidence)
        result["ece"] = float(gap.sum() / state.n_scored)
    return result


def regression_metrics(state: RegressionState) -> dict[str, float]:
    result: dict[str, float] = {"n_labelled": float(state.n)}
    if state.n:
        result["mae"] = state.sum_abs_error / state.n
        result["rmse"] = math.sqrt(state.sum_squared_error / state.n)
        result["mean_error"] = state.sum_error / state.n
    return result


def confusion_metrics(confusion: FloatArray, *, binary: bool) -> dict[str, float]:
    """accuracy, precision, recall, f1 of a (true x predicted) matrix of counts.

    The counts may be expected counts (floats) from the estimate; the formulas
    are the same.
    """
    total = float(confusion.sum())
    if total == 0:
        return {}
    tp = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)
    accuracy = float(tp.sum() / total)
    if binary:
        return {
            "accuracy": accuracy,
            "precision": float(precision[1]),
            "recall": float(recall[1]),
            "f1": float(f1[1]),
        }
    present = (predicted + actual) > 0
    return {
        "accuracy": accuracy,
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }


def roc_auc_from_histograms(positives: FloatArray, negatives: FloatArray) -> float | None:
    """P(score of a positive > score of a negative), ties in a bin counting one half.

    Bins are in increasing score order. None when either class is empty.
    """
    n_pos = float(positives.sum())
    n_neg = float(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return None
    below = np.cumsum(negatives) - negatives
    wins = float(np.sum(positives * below)) + 0.5 * float(np.sum(positives * negatives))
    return wins / (n_pos * n_neg)


def roc_auc_ovr(pairs: list[tuple[FloatArray, FloatArray]]) -> float | None:
    """The macro average of one-vs-rest AUCs, over the classes where one is defined."""
    aucs = [
        auc for auc in (roc_auc_from_histograms(pos, neg) for pos, neg in pairs) if auc is not None
    ]
    return float(np.mean(aucs)) if aucs else None


def _positive(state: ClassificationState, column: int) -> int:
    """The true class whose rows are positives for score column `column`."""
    return 1 if state.binary else column


def _negatives(
    hist: npt.NDArray[np.int64], state: ClassificationState, column: int
) -> npt.NDArray[np.int64]:
    positive = _positive(state, column)
    result: npt.NDArray[np.int64] = hist.sum(axis=0) - hist[positive]
    return result


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    safe = np.where(denominator > 0, denominator, 1.0)
    result: FloatArray = np.where(denominator > 0, numerator / safe, 0.0)
    return result
