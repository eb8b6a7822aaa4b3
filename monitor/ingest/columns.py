"""One column of a batch from the decoded values: numbers, category codes, request ids.

These are the per-value rules of the README (a string where a number belongs is
a type error, numbers are categories by their JSON text, ...), applied with
C-level calls over the whole column; only a column holding something unusual
takes the value-by-value path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import category_label
from driftwarden.monitor.ingest.batch import ColumnValues
from driftwarden.monitor.ingest.layout import MISSING_CODE, TYPE_ERROR_CODE, ColumnSlot

_NONE_TYPE = type(None)
_REQUEST_ID_LIMIT = 1 << 64


def numeric_column(values: list[object]) -> ColumnValues:
    """Float values with NaN where missing or wrong; masks say which is which."""
    n = len(values)
    types = list(map(type, values))
    fast = _numbers_at_once(values, types)
    if fast is not None:
        return fast
    array = np.full(n, np.nan, dtype=np.float64)
    missing = np.zeros(n, dtype=np.bool_)
    bad = np.zeros(n, dtype=np.bool_)
    for j, (value, kind) in enumerate(zip(values, types, strict=True)):
        if value is None:
            missing[j] = True
        elif kind is float or kind is int:
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError:
                bad[j] = True
                continue
            if math.isfinite(number):
                array[j] = number
            else:
                bad[j] = True
        else:
            bad[j] = True
    return ColumnValues(array, missing, bad)


def _numbers_at_once(values: list[object], types: list[type]) -> ColumnValues | None:
    """The column in one `np.array` call when it holds only numbers and None, else None."""
    n_none = types.count(_NONE_TYPE)
    if types.count(float) + types.count(int) + n_none != len(values):
        return None
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:
        return None  # an integer beyond float range: classify value by value
    nan = np.isnan(array)
    if int(np.count_nonzero(nan)) != n_none:  # a NaN that did not come from None
        return None
    bad = np.isinf(array)
    if bad.any():
        array[bad] = np.nan
    return ColumnValues(array, nan, bad)


def categorical_column(values: list[object], slot: ColumnSlot) -> ColumnValues:
    """Category codes: top-k index, other, new, or MISSING_CODE / TYPE_ERROR_CODE."""
    n = len(values)
    types = list(map(type, values))
    lookup = slot.lookup
    if types.count(str) + types.count(_NONE_TYPE) == n:
        codes = np.fromiter(map(lookup.get, values, repeat(slot.new_code)), dtype=np.int64, count=n)
    else:
        codes = np.empty(n, dtype=np.int64)
        for j, (value, kind) in enumerate(zip(values, types, strict=True)):
            if value is None or kind is str:
                codes[j] = lookup.get(value, slot.new_code)
            elif kind is bool or kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
                # Spelled exactly as the baseline builder spells training values.
                codes[j] = lookup.get(category_label(value), slot.new_code)
            else:
                codes[j] = TYPE_ERROR_CODE
    return ColumnValues(codes, codes == MISSING_CODE, codes == TYPE_ERROR_CODE)


# --- timestamps -------------------------------------------------------------------------


def unknown_per_event(
    slots: Sequence[ColumnSlot],
    features: list[dict[str, object]],
    predictions: list[dict[str, object]],
) -> npt.NDArray[np.int64]:
    counts = np.fromiter(map(len, features), dtype=np.int64, count=len(features))
    counts += np.fromiter(map(len, predictions), dtype=np.int64, count=len(predictions))
    for slot in slots:
        source = features if slot.role == "feature" else predictions
        counts -= np.fromiter(
            map(dict.__contains__, source, repeat(slot.name)), dtype=np.bool_, count=len(source)
        )
    return counts


def request_id_keys(values: list[object]) -> list[object]:
    """Request ids as deduplication keys them: strings and numbers; anything else is no id.

    An object or list has no stable spelling, and an integer beyond 64 bits is
    no one's request id.
    """
    types = list(map(type, values))
    if types.count(str) + types.count(_NONE_TYPE) == len(values):
        return values
    return [
        value
        if kind is str
        or kind is bool
        or kind is float
        or (kind is int and -_REQUEST_ID_LIMIT < value < _REQUEST_ID_LIMIT)  # type: ignore[operator]
        else None
        for value, kind in zip(values, types, strict=True)
    ]
