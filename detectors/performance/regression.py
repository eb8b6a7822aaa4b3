"""A regression window's outcome state: four numbers, mergeable, plain JSON.

Errors are `predicted - actual`, so a positive `mean_error` means the model
over-predicts. mae, rmse and mean_error follow from the sums exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError


@dataclass(eq=False, slots=True)
class RegressionState:
    """Row count and the sums of error, |error| and error squared."""

    n: int = 0
    sum_error: float = 0.0
    sum_abs_error: float = 0.0
    sum_squared_error: float = 0.0

    @classmethod
    def empty(cls) -> RegressionState:
        return cls()

    @property
    def n_labelled(self) -> int:
        return self.n

    def add_batch(self, actual: npt.ArrayLike, predicted: npt.ArrayLike) -> None:
        """Count rows with a known outcome (`actual`) and the model's prediction."""
        truth = np.asarray(actual, dtype=np.float64)
        guess = np.asarray(predicted, dtype=np.float64)
        if truth.shape != guess.shape or truth.ndim != 1:
            raise DetectorInputError(
                f"actual has shape {truth.shape} and predicted {guess.shape}; pass two "
                f"one-dimensional arrays with one value per row"
            )
        error = guess - truth
        if not np.isfinite(error).all():
            raise DetectorInputError(
                "actual or predicted holds a missing or infinite value; reject such rows "
                "before counting them"
            )
        self.n += int(error.size)
        self.sum_error += float(error.sum())
        self.sum_abs_error += float(np.abs(error).sum())
        self.sum_squared_error += float(np.square(error).sum())

    def merge(self, other: RegressionState) -> RegressionState:
        return RegressionState(
            n=self.n + other.n,
            sum_error=self.sum_error + other.sum_error,
            sum_abs_error=self.sum_abs_error + other.sum_abs_error,
            sum_squared_error=self.sum_squared_error + other.sum_squared_error,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "sum_error": self.sum_error,
            "sum_abs_error": self.sum_abs_error,
            "sum_squared_error": self.sum_squared_error,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RegressionState:
        try:
            state = cls(
                n=int(raw["n"]),
                sum_error=float(raw["sum_error"]),
                sum_abs_error=float(raw["sum_abs_error"]),
                sum_squared_error=float(raw["sum_squared_error"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectorInputError(
                f"regression state is not readable ({exc!r}); it was not written by "
                f"RegressionState.to_dict"
            ) from None
        if state.n < 0:
            raise DetectorInputError(f"regression state has a negative row count {state.n}")
        return state
