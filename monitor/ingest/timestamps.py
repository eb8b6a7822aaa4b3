"""Event times: RFC 3339 strings or epoch seconds/milliseconds, to epoch seconds.

A time outside [EARLIEST_TIMESTAMP, LATEST_TIMESTAMP) is `bad_timestamp`: every
accepted time can then be windowed, dated and reported.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import repeat

import numpy as np
import numpy.typing as npt

MILLISECONDS_THRESHOLD = 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973
EARLIEST_TIMESTAMP = 0.0  # 1970-01-01T00:00:00Z
LATEST_TIMESTAMP = 32_503_680_000.0  # 3000-01-01T00:00:00Z, excluded
"""The plausible range of event times: every window in it has a start and end that
dates, clocks and reports can represent (Python's datetime stops at 9999)."""


def parse_timestamps(
    values: list[object], fallback: Sequence[float] | None = None
) -> tuple[npt.NDArray[np.float64], list[tuple[int, str]]]:
    """Epoch seconds for each value, and (position, detail) for those that are not times.

    A time outside [EARLIEST_TIMESTAMP, LATEST_TIMESTAMP) is not one: whatever a
    producer sends, every accepted time can be windowed, dated and reported.
    """
    n = len(values)
    types = list(map(type, values))
    parsed: npt.NDArray[np.float64] | None = None
    if types.count(str) == n:
        parsed = _parse_rfc3339_fast(values)  # type: ignore[arg-type]
    elif types.count(float) + types.count(int) == n:
        try:
            parsed = _epoch_seconds(np.array(values, dtype=np.float64))
        except OverflowError:  # an integer beyond float range: value by value
            parsed = None
    if parsed is not None and _plausible(parsed).all():  # NaN and infinity are not
        return parsed, []
    out = np.zeros(n, dtype=np.float64)
    errors: list[tuple[int, str]] = []
    for j, (value, kind) in enumerate(zip(values, types, strict=True)):
        try:
            if value is None and fallback is not None:
                out[j] = _in_range(float(fallback[j]), "source timestamp")
            else:
                out[j] = _parse_one(value, kind)
        except ValueError as exc:
            errors.append((j, str(exc)))
    return out, errors


def _plausible(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return (seconds >= EARLIEST_TIMESTAMP) & (seconds < LATEST_TIMESTAMP)


def _in_range(seconds: float, what: object) -> float:
    if not EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP:  # False for NaN too
        raise ValueError(
            f"{what} is outside 1970-01-01T00:00:00Z .. 3000-01-01T00:00:00Z; {_PARSE_HINT}"
        )
    return seconds


def _epoch_seconds(array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(np.abs(array) >= MILLISECONDS_THRESHOLD, array / 1000.0, array)


def _parse_rfc3339_fast(values: list[str]) -> npt.NDArray[np.float64] | None:
    """numpy's C parser for the common `...Z` / no-offset form; None to fall back.

    A lowercase `z` or an explicit offset is left for numpy to refuse (it warns on
    offsets), and the exact path then parses the slice.
    """
    stripped = list(map(str.removesuffix, values, repeat("Z")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an explicit offset warns: take the exact path
            parsed = np.array(stripped, dtype="datetime64[us]")
    except (ValueError, Warning):
        return None
    if np.isnat(parsed).any():
        return None
    return parsed.astype(np.int64).astype(np.float64) / 1e6


_PARSE_HINT = "use RFC 3339 (2026-01-05T00:00:00Z) or epoch seconds/milliseconds"


def _parse_one(value: object, kind: type) -> float:
    if value is None:
        raise ValueError(f"missing timestamp; {_PARSE_HINT}")
    if kind is str:
        text = value
        assert isinstance(text, str)
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ValueError(f"cannot parse timestamp {text[:64]!r}; {_PARSE_HINT}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            seconds = moment.timestamp()
        except (OverflowError, OSError):  # pragma: no cover - datetime's own range is smaller
            seconds = math.nan
        return _in_range(seconds, f"timestamp {text[:64]!r}")
    if kind is int or kind is float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            number = math.inf
        shown = f"timestamp {str(value)[:64]}"
        if not math.isfinite(number):
            raise ValueError(f"{shown} is not a finite number; {_PARSE_HINT}")
        return _in_range(float(_epoch_seconds(np.array([number]))[0]), shown)
    raise ValueError(f"timestamp of type {kind.__name__}; {_PARSE_HINT}")
