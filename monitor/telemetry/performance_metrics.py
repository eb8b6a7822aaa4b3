"""Performance gauges (issue 14): realised and estimated metrics, label coverage and delay.

Separate from `metrics.py` so that the performance series have one place; they
register on the daemon's `Metrics.registry` and docs/metrics.md lists them.
Label values come from configuration and the baseline (model, metric names),
never from event data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Gauge

PERFORMANCE_METRIC_NAMES: Final = (
    "driftwarden_performance",
    "driftwarden_performance_tier",
    "driftwarden_label_coverage",
    "driftwarden_label_delay_seconds",
)

Kind = Literal["realised", "estimated"]


class PerformanceMetrics:
    """The latest window's performance per model, as gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._value = Gauge(
            "driftwarden_performance",
            "Latest performance metric per model: realised (from outcomes, when a window's "
            "labels are final) or estimated (from scores, at window close).",
            ["model", "metric", "kind"],
            registry=registry,
        )
        self._tier = Gauge(
            "driftwarden_performance_tier",
            "Performance tier per model and kind: 0 none, 1 info, 2 warning, 3 critical.",
            ["model", "kind"],
            registry=registry,
        )
        self._coverage = Gauge(
            "driftwarden_label_coverage",
            "Share of the last final window's sampled predictions that got an outcome.",
            ["model"],
            registry=registry,
        )
        self._delay = Gauge(
            "driftwarden_label_delay_seconds",
            "Label delay of the last final window (upper edge of its histogram bin).",
            ["model", "percentile"],
            registry=registry,
        )

    def set_metrics(self, model: str, kind: Kind, values: Mapping[str, float], tier: int) -> None:
        for metric, value in values.items():
            self._value.labels(model=model, metric=metric, kind=kind).set(value)
        self._tier.labels(model=model, kind=kind).set(tier)

    def set_labels(
        self, model: str, coverage: float, delay_p50: float | None, delay_p95: float | None
    ) -> None:
        self._coverage.labels(model=model).set(coverage)
        for percentile, value in (("50", delay_p50), ("95", delay_p95)):
            if value is not None:
                self._delay.labels(model=model, percentile=percentile).set(value)
