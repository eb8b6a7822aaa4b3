"""A window's state: fixed-size counts that can be merged, saved and restored.

This is the one structure that checkpoints, replay, partition scale-out and
tests all build on. It holds counts and sums per column, never events, so its
size is columns x bins whatever the traffic. `merge` is exact for every field:
counts are integers, and each numeric column's sum is the exact sum of its
values as an integer (`detectors.exact_sum`), so a window's mean is the same
float however its events were cut into batches and partitions, and merged in
whatever order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from driftwarden.detectors.exact_sum import exact_mean, units
from driftwarden.detectors.performance import ClassificationState
from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.windows.performance import prediction_state

_FORMAT = 2  # 2: exact integer sums, no sums of squares
_READABLE_FORMATS = (1, 2)
"""Format 1 (float sums) is read so that an upgrade keeps its open windows; see `_float_sums`."""
_INT_FIELDS = ("bins", "missing", "type_errors", "counted")
_FLOAT_FIELDS = ("mins", "maxs")
_MAX_SHIFT = 2200  # a sum's low zero bits: below 1024 + 1074 for any sum of floats


@dataclass(slots=True)
class WindowState:
    """Counts of one model in one window (or one partition's share of it).

    `bins` concatenates every column's bin counts (see `ModelLayout`);
    `counted` is the per-column number of values that landed in a bin, i.e.
    neither missing nor a type error. `sums[i]` is the exact sum of numeric
    column i's counted values in units of 2**-1074 (`detectors.exact_sum`; 0
    for a categorical column); `mins` and `maxs` cover numeric values only.
    """

    model_id: str
    key: int
    events: int
    unknown_features: int
    first_ts: float
    last_ts: float
    bins: npt.NDArray[np.int64]
    missing: npt.NDArray[np.int64]
    type_errors: npt.NDArray[np.int64]
    counted: npt.NDArray[np.int64]
    sums: list[int]
    mins: npt.NDArray[np.float64]
    maxs: npt.NDArray[np.float64]
    # Issue 14 hook: predicted classes and scores for the estimate before labels
    # (monitor/windows/performance.py); None without a classification performance section.
    performance: ClassificationState | None = None

    @classmethod
    def empty(cls, layout: ModelLayout, key: int) -> WindowState:
        n = len(layout.columns)
        return cls(
            model_id=layout.model_id,
            key=key,
            events=0,
            unknown_features=0,
            first_ts=float("inf"),
            last_ts=float("-inf"),
            bins=np.zeros(layout.total_bins, dtype=np.int64),
            missing=np.zeros(n, dtype=np.int64),
            type_errors=np.zeros(n, dtype=np.int64),
            counted=np.zeros(n, dtype=np.int64),
            sums=[0] * n,
            mins=np.full(n, np.inf, dtype=np.float64),
            maxs=np.full(n, -np.inf, dtype=np.float64),
            performance=prediction_state(layout),
        )

    def merge(self, other: WindowState) -> WindowState:
        """The state of both windows' events together; neither input changes."""
        if (other.model_id, other.key) != (self.model_id, self.key):
            raise ValueError(
                f"cannot merge window {other.model_id}#{other.key} into {self.model_id}#{self.key}"
            )
        if other.bins.shape != self.bins.shape:
            raise ValueError("cannot merge windows built from different baselines")
        return WindowState(
            model_id=self.model_id,
            key=self.key,
            events=self.events + other.events,
            unknown_features=self.unknown_features + other.unknown_features,
            first_ts=min(self.first_ts, other.first_ts),
            last_ts=max(self.last_ts, other.last_ts),
            bins=self.bins + other.bins,
            missing=self.missing + other.missing,
            type_errors=self.type_errors + other.type_errors,
            counted=self.counted + other.counted,
            sums=[a + b for a, b in zip(self.sums, other.sums, strict=True)],
            mins=np.minimum(self.mins, other.mins),
            maxs=np.maximum(self.maxs, other.maxs),
            performance=_merge_performance(self.performance, other.performance),
        )

    def mean(self, column: int) -> float:
        """Column `column`'s mean: its exact sum over its count, correctly rounded.

        Needs at least one counted value.
        """
        return exact_mean(self.sums[column], int(self.counted[column]))

    def to_bytes(self) -> bytes:
        """A compact, versioned, pickle-free encoding (msgpack + raw little-endian arrays)."""
        doc: dict[str, Any] = {
            "format": _FORMAT,
            "model_id": self.model_id,
            "key": self.key,
            "events": self.events,
            "unknown_features": self.unknown_features,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
        }
        for name in _INT_FIELDS:
            doc[name] = getattr(self, name).astype("<i8").tobytes()
        for name in _FLOAT_FIELDS:
            doc[name] = getattr(self, name).astype("<f8").tobytes()
        doc["sums"] = [_encode_sum(total) for total in self.sums]
        if self.performance is not None:
            doc["performance"] = self.performance.to_dict()
        return msgspec.msgpack.encode(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> WindowState:
        try:
            doc = msgspec.msgpack.decode(data)
            if doc.get("format") not in _READABLE_FORMATS:
                raise CheckpointError(
                    f"window state format {doc.get('format')!r} is not one of "
                    f"{_READABLE_FORMATS}; it was written by another driftwarden version: "
                    "delete the checkpoint to start from the committed offsets"
                )
            arrays: dict[str, Any] = {}
            for name in _INT_FIELDS:
                arrays[name] = np.frombuffer(doc[name], dtype="<i8").astype(np.int64)
            for name in _FLOAT_FIELDS:
                arrays[name] = np.frombuffer(doc[name], dtype="<f8").astype(np.float64)
            arrays["sums"] = (
                [_decode_sum(raw) for raw in doc["sums"]]
                if doc["format"] == _FORMAT
                else _float_sums(doc["sums"])
            )
            if doc.get("performance") is not None:
                arrays["performance"] = ClassificationState.from_dict(doc["performance"])
            return cls(
                model_id=str(doc["model_id"]),
                key=int(doc["key"]),
                events=int(doc["events"]),
                unknown_features=int(doc["unknown_features"]),
                first_ts=float(doc["first_ts"]),
                last_ts=float(doc["last_ts"]),
                **arrays,
            )
        except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"window state is unreadable: {exc}") from None


