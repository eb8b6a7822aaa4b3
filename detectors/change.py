"""Change detection over per-window series, for drift that no single window shows.

A slow creep moves each window a little, never enough to cross a threshold; a
sequential detector over the series of window statistics (a column's mean, its
PSI) accumulates the evidence. River supplies the detectors; this module fixes
their parameters in explicit config objects and makes their state reproducible
from the series alone, so callers persist numbers, never detector objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from driftwarden.detectors.errors import DetectorInputError

DEFAULT_HISTORY = 500
"""Points replayed by `from_history`: 500 five-minute windows is about 42 hours."""


@dataclass(frozen=True, slots=True)
class AdwinParams:
    """ADWIN: adaptive window, flags a change when two sub-windows' means differ.

    `clock` = 1 checks after every point: series are one point per window, so
    checking is cheap and waiting 32 windows (river's default) would delay alerts
    by hours. `delta` is the confidence parameter (smaller: fewer false alarms,
    later detections). Its cut bound has a term that does not shrink with the
    data's spread, so it too expects a standardised series.
    """

    delta: float = 0.002
    clock: int = 1
    max_buckets: int = 5
    min_window_length: int = 5
    grace_period: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.delta < 1.0:
            raise DetectorInputError(f"ADWIN delta {self.delta!r} is not in (0, 1); e.g. 0.002")
        if min(self.clock, self.max_buckets, self.min_window_length) < 1 or self.grace_period < 0:
            raise DetectorInputError(
                "ADWIN clock, max_buckets and min_window_length must be >= 1 and grace_period >= 0"
            )


@dataclass(frozen=True, slots=True)
class PageHinkleyParams:
    """Page-Hinkley: a CUSUM of deviations from the running mean.

    `delta` (the tolerated drift per point) and `threshold` (lambda) are in units
    of the standardised series, i.e. of `scale` (see `SeriesChangeDetector`). The
    defaults are tuned for unit-variance noise: delta = 0.5 targets shifts of
    about one noise standard deviation (the classical CUSUM k = shift / 2), and
    threshold = 10 kept false alarms to 2 in 200,000 points of stationary unit
    noise (see tests/detectors/test_change.py), while a 2-sigma step is caught
    within about 10 points. `min_instances` points are needed
    before any detection.
    """

    threshold: float = 10.0
    delta: float = 0.5
    min_instances: int = 10
    alpha: float = 1 - 1e-4
    mode: Literal["up", "down", "both"] = "both"

    def __post_init__(self) -> None:
        if not (self.threshold > 0 and self.delta >= 0 and 0.0 < self.alpha <= 1.0):
            raise DetectorInputError(
                f"Page-Hinkley needs threshold > 0, delta >= 0 and alpha in (0, 1], got "
                f"{self.threshold!r}, {self.delta!r}, {self.alpha!r}"
            )
        if self.min_instances < 1 or self.mode not in ("up", "down", "both"):
            raise DetectorInputError(
                "Page-Hinkley min_instances must be >= 1 and mode one of 'up', 'down', 'both'"
            )


ChangeParams = AdwinParams | PageHinkleyParams


class SeriesChangeDetector:
    """A change detector over one series, fed one standardised point per window.

    Values are standardised as (x - center) / scale before they reach river, so
    detector parameters mean the same for every column: pass the series' noise
    level as `scale` (e.g. the baseline std divided by sqrt(window size) for a
    series of window means). Both river detectors reset completely after a
    detection, so the state depends only on the points since the last change.
    """

    __slots__ = ("_center", "_detector", "_params", "_scale")

    def __init__(self, params: ChangeParams, *, center: float = 0.0, scale: float = 1.0) -> None:
        if not (math.isfinite(center) and math.isfinite(scale) and scale > 0):
            raise DetectorInputError(
                f"change detector center {center!r} and scale {scale!r} must be finite with "
                "scale > 0; pass the series' baseline level and noise std"
            )
        self._params = params
        self._center = float(center)
        self._scale = float(scale)
        self._detector = _build(params)

    @property
    def params(self) -> ChangeParams:
        """The parameters this detector was built with."""
        return self._params

    def update(self, x: float) -> bool:
        """Feed the next point; True when a change is detected at this point."""
        if not math.isfinite(x):
            raise DetectorInputError(
                f"change detector got a non-finite point {x!r}; skip windows without a value"
            )
        self._detector.update((float(x) - self._center) / self._scale)
        return bool(self._detector.drift_detected)

    @classmethod
    def from_history(
        cls,
        values: Iterable[float],
        params: ChangeParams,
        *,
        center: float = 0.0,
        scale: float = 1.0,
        history: int = DEFAULT_HISTORY,
    ) -> SeriesChangeDetector:
        """Rebuild a detector by replaying the last `history` points of a series.

        Detections during the replay are discarded: they belong to windows that
        were already evaluated. The rebuilt state equals the live one whenever
        the live detector's last reset lies inside the replayed span and the
        replay detects at the same points, which holds when the whole series fits
        in `history`; otherwise it is the state of a detector started `history`
        points ago, an equally valid detector with a different past.
        """
        if history < 1:
            raise DetectorInputError(
                f"change detector history {history!r} must be >= 1 points to replay"
            )
        detector = cls(params, center=center, scale=scale)
        recent = list(values)[-history:]
        for x in recent:
            detector.update(x)
        return detector


def detect_changes(
    series: Sequence[float],
    params: ChangeParams,
    *,
    center: float = 0.0,
    scale: float = 1.0,
) -> list[int]:
    """Indices of `series` at which a fresh detector flags a change."""
    detector = SeriesChangeDetector(params, center=center, scale=scale)
    return [i for i, x in enumerate(series) if detector.update(x)]


def _build(params: ChangeParams) -> Any:
    """The river detector for `params` (river is untyped, hence Any).

    river is imported here, at the first detector built, not with this module: importing
    `river.drift` imports its whole detector zoo, KSWIN's `scipy.stats` and its data sets
    included (~0.8 s), which start-up (`replay` of a short file, `validate-config`) should
    not pay. The class comes from its own module, where river defines it.
    """
    if isinstance(params, AdwinParams):
        from river.drift.adwin import ADWIN  # noqa: PLC0415

        return ADWIN(  # type: ignore[no-untyped-call]  # river leaves it unannotated  # type: ignore[no-untyped-call]  # river leaves it unannotated
            delta=params.delta,
            clock=params.clock,
            max_buckets=params.max_buckets,
            min_window_length=params.min_window_length,
            grace_period=params.grace_period,
        )
    from river.drift.page_hinkley import PageHinkley  # noqa: PLC0415

    return PageHinkley(
        min_instances=params.min_instances,
        delta=params.delta,
        threshold=params.threshold,
        alpha=params.alpha,
        mode=params.mode,
    )
