"""Did a window's performance drop significantly below the reference?

The reference records each metric's value on the whole reference and its
spread: the standard deviation over bootstrap resamples of `rows` reference
rows (`reference.py`). At a window of n rows, a metric from the same
population as the reference differs from the reference value with variance

    std^2 x rows x (1/n + 1/n_reference),

the window's sampling error plus the reference's own. The test is one-sided
normal in the bad direction (a drop for accuracy, precision, recall, f1,
roc_auc; a rise for brier, log_loss, ece, mae, rmse; either way for
mean_error), Bonferroni-corrected over the metrics tested in one window.

A finding needs both: significance (p below alpha / metrics tested) and size,
a change of at least the `info` threshold in the metric's own units ("accuracy
fell by 0.03 or more"); its severity is the highest threshold the change
reaches. Significance alone would page on trivial changes in huge windows;
size alone would page on noise in small ones.

Scaling the spread by rows / n assumes the window has the reference's class
mix; under label shift the variance of recall or precision differs, which is
one more reason the default alpha is strict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance.estimation import Estimate
from driftwarden.detectors.performance.metrics import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    SCORE_METRICS,
    TWO_SIDED,
)

Severity = Literal["info", "warning", "critical"]
MetricKind = Literal["realised", "estimated"]

_ROUNDING = 1e-12
DEFAULT_ALPHA = 1e-4
"""Per window, over all metrics tested: at most one false finding in 10,000 windows
with no drift, before the threshold in metric units and the tier's sustain."""


@dataclass(frozen=True, slots=True)
class ReferenceMetric:
    """A metric on the reference: its value, and its spread at `rows` rows."""

    value: float
    std: float
    rows: int
    n_reference: int


@dataclass(frozen=True, slots=True)
class ChangeThresholds:
    """Changes, in the metric's units, at or above which a finding is info, warning, critical.

    `relative` thresholds are shares of the reference value (for mae and rmse,
    whose units are the target's).
    """

    info: float
    warning: float
    critical: float
    relative: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.info <= self.warning <= self.critical:
            raise DetectorInputError(
                f"performance thresholds must satisfy 0 <= info <= warning <= critical, got "
                f"{self.info} / {self.warning} / {self.critical}"
            )


DEFAULT_THRESHOLDS: Mapping[str, ChangeThresholds] = {
    "accuracy": ChangeThresholds(0.01, 0.03, 0.05),
    "precision": ChangeThresholds(0.02, 0.05, 0.10),
    "recall": ChangeThresholds(0.02, 0.05, 0.10),
    "f1": ChangeThresholds(0.02, 0.05, 0.10),
    "roc_auc": ChangeThresholds(0.01, 0.03, 0.05),
    "brier": ChangeThresholds(0.01, 0.02, 0.05),
    "log_loss": ChangeThresholds(0.02, 0.05, 0.10),
    "mae": ChangeThresholds(0.05, 0.10, 0.20, relative=True),
    "rmse": ChangeThresholds(0.05, 0.10, 0.20, relative=True),
    "mean_error": ChangeThresholds(0.05, 0.10, 0.20, relative=True),
}
"""Defaults in metric units; `mean_error`'s are shares of the reference rmse.

`ece` has none: it is biased upward in small samples (about 0.02 at 2,000 rows for a
perfectly calibrated model), so a window's value is not comparable with the
reference's; it is reported, not tested, unless a caller passes a threshold."""


@dataclass(frozen=True, slots=True)
class PerformanceFinding:
    """A significant, large enough change of one metric in one window.

    `change` is current - reference (negative for a drop); `n` the rows the
    metric was computed from (labelled rows, or scored predictions).
    """

    metric: str
    kind: MetricKind
    reference: float
    current: float
    change: float
    n: int
    p_value: float
    severity: Severity


