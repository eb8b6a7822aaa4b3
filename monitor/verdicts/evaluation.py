"""Comparing a closed window with the baseline: statistics, findings, tiers.

A column's drift condition needs three things at once (docs/verdicts.md):
1. the effect size crosses its threshold (PSI by default);
2. the column's test (KS for numeric, chi-square for categorical) is
   significant after multiple-testing correction across the model's columns
   (Benjamini-Hochberg by default);
3. both samples are large enough (`min_samples`, `min_reference`).
Data-quality conditions (missing-rate jump, type errors, out-of-range share,
new-category share) need their share to cross a threshold and a one-sided
binomial test against the baseline rate to be significant.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftwarden.baselines.artifact import CategoricalColumn, NumericColumn
from driftwarden.detectors.change import (
    AdwinParams,
    ChangeParams,
    PageHinkleyParams,
    SeriesChangeDetector,
)
from driftwarden.detectors.chi_square import chi_square
from driftwarden.detectors.counts import Histogram
from driftwarden.detectors.jensen_shannon import jensen_shannon
from driftwarden.detectors.ks import ks_binned
from driftwarden.detectors.linf import linf
from driftwarden.detectors.multiple_testing import adjust
from driftwarden.detectors.proportion import excess_proportion
from driftwarden.detectors.psi import psi, total_variation
from driftwarden.detectors.wasserstein import wasserstein_binned
from driftwarden.monitor.config import (
    ColumnPolicy,
    EffectStatistic,
    ModelPolicy,
    OutcomeSettings,
    TierThresholds,
)
from driftwarden.monitor.ingest.layout import ColumnSlot, ModelLayout
from driftwarden.monitor.verdicts.narrative import (
    NO_VALUES_EVIDENCE,
    mean_evidence,
    missing_evidence,
    new_category_evidence,
    out_of_range_evidence,
    share_evidence,
    trend_evidence,
    type_error_evidence,
)
from driftwarden.monitor.verdicts.performance import PerformanceJudge
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.tiering import TierState, step
from driftwarden.monitor.verdicts.verdict import (
    ColumnStatistics,
    ColumnVerdict,
    Finding,
    FindingKind,
    WindowVerdict,
)
from driftwarden.monitor.windows.window import WindowState

TREND_MIN_Z = 2.0
"""A trend is reported only while the window itself sits this far from the baseline."""


def condition_for(value: float, thresholds: TierThresholds) -> tuple[Tier, float]:
    """The highest tier whose threshold `value` reaches, with that threshold."""
    if value >= thresholds.critical:
        return Tier.CRITICAL, thresholds.critical
    if value >= thresholds.warning:
        return Tier.WARNING, thresholds.warning
    if value >= thresholds.info:
        return Tier.INFO, thresholds.info
    return Tier.NONE, thresholds.info


@dataclass(frozen=True, slots=True)
class _Tests:
    """A column's test and its kind-specific statistics (numeric or categorical)."""

    drift_p: float | None = None
    ks: float | None = None
    ks_p_value: float | None = None
    wasserstein: float | None = None
    out_of_range_rate: float | None = None
    mean: float | None = None
    chi_square: float | None = None
    chi_square_p_value: float | None = None
    linf: float | None = None
    new_category_rate: float | None = None


@dataclass(frozen=True, slots=True)
class _QualityCheck:
    """One data-quality condition: `count` of `n` against the baseline's `base_rate`."""

    kind: FindingKind
    statistic: str
    count: int
    n: int
    base_rate: float
    value: float
    thresholds: TierThresholds
    evidence: tuple[str, str]


@dataclass(slots=True)
class _ColumnWork:
    slot: ColumnSlot
    policy: ColumnPolicy
    stats: ColumnStatistics
    drift_p: float | None
    evaluated: bool
    current_counts: Any
    findings: list[Finding] = field(default_factory=list)


