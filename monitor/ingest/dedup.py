"""De-duplication of retried events by request id, within a bounded window.

Producers that retry without idempotence can write one prediction twice. When
`events.dedup_window` is set, each stream (a replay, or one Kafka partition:
a retried record keeps its key, hence its partition) remembers the request ids
it counted in the last `dedup_window` seconds of event time, at most
`dedup_max_keys` of them, and rejects a repeat with reason `duplicate`. The
memory is bounded by those two settings and travels in checkpoints with the
stream, so a restart does not count a retry that was already counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


class RecentIds:
    """Request ids seen recently, oldest first; events without an id always pass."""

    def __init__(self, *, window: float, max_keys: int) -> None:
        self.window = window
        self.max_keys = max_keys
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._newest = float("-inf")

    def __len__(self) -> int:
        return len(self._ids)

    def admit(
        self, model_id: str, ids: Sequence[object], times: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """True for events to count, False for repeats of an id counted recently."""
        keep = np.ones(len(ids), dtype=np.bool_)
        seen = self._ids
        for i, (request_id, ts) in enumerate(zip(ids, times.tolist(), strict=True)):
            if request_id is None:
                continue
            if ts > self._newest:
                self._newest = ts
                self._expire()  # per event: an id may age out in the middle of a batch
            key = f"{model_id}\x00{request_id}"
            if key in seen:
                keep[i] = False
                continue
            seen[key] = ts
        self._expire()
        return keep

    def _expire(self) -> None:
        horizon = self._newest - self.window
        seen = self._ids
        while seen and (len(seen) > self.max_keys or next(iter(seen.values())) < horizon):
            seen.popitem(last=False)

    def to_raw(self) -> dict[str, Any]:
        return {"newest": self._newest, "ids": list(self._ids.items())}

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], *, window: float, max_keys: int) -> RecentIds:
        recent = cls(window=window, max_keys=max_keys)
        recent._newest = float(raw["newest"])
        recent._ids = OrderedDict((str(k), float(v)) for k, v in raw["ids"])
        recent._expire()
        return recent