def performance_findings(
    current: Mapping[str, float],
    reference: Mapping[str, ReferenceMetric],
    *,
    n_labelled: int,
    n_scored: int | None = None,
    kind: MetricKind = "realised",
    thresholds: Mapping[str, ChangeThresholds] = DEFAULT_THRESHOLDS,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[PerformanceFinding, ...]:
    """Findings for the metrics of `current` that worsened significantly and enough.

    `n_scored` is the row count of score metrics (roc_auc, brier, log_loss,
    ece), `n_labelled` that of the others; an estimate passes its scored
    predictions for both. Metrics without a reference, threshold or rows are
    not tested.
    """
    if not 0 < alpha < 1:
        raise DetectorInputError(f"alpha must be in (0, 1), got {alpha}")
    tested = []
    for metric, value in current.items():
        ref = reference.get(metric)
        rule = thresholds.get(metric)
        n = n_scored if metric in SCORE_METRICS and n_scored is not None else n_labelled
        if ref is None or rule is None or n <= 0 or not math.isfinite(value):
            continue
        tested.append((metric, value, ref, rule, n))
    findings = (
        _finding(
            metric, value, ref, rule, n, reference=reference, kind=kind, alpha=alpha / len(tested)
        )
        for metric, value, ref, rule, n in tested
    )
    return tuple(f for f in findings if f is not None)


def _finding(
    metric: str,
    value: float,
    ref: ReferenceMetric,
    rule: ChangeThresholds,
    n: int,
    *,
    reference: Mapping[str, ReferenceMetric],
    kind: MetricKind,
    alpha: float,
) -> PerformanceFinding | None:
    """The finding for one metric, or None when it did not worsen enough or significantly
    (`alpha` already divided among the window's tested metrics)."""
    change = value - ref.value
    worse = _worsening(metric, change)
    scale = abs(_rmse_for(metric, reference, ref)) if rule.relative else 1.0
    # A hair above the change so that 0.94 - 0.91 (0.0299999...) reaches 0.03.
    size = (worse / scale if scale > 0 else math.inf) + _ROUNDING
    if worse <= 0 or size < rule.info:
        return None
    variance = ref.std**2 * ref.rows * (1.0 / n + 1.0 / max(ref.n_reference, 1))
    p_value = _upper_tail(worse / math.sqrt(variance)) if variance > 0 else 0.0
    if metric in TWO_SIDED:
        p_value = min(1.0, 2 * p_value)
    if p_value >= alpha:
        return None
    severity: Severity = (
        "critical" if size >= rule.critical else "warning" if size >= rule.warning else "info"
    )
    return PerformanceFinding(
        metric=metric,
        kind=kind,
        reference=ref.value,
        current=value,
        change=change,
        n=n,
        p_value=p_value,
        severity=severity,
    )


def estimate_findings(
    estimate: Estimate,
    reference: Mapping[str, ReferenceMetric],
    *,
    thresholds: Mapping[str, ChangeThresholds] = DEFAULT_THRESHOLDS,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[PerformanceFinding, ...]:
    """Findings of an estimate, tested at its scored predictions; none when unreliable.

    An unreliable estimate is shown with its reasons but never raises a tier:
    its error is unknown, so a drop in it may be the estimate's, not the model's.
    """
    if not estimate.reliable:
        return ()
    return performance_findings(
        estimate.metrics,
        reference,
        n_labelled=estimate.n,
        kind="estimated",
        thresholds=thresholds,
        alpha=alpha,
    )


def _worsening(metric: str, change: float) -> float:
    """How much worse, in the metric's units (positive means worse)."""
    if metric in HIGHER_IS_BETTER:
        return -change
    if metric in LOWER_IS_BETTER:
        return change
    if metric in TWO_SIDED:
        return abs(change)
    raise DetectorInputError(f"unknown performance metric {metric!r}")


def _rmse_for(metric: str, reference: Mapping[str, ReferenceMetric], ref: ReferenceMetric) -> float:
    """The scale of a relative threshold: the reference value, or its rmse for mean_error."""
    if metric == "mean_error":
        rmse = reference.get("rmse")
        return rmse.value if rmse is not None else 0.0
    return ref.value


def _upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))
