"""Per prediction window: the outcomes joined to it, and when its labels are final.

`JoinedOutcomes` is the one integration point between the join and whatever
measures performance: every joined (prediction, outcome) pair reaches the
window of its *prediction* through `LabelledWindow.add`, in batches. The window
keeps constant-size state (counts and a delay histogram here; the confusion
counts and score histograms of `detectors.performance` plug in beside them).

A window is *final* when the share of its sampled predictions that has an
outcome reaches `outcomes.min_coverage` after the prediction window closed, or
when its horizon has passed (every prediction of it expired: no outcome can join
any more). The record goes on counting outcomes until the horizon, then leaves
the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from driftwarden.monitor.windows.performance import LabelledPerformance

DELAY_EDGES: npt.NDArray[np.float64] = np.concatenate(([0.0], np.geomspace(1.0, 400 * 86400.0, 63)))
"""Label delay histogram edges (seconds): 0, then 1 s to 400 days in 63 log steps
(about 23% apart), so p50/p95 are read to within a bin at constant size."""

FinalReason = Literal["coverage", "horizon"]


@dataclass(frozen=True, slots=True)
class JoinedOutcomes:
    """Outcomes joined to predictions of one model's prediction window.

    `predictions[i]` holds the prediction's outputs by baseline output column
    (the label, scores or value), `outcomes[i]` the truth, `delays[i]` the
    seconds from prediction to outcome (0 for an outcome the prediction carried).
    """

    model_id: str
    window: int
    request_ids: list[str]
    predictions: list[dict[str, object]]
    outcomes: list[object]
    delays: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.request_ids)


@dataclass(slots=True)
class LabelledWindow:
    """One prediction window's labels so far; plain data that round-trips."""

    model_id: str
    window: int
    end: float
    """Event time after which no prediction of the window exists (time windows: its end;
    count windows: the latest prediction seen); the horizon passes at end + horizon."""
    n_predictions: int = 0
    n_labelled: int = 0
    delays: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(len(DELAY_EDGES), dtype=np.int64)
    )
    final: FinalReason | None = None
    # Issue 14: the joined pairs' confusion counts and score histograms (realised metrics);
    # None without a performance section in the baseline. `OutcomeJoin._emit` counts them.
    performance: LabelledPerformance | None = None

    @property
    def label_coverage(self) -> float:
        return self.n_labelled / self.n_predictions if self.n_predictions else 0.0

    def add(self, joined: JoinedOutcomes) -> None:
        """The integration point: realised performance state consumes `joined` here."""
        self.n_labelled += len(joined)
        bins = np.searchsorted(DELAY_EDGES, np.maximum(joined.delays, 0.0), side="right") - 1
        self.delays += np.bincount(bins, minlength=len(DELAY_EDGES))

    def delay_quantile(self, q: float) -> float | None:
        """Upper edge of the delay bin holding quantile `q`; None before any label."""
        if not self.n_labelled:
            return None
        rank = int(np.searchsorted(np.cumsum(self.delays), q * self.n_labelled, side="left"))
        return float(DELAY_EDGES[min(rank + 1, len(DELAY_EDGES) - 1)])

    def to_raw(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "window": self.window,
            "end": self.end,
            "n_predictions": self.n_predictions,
            "n_labelled": self.n_labelled,
            "delays": self.delays.tolist(),
            "final": self.final,
            "performance": None if self.performance is None else self.performance.to_raw(),
        }

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> LabelledWindow:
        return cls(
            model_id=str(raw["model_id"]),
            window=int(raw["window"]),
            end=float(raw["end"]),
            n_predictions=int(raw["n_predictions"]),
            n_labelled=int(raw["n_labelled"]),
            delays=np.asarray(raw["delays"], dtype=np.int64),
            final=raw["final"],
            performance=(
                None
                if raw.get("performance") is None
                else LabelledPerformance.from_raw(raw["performance"])
            ),
        )

    def summary(self) -> dict[str, Any]:
        """The window's label record as reports and logs show it."""
        return {
            "model_id": self.model_id,
            "window": self.window,
            "n_predictions": self.n_predictions,
            "n_labelled": self.n_labelled,
            "label_coverage": self.label_coverage,
            "label_delay_p50": self.delay_quantile(0.5),
            "label_delay_p95": self.delay_quantile(0.95),
            "final": self.final,
        }
