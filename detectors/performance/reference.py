"""Reference performance: each metric's value on the reference and its spread.

The spread is the standard deviation of the metric over bootstrap resamples of
`rows` reference rows (drawn with replacement, seeded): chunks of the reference
as a window of that size would see it, without depending on how the reference
file happens to be ordered. `significance.py` scales it to a window's n.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance.classification import ClassificationState
from driftwarden.detectors.performance.metrics import realised_metrics
from driftwarden.detectors.performance.regression import RegressionState
from driftwarden.detectors.performance.significance import ReferenceMetric

DEFAULT_RESAMPLES = 200
DEFAULT_RESAMPLE_ROWS = 10_000
_COUNTS = frozenset({"n_labelled", "n_scored"})


def classification_reference(
    labels: npt.ArrayLike,
    predicted: npt.ArrayLike,
    scores: npt.ArrayLike | None,
    classes: Sequence[str],
    score_edges: npt.ArrayLike,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    rows: int = DEFAULT_RESAMPLE_ROWS,
    seed: int = 0,
) -> tuple[ClassificationState, dict[str, ReferenceMetric]]:
    """The reference's state over all rows, and every metric's value and spread."""
    state = ClassificationState.empty(classes, score_edges)
    truth = state.class_indices(labels, "labels")
    guess = state.class_indices(predicted, "predicted")
    matrix = None if scores is None else state.score_matrix(scores, truth.size)
    state.add_batch(truth, guess, matrix)
    draws = []
    for indices in _resamples(truth.size, resamples=resamples, rows=rows, seed=seed):
        sample = ClassificationState.empty(state.classes, state.score_edges)
        sample.add_batch(
            truth[indices], guess[indices], None if matrix is None else matrix[indices]
        )
        draws.append(realised_metrics(sample))
    return state, _summarise(realised_metrics(state), draws, truth.size, rows)


def regression_reference(
    actual: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    rows: int = DEFAULT_RESAMPLE_ROWS,
    seed: int = 0,
) -> tuple[RegressionState, dict[str, ReferenceMetric]]:
    """The reference's regression state, and mae, rmse, mean_error with their spread."""
    truth = np.asarray(actual, dtype=np.float64)
    guess = np.asarray(predicted, dtype=np.float64)
    state = RegressionState.empty()
    state.add_batch(truth, guess)
    draws = []
    for indices in _resamples(truth.size, resamples=resamples, rows=rows, seed=seed):
        sample = RegressionState.empty()
        sample.add_batch(truth[indices], guess[indices])
        draws.append(realised_metrics(sample))
    return state, _summarise(realised_metrics(state), draws, truth.size, rows)


def _resamples(n: int, *, resamples: int, rows: int, seed: int) -> list[npt.NDArray[np.int64]]:
    if n == 0:
        raise DetectorInputError("reference performance needs at least one labelled row")
    if resamples < 2 or rows < 1:
        raise DetectorInputError(
            f"reference performance needs resamples >= 2 and rows >= 1, got {resamples}, {rows}"
        )
    rng = np.random.default_rng(seed)
    size = min(n, rows)
    return [rng.integers(0, n, size=size) for _ in range(resamples)]


def _summarise(
    full: dict[str, float], draws: list[dict[str, float]], n: int, rows: int
) -> dict[str, ReferenceMetric]:
    size = min(n, rows)
    result = {}
    for metric, value in full.items():
        if metric in _COUNTS:
            continue
        values = [d[metric] for d in draws if metric in d]
        if len(values) < len(draws) // 2:  # undefined in most resamples: no spread to trust
            continue
        result[metric] = ReferenceMetric(
            value=value, std=float(np.std(values, ddof=1)), rows=size, n_reference=n
        )
    return result