def _encode_sum(total: int) -> list[Any]:
    """An exact sum as [shift, signed big-endian bytes of total >> shift]: msgpack
    integers stop at 64 bits, and the low bits of a sum in units of 2**-1074 are
    mostly zero (a sum near 1 is about 2**1074 units), so they are shifted out."""
    shift = (total & -total).bit_length() - 1 if total else 0
    significand = total >> shift
    return [shift, significand.to_bytes(significand.bit_length() // 8 + 1, "big", signed=True)]


def _decode_sum(raw: Any) -> int:
    shift, significand = raw
    if not isinstance(shift, int) or not 0 <= shift <= _MAX_SHIFT:
        raise ValueError(f"a sum's shift {shift!r} is not an integer in 0..{_MAX_SHIFT}")
    return int.from_bytes(significand, "big", signed=True) << shift


def _float_sums(raw: bytes) -> list[int]:
    """Format 1's float sums as exact sums of what they hold: an open window carried
    across an upgrade keeps every count, and its mean keeps the last-bit order
    dependence the old sum already had. A sum that had saturated at infinity has no
    exact value, so that checkpoint is refused as before."""
    sums = np.frombuffer(raw, dtype="<f8")
    if not np.isfinite(sums).all():
        raise ValueError("a format-1 window sum overflowed to infinity")
    return [units(float(total)) for total in sums]


def _merge_performance(
    a: ClassificationState | None, b: ClassificationState | None
) -> ClassificationState | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)
