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

    @property
    def drifting(self) -> bool:
        return self.tier > Tier.NONE


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """One model's closed window, compared with its baseline and tiered.

    `window_start`/`window_end` are event-time seconds for time windows; count
    windows carry the first and last event times seen instead. `tier` is the
    highest column tier; `previous_tier` lets alerting see escalation and
    resolution without keeping its own copy of the history.
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
    what_happened: str
    why_it_matters: str
    what_to_do: tuple[str, ...]
    runbook_url: str | None = None
    unknown_features: int = 0
    evaluated: bool = True
    skipped_reason: str | None = None
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