class ModelEvaluator:
    """Evaluates one model's closed windows in order; holds the tier history.

    The history (tier streaks and the trend series) is small, explicit state:
    `state()` and `restore()` move it through checkpoints.
    """

    def __init__(
        self, layout: ModelLayout, policy: ModelPolicy, outcomes: OutcomeSettings | None = None
    ) -> None:
        self.layout = layout
        self.policy = policy
        # Issue 14: performance at close (estimate) and when labels are final (realised).
        perf = layout.baseline.performance
        self.performance = (
            None
            if perf is None
            else PerformanceJudge(
                layout.model_id,
                perf,
                policy,
                outcomes or OutcomeSettings(),
                keep_estimates=outcomes is not None,
            )
        )
        self._columns = {slot.name: policy.column(slot.name) for slot in layout.columns}
        self._tiers = {slot.name: TierState() for slot in layout.columns}
        self._series: dict[str, deque[float]] = {
            slot.name: deque(maxlen=policy.trend.history) for slot in layout.columns
        }
        self._trend: dict[str, SeriesChangeDetector] = {}
        # The baseline side of every comparison, validated and summed once: each
        # column's whole histogram and the slots its effect sizes compare.
        self._reference = [
            (
                Histogram.of(slot.reference, name="reference"),
                Histogram.of(slot.reference[slot.known_slots], name="reference"),
            )
            for slot in layout.columns
        ]
        self.model_tier = Tier.NONE

    # -- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "model_tier": int(self.model_tier),
            "tiers": {name: t.to_list() for name, t in self._tiers.items()},
            "series": {name: list(s) for name, s in self._series.items()},
            "performance": None if self.performance is None else self.performance.state(),
        }

    def restore(self, raw: dict[str, Any]) -> None:
        self.model_tier = Tier(int(raw["model_tier"]))
        for name, values in raw["tiers"].items():
            if name in self._tiers:
                self._tiers[name] = TierState.from_list([int(v) for v in values])
        self._trend.clear()
        for name, values in raw["series"].items():
            if name in self._series:
                self._series[name].clear()
                self._series[name].extend(float(v) for v in values)
        if self.performance is not None:
            self.performance.restore(raw.get("performance"))

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(
        self, state: WindowState, *, window_index: int, start: float, end: float
    ) -> WindowVerdict:
        policy = self.policy
        sig = policy.significance
        work = [self._statistics(slot, state) for slot in self.layout.columns]
        significant = self._correct(work)

        trend_columns: list[str] = []
        verdicts = [self._column_verdict(w, state, significant, trend_columns) for w in work]

        previous = self.model_tier
        self.model_tier = max((v.tier for v in verdicts), default=Tier.NONE)
        performance = (
            None
            if self.performance is None
            else self.performance.at_close(state.performance, window_index)
        )
        if performance is not None:
            self.model_tier = max(self.model_tier, performance.tier)
        columns = tuple(verdicts)
        return WindowVerdict(
            model_id=self.layout.model_id,
            baseline_version=self.layout.baseline.version,
            window_index=window_index,
            window_start=start,
            window_end=end,
            events=state.events,
            tier=self.model_tier,
            previous_tier=previous,
            columns=columns,
            traffic_affected=max(
                (c.traffic_affected for c in columns if c.tier > Tier.NONE), default=0.0
            ),
            outputs_moved=any(c.role == "output" and c.condition > Tier.NONE for c in columns),
            min_samples=sig.min_samples,
            next_steps=policy.next_steps,
            runbook_url=policy.runbook_url,
            unknown_features=state.unknown_features,
            evaluated=state.events >= sig.min_samples,
            trend_columns=tuple(trend_columns),
            performance=performance,
        )

    def _column_verdict(
        self,
        w: _ColumnWork,
        state: WindowState,
        significant: dict[str, bool],
        trend_columns: list[str],
    ) -> ColumnVerdict:
        """One column's findings and tier (its trend noted in `trend_columns`)."""
        policy = self.policy
        if not w.policy.ignore:
            self._drift_finding(w, significant.get(w.slot.name, False))
            self._quality_findings(w, state.events)
            if self._trend_finding(w):
                trend_columns.append(w.slot.name)
        condition = max((f.condition for f in w.findings), default=Tier.NONE)
        tier_state = self._tiers[w.slot.name]
        if w.evaluated or state.events >= policy.significance.min_samples:
            tier = step(tier_state, condition, policy.sustain, policy.clear_after)
        else:
            tier = tier_state.tier
        return ColumnVerdict(
            column=w.slot.name,
            role=w.slot.role,
            kind=w.slot.kind,
            tier=tier,
            condition=condition,
            statistics=w.stats,
            findings=tuple(w.findings),
            runbook_url=w.policy.runbook_url,
            counts=tuple(w.current_counts.tolist()),
        )

    def _correct(self, work: list[_ColumnWork]) -> dict[str, bool]:
        """Multiple-testing correction across the tested columns: significant per column.

        Records each tested column's adjusted p-value in its statistics.
        """
        sig = self.policy.significance
        tested = [w for w in work if w.evaluated and not w.policy.ignore]
        correction = adjust([w.drift_p for w in tested], method=sig.correction, alpha=sig.alpha)
        significant: dict[str, bool] = {}
        for w, rejected, adjusted in zip(
            tested, correction.rejected, correction.adjusted, strict=True
        ):
            significant[w.slot.name] = bool(rejected)
            w.stats = dataclasses.replace(w.stats, drift_p_value_adjusted=adjusted)
        return significant

    def _statistics(self, slot: ColumnSlot, state: WindowState) -> _ColumnWork:
        policy = self.policy
        column = self.layout.baseline.columns[slot.index]
        i = slot.index
        cur = state.bins[slot.offset : slot.stop]
        n_cur = int(state.counted[i])
        events = state.events
        ref_all, ref_known = self._reference[i]
        cur_all = Histogram.of(cur)
        known = cur[slot.known_slots]
        cur_known = Histogram.of(known) if int(known.sum()) > 0 else None
        tests = _Tests()
        if n_cur > 0 and isinstance(column, NumericColumn):
            tests = _numeric_tests(slot, column, state, ref_all, cur_all)
        elif n_cur > 0:
            tests = self._categorical_tests(
                slot,
                state,
                ref_all=ref_all,
                cur_all=cur_all,
                ref_known=ref_known,
                cur_known=cur_known,
            )
        stats = ColumnStatistics(
            n_current=n_cur,
            n_reference=column.n,
            missing=int(state.missing[i]),
            type_errors=int(state.type_errors[i]),
            psi=None
            if cur_known is None
            else psi(ref_known, cur_known, floor=policy.psi_floor).statistic,
            ks=tests.ks,
            ks_p_value=tests.ks_p_value,
            js=None if cur_known is None else jensen_shannon(ref_known, cur_known).statistic,
            wasserstein=tests.wasserstein,
            chi_square=tests.chi_square,
            chi_square_p_value=tests.chi_square_p_value,
            linf=tests.linf,
            total_variation=total_variation(ref_all, cur_all) if n_cur > 0 else None,
            missing_rate=_share(int(state.missing[i]), events),
            baseline_missing_rate=column.missing_rate,
            type_error_rate=_share(int(state.type_errors[i]), events),
            out_of_range_rate=tests.out_of_range_rate,
            new_category_rate=tests.new_category_rate,
            mean=tests.mean,
            baseline_mean=column.mean if isinstance(column, NumericColumn) else None,
        )
        evaluated = (
            n_cur >= policy.significance.min_samples
            and column.n >= policy.significance.min_reference
            and tests.drift_p is not None
        )
        return _ColumnWork(
            slot=slot,
            policy=self._columns[slot.name],
            stats=stats,
            drift_p=tests.drift_p if evaluated else None,
            evaluated=evaluated,
            current_counts=cur,
        )

    def _categorical_tests(
        self,
        slot: ColumnSlot,
        state: WindowState,
        *,
        ref_all: Histogram,
        cur_all: Histogram,
        ref_known: Histogram,
        cur_known: Histogram | None,
    ) -> _Tests:
        chi = chi_square(ref_all, cur_all, min_expected=self.policy.chi_square_min_expected)
        new = None
        if slot.new_code != slot.other_code:
            n_cur = int(state.counted[slot.index])
            new = int(state.bins[slot.offset + slot.new_code]) / n_cur
        return _Tests(
            drift_p=chi.p_value,
            chi_square=chi.statistic,
            chi_square_p_value=chi.p_value,
            linf=None if cur_known is None else linf(ref_known, cur_known).statistic,
            new_category_rate=new,
        )

    def _drift_finding(self, w: _ColumnWork, significant: bool) -> None:
        if not w.evaluated or not significant:
            return
        default = (
            self.policy.effect_numeric
            if w.slot.kind == "numeric"
            else self.policy.effect_categorical
        )
        best: tuple[Tier, float, str, float] | None = None
        for effect in w.policy.effect or default:
            value = _effect(w.stats, effect)
            if value is None:
                continue
            thresholds: TierThresholds = getattr(w.policy.thresholds, effect)
            condition, threshold = condition_for(float(value), thresholds)
            if condition > Tier.NONE and (best is None or condition > best[0]):
                best = (condition, threshold, effect, float(value))
        if best is None:
            return
        condition, threshold, statistic, value = best
        current, baseline = self._drift_values(w)
        w.findings.append(
            Finding(
                kind="drift",
                statistic=statistic,
                value=value,
                threshold=threshold,
                condition=condition,
                p_value=w.stats.drift_p_value_adjusted,
                current=current,
                baseline=baseline,
            )
        )

    def _drift_values(self, w: _ColumnWork) -> tuple[str, str]:
        column = self.layout.baseline.columns[w.slot.index]
        if isinstance(column, NumericColumn):
            return mean_evidence(w.stats.mean, column.mean)
        assert isinstance(column, CategoricalColumn)
        return _largest_share_change(column, w)

    def _quality_findings(self, w: _ColumnWork, events: int) -> None:
        sig = self.policy.significance
        if events < sig.min_samples:
            return
        for check in self._quality_checks(w, events):
            condition, threshold = condition_for(check.value, check.thresholds)
            if condition == Tier.NONE:
                continue
            p_value = excess_proportion(check.count, check.n, check.base_rate).p_value
            if p_value is None or p_value >= sig.alpha:
                continue
            current, baseline = check.evidence
            w.findings.append(
                Finding(
                    kind=check.kind,
                    statistic=check.statistic,
                    value=check.value,
                    threshold=threshold,
                    condition=condition,
                    p_value=p_value,
                    current=current,
                    baseline=baseline,
                )
            )

    def _quality_checks(self, w: _ColumnWork, events: int) -> list[_QualityCheck]:
        quality = w.policy.quality
        column = self.layout.baseline.columns[w.slot.index]
        stats = w.stats
        base_missing = column.missing_rate
        missing_rate = _share(stats.missing, events)
        bad_rate = _share(stats.type_errors, events)
        checks = [
            _QualityCheck(
                "missing",
                "missing_increase",
                stats.missing,
                events,
                base_missing,
                missing_rate - base_missing,
                quality.missing_increase,
                missing_evidence(missing_rate, base_missing),
            ),
            _QualityCheck(
                "type_error",
                "type_error_rate",
                stats.type_errors,
                events,
                0.0,
                bad_rate,
                quality.type_error_rate,
                type_error_evidence(bad_rate),
            ),
        ]
        return checks + self._share_checks(w)

    def _share_checks(self, w: _ColumnWork) -> list[_QualityCheck]:
        """Out-of-range values and unseen categories: shares of the counted values."""
        quality = w.policy.quality
        column = self.layout.baseline.columns[w.slot.index]
        n_cur = w.stats.n_current
        checks: list[_QualityCheck] = []
        rate = w.stats.out_of_range_rate
        if rate is not None and n_cur:
            checks.append(
                _QualityCheck(
                    "out_of_range",
                    "out_of_range_rate",
                    round(rate * n_cur),
                    n_cur,
                    2.0 / (column.n + 1),  # chance a fresh draw falls outside n draws' range
                    rate,
                    quality.out_of_range_rate,
                    out_of_range_evidence(
                        rate, getattr(column, "minimum", None), getattr(column, "maximum", None)
                    ),
                )
            )
        rate = w.stats.new_category_rate
        if rate is not None and n_cur:
            checks.append(
                _QualityCheck(
                    "new_category",
                    "new_category_rate",
                    round(rate * n_cur),
                    n_cur,
                    1.0 / (column.n + 1),
                    rate,
                    quality.new_category_rate,
                    new_category_evidence(rate),
                )
            )
        return checks

    def _trend_finding(self, w: _ColumnWork) -> bool:
        """Feed the column's per-window series to its change detector (info only)."""
        trend = self.policy.trend
        if not trend.enabled or not w.evaluated:
            return False
        column = self.layout.baseline.columns[w.slot.index]
        n_cur = w.stats.n_current
        # Series are standardised to unit variance under "no change", so one set of
        # detector parameters means the same for every column and window size.
        if isinstance(column, NumericColumn) and trend.series == "mean":
            scale = column.std if column.std > 0 else 1.0
            assert w.stats.mean is not None  # evaluated numeric columns have a mean
            value = (w.stats.mean - column.mean) / scale * math.sqrt(n_cur)
            statistic = "mean_shift_z"
        else:
            if w.stats.psi is None:
                return False
            known = w.slot.known_slots
            dof = max(len(range(known.start, known.stop)) - 1, 1)
            # Under no drift, PSI / (1/n_cur + 1/n_ref) is roughly chi-square(dof).
            n_ref = w.stats.n_reference
            scale = 1.0 / (1.0 / n_cur + 1.0 / n_ref) if n_ref else float(n_cur)
            value = (w.stats.psi * scale - dof) / math.sqrt(2 * dof)
            statistic = "psi_z"
        series = self._series[w.slot.name]
        detector = self._trend.get(w.slot.name)
        if detector is None:
            detector = self._trend[w.slot.name] = self._detector(list(series))
        series.append(float(value))
        detected = detector.update(value)
        # A change back toward the baseline (|z| small) is recovery, not drift.
        if not detected or len(series) < trend.min_windows or abs(value) < TREND_MIN_Z:
            return False
        current, baseline = trend_evidence(statistic, value, len(series))
        w.findings.append(
            Finding(
                kind="trend",
                statistic=statistic,
                value=value,
                threshold=0.0,
                condition=Tier.INFO,
                p_value=None,
                current=current,
                baseline=baseline,
            )
        )
        return True

    def _detector(self, history: list[float]) -> SeriesChangeDetector:
        trend = self.policy.trend
        params: ChangeParams
        if trend.detector == "adwin":
            params = AdwinParams(delta=trend.adwin_delta)
        else:
            params = PageHinkleyParams(
                threshold=trend.page_hinkley_threshold, delta=trend.page_hinkley_delta
            )
        return SeriesChangeDetector.from_history(history, params, history=trend.history)


