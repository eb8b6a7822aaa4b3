"""Reading a live window's model outputs the way the baseline's performance section says.

The performance section names the output columns that carry the predicted
class (or value) and the class probabilities. Ingestion decodes an event's
`prediction` object into columns like any other output; this module turns
those columns into what a window's outcome state counts: class indices
(`-1` where the prediction is missing or not a baseline class, for the caller
to reject with a reason) and a score matrix (NaN where a score is missing,
which the state leaves out of the score metrics). Outcomes are read with the
same spelling rules (`artifact.category_label`), so `1`, `1.0` and `"1"` are
one class, and `true` is `"true"`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import category_label
from driftwarden.baselines.errors import BaselineError
from driftwarden.baselines.performance import ReferencePerformance

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ModelOutputs:
    """One batch of predictions as the outcome state takes them.

    `predicted`: class indices, -1 where missing or unknown (classification);
    for regression the predicted values, NaN where missing. `scores`: (rows,
    score columns) probabilities with NaN where missing, or None when the
    baseline has no score columns.
    """

    predicted: IntArray | FloatArray
    scores: FloatArray | None


def read_outputs(perf: ReferencePerformance, columns: Mapping[str, npt.ArrayLike]) -> ModelOutputs:
    """The predicted classes (or values) and scores of a batch of events.

    `columns` maps output column names to one value per event (None or NaN
    where the event lacks it); a column the baseline names but the batch lacks
    entirely counts as missing in every row.
    """
    rows = _rows(columns)
    if perf.task == "regression":
        assert perf.prediction is not None  # a regression section always names it
        return ModelOutputs(_floats(columns.get(perf.prediction), rows), None)
    scores = None
    if perf.score_columns:
        scores = np.stack([_floats(columns.get(c), rows) for c in perf.score_columns], axis=1)
    if perf.prediction is not None:
        values = columns.get(perf.prediction)
        predicted = encode_classes(perf, np.full(rows, None) if values is None else values)
    elif scores is None:  # pragma: no cover - the build refuses a section with neither
        raise BaselineError("the performance section names neither a prediction nor scores")
    else:
        missing = ~np.isfinite(scores).all(axis=1)
        if perf.task == "binary":
            threshold = perf.threshold if perf.threshold is not None else 0.5
            predicted = (np.nan_to_num(scores[:, 0], nan=0.0) >= threshold).astype(np.int64)
        else:
            predicted = np.nan_to_num(scores, nan=-1.0).argmax(axis=1).astype(np.int64)
        predicted[missing] = -1
    return ModelOutputs(predicted, scores)


def encode_classes(perf: ReferencePerformance, values: npt.ArrayLike) -> IntArray:
    """Class indices of outcome or prediction values; -1 for missing or unknown ones."""
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"expected one value per event, got shape {array.shape}")
    lookup = {name: i for i, name in enumerate(perf.classes)}
    result = np.full(array.size, -1, dtype=np.int64)
    # Cached by type and value: True == 1 in Python, but "true" is not "1".
    cache: dict[tuple[type, Any], int] = {}
    for i, value in enumerate(array.tolist()):
        try:
            key = (type(value), value)
            index = cache.get(key)
            if index is None:
                index = cache[key] = _class_index(value, lookup)
        except TypeError:  # unhashable: a list or an object, not a class
            index = -1
        result[i] = index
    return result


def _class_index(value: Any, lookup: Mapping[str, int]) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -1
    try:
        return lookup.get(category_label(value), -1)
    except TypeError:  # a list or an object: not a class
        return -1


def _floats(values: npt.ArrayLike | None, rows: int) -> FloatArray:
    if values is None:
        return np.full(rows, np.nan)
    out = np.full(rows, np.nan)
    for i, value in enumerate(np.asarray(values, dtype=object).tolist()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[i] = float(value)
    return out


def _rows(columns: Mapping[str, npt.ArrayLike]) -> int:
    lengths = {len(np.asarray(v, dtype=object)) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"output columns have different lengths {sorted(lengths)}")
    return lengths.pop() if lengths else 0
