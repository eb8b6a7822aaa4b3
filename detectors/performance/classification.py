"""A classification window's outcome state: constant size, mergeable, plain JSON.

Everything the realised metrics and the label-free estimate need is kept as
counts over slots fixed at construction, never as rows, so a window costs the
same whether it saw ten predictions or ten million, and two windows (two
partitions, a checkpoint and what came after it) merge by adding arrays:

- `confusion[t, p]`: rows with true class t predicted as class p;
- `true_hist[s, t, b]`: labelled rows of true class t whose score column s fell
  in score bin b (ROC AUC from histograms, realised);
- `pred_hist[s, p, b]`: every row, labelled or not, predicted as class p whose
  score column s fell in bin b (the estimate before labels, `estimation.py`);
- running sums for `brier` and `log_loss`, and `CALIBRATION_BINS` equal-width
  bins of (count, confidence, correct) for `ece`.

Score columns: a binary model has one, the probability of the positive class
`classes[1]` (the baseline puts the positive class second, as scikit-learn's
`classes_` does with `pos_label=1`); a multi-class model has one per class.

Classes are the baseline's class labels, spelled as strings. `add_batch` takes
class indices (integers) or label values (strings, mapped with `encode`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CALIBRATION_BINS = 10
"""Equal-width confidence bins for `ece`, the usual choice (Guo et al. 2017 use 15;
fewer bins keep the estimate's small-sample bias low at window sizes)."""

DEFAULT_SCORE_BINS = 200
"""Score histogram bins on [0, 1]: ROC AUC from them is within 0.5 / bins of the exact
value when scores are spread out (ties inside a bin count one half)."""

LOG_LOSS_EPS = float(np.finfo(np.float64).eps)
"""Probabilities are clipped to [eps, 1 - eps] for log_loss, as scikit-learn does."""


def uniform_edges(bins: int = DEFAULT_SCORE_BINS) -> FloatArray:
    """`bins` equal-width score bins on [0, 1] as bins + 1 edges."""
    if bins < 1:
        raise DetectorInputError(f"score bins must be at least 1, got {bins}")
    return np.linspace(0.0, 1.0, bins + 1)


@dataclass(eq=False, slots=True)
class ClassificationState:
    """Confusion counts, score histograms and loss sums of one window (see module doc)."""

    classes: tuple[str, ...]
    score_edges: FloatArray
    confusion: IntArray
    true_hist: IntArray
    pred_hist: IntArray
    n_scored: int
    brier_sum: float
    log_loss_sum: float
    ece_count: IntArray
    ece_confidence: FloatArray
    ece_correct: IntArray
    uniform: bool = field(init=False, repr=False, compare=False)
    """Equal-width score bins (worked out once: it picks the fast bin search)."""

    def __post_init__(self) -> None:
        self.uniform = is_uniform(self.score_edges)

    # --- construction -------------------------------------------------------------

    @classmethod
    def empty(cls, classes: Sequence[str], score_edges: npt.ArrayLike) -> ClassificationState:
        """A state with nothing counted, over the baseline's classes and score bins."""
        names = tuple(str(c) for c in classes)
        if len(names) < 2:
            raise DetectorInputError(
                f"a classification state needs at least 2 classes, got {list(names)}; "
                f"build the baseline from data with both outcomes"
            )
        if len(set(names)) != len(names):
            raise DetectorInputError(f"classes {list(names)} repeat a label; list each once")
        edges = np.asarray(score_edges, dtype=np.float64)
        if (
            edges.ndim != 1
            or edges.size < 2
            or not np.all(np.diff(edges) > 0)
            or edges[0] != 0.0
            or edges[-1] != 1.0
        ):
            raise DetectorInputError(
                "score_edges must increase strictly from 0 to 1 (e.g. uniform_edges(200))"
            )
        k = len(names)
        s = score_columns(k)
        b = edges.size - 1
        return cls(
            classes=names,
            score_edges=edges,
            confusion=np.zeros((k, k), dtype=np.int64),
            true_hist=np.zeros((s, k, b), dtype=np.int64),
            pred_hist=np.zeros((s, k, b), dtype=np.int64),
            n_scored=0,
            brier_sum=0.0,
            log_loss_sum=0.0,
            ece_count=np.zeros(CALIBRATION_BINS, dtype=np.int64),
            ece_confidence=np.zeros(CALIBRATION_BINS, dtype=np.float64),
            ece_correct=np.zeros(CALIBRATION_BINS, dtype=np.int64),
        )

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def n_labelled(self) -> int:
        """Rows counted with their true class."""
        return int(self.confusion.sum())

    @property
    def n_predicted(self) -> int:
        """Rows with scores counted in `pred_hist`, labelled or not."""
        return int(self.pred_hist[0].sum())

    # --- counting -----------------------------------------------------------------

    def encode(self, values: npt.ArrayLike) -> IntArray:
        """Class indices of label values (spelled as strings); -1 for an unknown label.

        Callers reject rows with -1 (an outcome or prediction outside the
        baseline's classes) before `add_batch`, with a reason of their own.
        """
        array = np.asarray(values)
        if array.size == 0:
            return np.zeros(0, dtype=np.int64)
        # Booleans are spelled as JSON spells them, like the baseline's category labels.
        text = np.where(array, "true", "false") if array.dtype.kind == "b" else array.astype(str)
        unique, inverse = np.unique(text, return_inverse=True)
        lookup = {name: i for i, name in enumerate(self.classes)}
        mapped = np.asarray([lookup.get(str(u), -1) for u in unique], dtype=np.int64)
        result: IntArray = mapped[inverse.reshape(-1)]
        return result

    def add_batch(
        self,
        labels: npt.ArrayLike | None,
        predicted: npt.ArrayLike,
        scores: npt.ArrayLike | None = None,
    ) -> None:
        """Count a batch of rows in place.

        `labels` None counts predictions whose outcome is not known (yet): only
        `pred_hist`, for the estimate. `scores` None counts no score metric;
        otherwise a binary model gives the positive-class probability per row
        (shape (n,), or (n, 2) whose second column is used) and a multi-class
        model one probability per class (shape (n, K)). Rows with a non-finite
        score are counted in the confusion matrix only.
        """
        pred = self.class_indices(predicted, "predicted")
        n = pred.size
        truth = None if labels is None else self.class_indices(labels, "labels")
        if truth is not None and truth.size != n:
            raise DetectorInputError(
                f"labels has {truth.size} rows but predicted has {n}; pass one of each per row"
            )
        k = len(self.classes)
        if truth is not None:
            self.confusion += np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
        if scores is None or n == 0:
            return
        matrix = self.score_matrix(scores, n)
        finite = np.isfinite(matrix).all(axis=1)
        if not finite.all():
            matrix, pred = matrix[finite], pred[finite]
            truth = None if truth is None else truth[finite]
        if matrix.size and (matrix.min() < 0.0 or matrix.max() > 1.0):
            raise DetectorInputError(
                "scores must be probabilities in [0, 1]; pass the model's predicted "
                "probabilities, not logits or margins"
            )
        bins = self.score_edges.size - 1
        bin_index = score_bins(self.score_edges, matrix, uniform=self.uniform)
        self.pred_hist += _histogram(pred, bin_index, k, bins)
        if truth is None:
            return
        self.true_hist += _histogram(truth, bin_index, k, bins)
        self._add_losses(truth, matrix)

    def _add_losses(self, truth: IntArray, matrix: FloatArray) -> None:
        rows = truth.size
        if self.binary:
            positive = truth == 1
            p = matrix[:, 0]
            self.brier_sum += float(np.sum((p - positive) ** 2))
            p_true = np.where(positive, p, 1.0 - p)
            confidence = p
            correct = positive
        else:
            p_true = matrix[np.arange(rows), truth]
            # sum over classes of (p_k - [k == y])^2 = sum of p_k^2 - 2 p_y + 1
            self.brier_sum += float(np.sum(matrix * matrix) - 2.0 * p_true.sum() + rows)
            confidence = matrix.max(axis=1)
            correct = matrix.argmax(axis=1) == truth
        clipped = np.clip(p_true, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
        self.log_loss_sum += float(-np.sum(np.log(clipped)))
        self.n_scored += rows
        slot = np.minimum((confidence * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
        self.ece_count += np.bincount(slot, minlength=CALIBRATION_BINS)
        self.ece_confidence += np.bincount(slot, weights=confidence, minlength=CALIBRATION_BINS)
        self.ece_correct += np.bincount(slot, weights=correct, minlength=CALIBRATION_BINS).astype(
            np.int64
        )

    def class_indices(self, values: npt.ArrayLike, name: str = "labels") -> IntArray:
        """Class indices of `values` (indices or labels); an unknown one is an error."""
        array = np.asarray(values)
        if array.ndim != 1:
            raise DetectorInputError(f"{name} must be one-dimensional, got shape {array.shape}")
        if array.dtype.kind in "iu":
            indices = array.astype(np.int64)
        elif array.dtype.kind in "USOb":
            indices = self.encode(array)
        else:
            raise DetectorInputError(
                f"{name} has dtype {array.dtype}; pass class indices or class labels"
            )
        bad = (indices < 0) | (indices >= len(self.classes))
        if bad.any():
            value = array[int(np.flatnonzero(bad)[0])]
            raise DetectorInputError(
                f"{name} holds {value!r}, which is not one of the baseline's classes "
                f"{list(self.classes)}; reject such rows before counting them"
            )
        return indices

    def score_matrix(self, scores: npt.ArrayLike, n: int) -> FloatArray:
        """Scores as an (n, score columns) float matrix, the shape checked."""
        matrix = np.asarray(scores, dtype=np.float64)
        k = len(self.classes)
        if self.binary and matrix.ndim == 2 and matrix.shape[1] == 2:
            matrix = matrix[:, 1]
        if self.binary and matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        expected = 1 if self.binary else k
        if matrix.ndim != 2 or matrix.shape != (n, expected):
            raise DetectorInputError(
                f"scores have shape {matrix.shape}; expected ({n},) with the probability of "
                f"{self.classes[1]!r}"
                if self.binary
                else f"scores have shape {matrix.shape}; expected ({n}, {k}), one probability "
                f"per class in the baseline's order {list(self.classes)}"
            )
        return matrix

    # --- merging and serialising ----------------------------------------------------

    def merge(self, other: ClassificationState) -> ClassificationState:
        """A new state counting both windows' rows; neither input changes."""
        if self.classes != other.classes or not np.array_equal(self.score_edges, other.score_edges):
            raise DetectorInputError(
                "cannot merge classification states over different classes or score bins; "
                "merge windows of the same baseline only"
            )
        return ClassificationState(
            classes=self.classes,
            score_edges=self.score_edges.copy(),
            confusion=self.confusion + other.confusion,
            true_hist=self.true_hist + other.true_hist,
            pred_hist=self.pred_hist + other.pred_hist,
            n_scored=self.n_scored + other.n_scored,
            brier_sum=self.brier_sum + other.brier_sum,
            log_loss_sum=self.log_loss_sum + other.log_loss_sum,
            ece_count=self.ece_count + other.ece_count,
            ece_confidence=self.ece_confidence + other.ece_confidence,
            ece_correct=self.ece_correct + other.ece_correct,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (lists, ints, floats, strings)."""
        return {
            "classes": list(self.classes),
            "score_edges": self.score_edges.tolist(),
            "confusion": self.confusion.tolist(),
            "true_hist": self.true_hist.tolist(),
            "pred_hist": self.pred_hist.tolist(),
            "n_scored": self.n_scored,
            "brier_sum": self.brier_sum,
            "log_loss_sum": self.log_loss_sum,
            "ece_count": self.ece_count.tolist(),
            "ece_confidence": self.ece_confidence.tolist(),
            "ece_correct": self.ece_correct.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClassificationState:
        """The state `to_dict` wrote; shapes are checked against the classes and bins."""
        state = cls.empty(raw["classes"], raw["score_edges"])
        try:
            loaded = ClassificationState(
                classes=state.classes,
                score_edges=state.score_edges,
                confusion=_counts(raw["confusion"], state.confusion.shape),
                true_hist=_counts(raw["true_hist"], state.true_hist.shape),
                pred_hist=_counts(raw["pred_hist"], state.pred_hist.shape),
                n_scored=int(raw["n_scored"]),
                brier_sum=float(raw["brier_sum"]),
                log_loss_sum=float(raw["log_loss_sum"]),
                ece_count=_counts(raw["ece_count"], state.ece_count.shape),
                ece_confidence=np.asarray(raw["ece_confidence"], dtype=np.float64),
                ece_correct=_counts(raw["ece_correct"], state.ece_correct.shape),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectorInputError(
                f"classification state is not readable ({exc!r}); it was not written by "
                f"ClassificationState.to_dict"
            ) from None
        if loaded.ece_confidence.shape != state.ece_confidence.shape:
            raise DetectorInputError("classification state has the wrong number of ece bins")
        return loaded


def is_uniform(edges: FloatArray) -> bool:
    """Whether the edges split [0, 1] into equal-width bins (up to rounding)."""
    bins = edges.size - 1
    return bool(np.allclose(np.diff(edges), 1.0 / bins, rtol=1e-9, atol=0.0))


def score_bins(edges: FloatArray, scores: FloatArray, *, uniform: bool | None = None) -> IntArray:
    """The bin of each score: edges[b] <= score < edges[b + 1], a score of 1 in the last bin.

    Uniform edges (the default) are found by arithmetic and then corrected by one
    where rounding put a score at an edge on the wrong side, so the result is the
    same as a binary search over the edges, several times faster on large batches.
    """
    bins = edges.size - 1
    if is_uniform(edges) if uniform is None else uniform:
        index = np.minimum((scores * bins).astype(np.int64), bins - 1)
        index -= scores < edges[index]
        index += (scores >= edges[index + 1]) & (index < bins - 1)
        return index
    searched: IntArray = np.searchsorted(edges, scores, side="right") - 1
    return np.minimum(np.maximum(searched, 0), bins - 1)


def _histogram(classes: IntArray, bin_index: IntArray, k: int, bins: int) -> IntArray:
    """Counts over (score column, class, bin), one bincount for every score column at once."""
    columns = bin_index.shape[1]
    slots = (np.arange(columns)[None, :] * k + classes[:, None]) * bins + bin_index
    counts: IntArray = np.bincount(slots.ravel(), minlength=columns * k * bins).reshape(
        columns, k, bins
    )
    return counts


def score_columns(n_classes: int) -> int:
    """Score columns a model with `n_classes` classes has: 1 for binary, else one per class."""
    return 1 if n_classes == 2 else n_classes


def _counts(values: object, shape: tuple[int, ...]) -> IntArray:
    array = np.asarray(values, dtype=np.int64)
    if array.shape != shape or (array.size and array.min() < 0):
        raise ValueError(f"expected non-negative counts of shape {shape}, got {array.shape}")
    return array
