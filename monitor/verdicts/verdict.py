"""What a closed window means for a model: tiers with what, why and what to do.

A verdict is the end product of the core engine and the input of alerting.
It is plain data, fully determined by the window's counts, the baseline and
the tier history, so live and replay runs produce identical verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.tier import Tier

FindingKind = Literal["drift", "missing", "type_error", "out_of_range", "new_category", "trend"]

_KIND_ORDER: dict[FindingKind, int] = {
    "drift": 0,
    "missing": 1,
    "new_category": 2,
    "out_of_range": 3,
    "type_error": 4,
    "trend": 5,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition on one column in one window, and how far it went.

    `statistic` names the measure (`psi`, `js`, `missing_increase`, ...),
    `value` is its value and `threshold` the one it crossed for `condition`
    (the tier this window's evidence supports, before sustain/hysteresis).
    """

    kind: FindingKind
    statistic: str
    value: float
    threshold: float
    condition: Tier
    p_value: float | None
    current: str
    baseline: str


@dataclass(frozen=True, slots=True)
class ColumnStatistics:
    """Every statistic computed for a column in a window (None = not applicable)."""

    n_current: int
    n_reference: int
    missing: int
    type_errors: int
    psi: float | None = None
    ks: float | None = None
    ks_p_value: float | None = None
    js: float | None = None
    wasserstein: float | None = None
    chi_square: float | None = None
    chi_square_p_value: float | None = None
    linf: float | None = None
    drift_p_value_adjusted: float | None = None
    total_variation: float | None = None
    missing_rate: float = 0.0
    baseline_missing_rate: float = 0.0
    type_error_rate: float = 0.0
    out_of_range_rate: float | None = None
    new_category_rate: float | None = None
    mean: float | None = None
    baseline_mean: float | None = None


@dataclass(frozen=True, slots=True)
class ColumnVerdict:
    column: str
    role: Literal["feature", "output"]
    kind: Literal["numeric", "categorical"]
    tier: Tier
    condition: Tier
    statistics: ColumnStatistics
    findings: tuple[Finding, ...] = ()
    runbook_url: str | None = None
    counts: tuple[int, ...] = ()  # the window's bin counts (`ColumnSlot` order): charts

    @property
    def drifting(self) -> bool:
        return self.tier > Tier.NONE

    @property
    def main_finding(self) -> Finding | None:
        """The finding that explains the column's tier: highest condition, drift first."""
        if not self.findings:
            return None
        return min(self.findings, key=lambda f: (-int(f.condition), _KIND_ORDER[f.kind]))

    @property
    def traffic_affected(self) -> float:
        """The share of the window's traffic this column's findings touch.

        Drift touches the total-variation share of values that moved; a quality
        finding touches its own rate; a trend touches nothing yet.
        """
        share = 0.0
        for finding in self.findings:
            if finding.kind == "drift":
                share = max(share, self.statistics.total_variation or 0.0)
            elif finding.kind != "trend":
                share = max(share, finding.value)
        return share


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """One model's closed window, compared with its baseline and tiered.

    `window_start`/`window_end` are event-time seconds for time windows; count
    windows carry the first and last event times seen instead. `tier` is the
    highest column tier; `previous_tier` lets alerting see escalation and
    resolution without keeping its own copy of the history.

    A verdict holds no prose: `verdicts.narrative` writes its words, for the
    report and for alerts alike. `min_samples` and `next_steps` are the model
    policy's, kept so the words need nothing but the verdict.
    """

    model_id: str
    baseline_version: int
    window_index: int
    window_start: float
    window_end: float
    events: int
    tier: Tier
    previous_tier: Tier
    columns: tuple[ColumnVerdict, ...]
    traffic_affected: float
    outputs_moved: bool
    min_samples: int
    next_steps: tuple[str, ...] = ()
    runbook_url: str | None = None
    unknown_features: int = 0
    evaluated: bool = True
    trend_columns: tuple[str, ...] = field(default=())
    # Issue 14: the estimate before labels at close (monitor/verdicts/performance.py);
    # its tier is part of `tier`. None without a performance section in the baseline.
    performance: PerformanceVerdict | None = None

    @property
    def drifting_columns(self) -> tuple[ColumnVerdict, ...]:
        return tuple(c for c in self.columns if c.tier > Tier.NONE)

    @property
    def changed(self) -> bool:
        return self.tier != self.previous_tier
