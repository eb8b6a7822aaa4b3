"""Seeded synthetic classifiers with known calibration, for the performance tests.

`LogisticWorld`: two features x ~ N(shift, I); the truth is P(y=1 | x) =
sigmoid(w.x + b) and the model scores sigmoid(temperature x (w.x + b)), so a
temperature of 1 is a perfectly calibrated model, any other a miscalibrated one
whose scores are still monotone in the truth (an isotonic map repairs it).
Moving `shift` is covariate shift only: P(y | x) stays. `concept_flip` flips
that share of labels, a concept drift no score can show.

`SoftmaxWorld` is the same for three classes. `non_monotone_scores` is a model
no isotonic map can calibrate: the true rate goes up and down along the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Rows = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
    return result


@dataclass(frozen=True)
class LogisticWorld:
    weights: tuple[float, float] = (1.5, -1.0)
    bias: float = -0.3
    temperature: float = 1.0

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        shift: tuple[float, float] = (0.0, 0.0),
        concept_flip: float = 0.0,
    ) -> Rows:
        """(labels, predicted, scores of class 1) for n rows."""
        x = rng.normal(size=(n, 2)) + np.asarray(shift)
        logit = x @ np.asarray(self.weights) + self.bias
        labels = (rng.random(n) < _sigmoid(logit)).astype(np.int64)
        if concept_flip:
            flip = rng.random(n) < concept_flip
            labels = np.where(flip, 1 - labels, labels)
        scores = _sigmoid(self.temperature * logit)
        return labels, (scores >= 0.5).astype(np.int64), scores


@dataclass(frozen=True)
class SoftmaxWorld:
    """Three classes; x ~ N(shift, I) in 2-D; logits x @ W + b; calibrated scores."""

    def sample(
        self, rng: np.random.Generator, n: int, *, shift: tuple[float, float] = (0.0, 0.0)
    ) -> Rows:
        w = np.asarray([[1.2, -0.6, -0.6], [0.0, 1.0, -1.0]])
        x = rng.normal(size=(n, 2)) + np.asarray(shift)
        logits = x @ w + np.asarray([0.2, 0.0, -0.2])
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        cumulative = probabilities.cumsum(axis=1)
        labels = (rng.random((n, 1)) > cumulative).sum(axis=1).astype(np.int64)
        labels = np.minimum(labels, 2)
        return labels, probabilities.argmax(axis=1).astype(np.int64), probabilities


def non_monotone_scores(rng: np.random.Generator, n: int, *, low: float = 0.0) -> Rows:
    """Scores uniform on [low, 1]; the true rate 0.5 + 0.45 sin(3 pi s) goes up and down."""
    scores = rng.uniform(low, 1.0, size=n)
    labels = (rng.random(n) < 0.5 + 0.45 * np.sin(3 * np.pi * scores)).astype(np.int64)
    return labels, (scores >= 0.5).astype(np.int64), scores