def _numeric_tests(
    slot: ColumnSlot,
    column: NumericColumn,
    state: WindowState,
    ref_all: Histogram,
    cur_all: Histogram,
) -> _Tests:
    assert slot.edges is not None
    i = slot.index
    cur = state.bins[slot.offset : slot.stop]
    n_cur = int(state.counted[i])
    ks = ks_binned(ref_all, cur_all)
    wasserstein = wasserstein_binned(
        ref_all,
        cur_all,
        slot.edges,
        scale=column.std,
        underflow_at=min(float(slot.edges[0]), float(state.mins[i])),
        overflow_at=max(float(slot.edges[-1]), float(state.maxs[i])),
    )
    return _Tests(
        drift_p=ks.p_value,
        ks=ks.statistic,
        ks_p_value=ks.p_value,
        wasserstein=wasserstein.statistic,
        out_of_range_rate=(int(cur[0]) + int(cur[-1])) / n_cur,
        mean=_significant(state.mean(i)),
    )


def _largest_share_change(column: CategoricalColumn, w: _ColumnWork) -> tuple[str, str]:
    """The category whose share moved most, with its share now and in the baseline."""
    cur = np.asarray(w.current_counts, dtype=np.float64)
    ref = np.asarray(w.slot.reference, dtype=np.float64)
    if cur.sum() <= 0 or ref.sum() <= 0:
        return NO_VALUES_EVIDENCE
    diff = cur / cur.sum() - ref / ref.sum()
    j = int(np.argmax(np.abs(diff)))
    names = [*column.categories, "(other)", "(new)"]
    label = names[j] if j < len(names) else f"#{j}"
    return share_evidence(label, float(cur[j] / cur.sum()), float(ref[j] / ref.sum()))


def _effect(stats: ColumnStatistics, effect: EffectStatistic) -> float | None:
    """The value of a configured effect-size statistic."""
    match effect:
        case "psi":
            return stats.psi
        case "js":
            return stats.js
        case "wasserstein":
            return stats.wasserstein
        case "ks":
            return stats.ks
        case "linf":
            return stats.linf


def _significant(value: float, digits: int = 12) -> float:
    """Round to `digits` significant digits.

    A window's mean is exact (the correctly rounded mean of its exact sum,
    the same float live, in replay and merged across partitions); 12 digits
    are what a reader of a report can use, and keep its numbers short.
    """
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
