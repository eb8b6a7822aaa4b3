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

import math
from collections import deque
from dataclasses import dataclass, field, replace
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
from driftwarden.monitor.config import ColumnPolicy, ModelPolicy, OutcomeSettings, TierThresholds
from driftwarden.monitor.ingest.layout import ColumnSlot, ModelLayout
from driftwarden.monitor.verdicts.narrative import describe_window
from driftwarden.monitor.verdicts.performance import PerformanceJudge, window_words
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


@dataclass(slots=True)
class _ColumnWork:
    slot: ColumnSlot
    policy: ColumnPolicy
    stats: dict[str, Any]
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

        tested = [w for w in work if w.evaluated and not w.policy.ignore]
        correction = adjust([w.drift_p for w in tested], method=sig.correction, alpha=sig.alpha)
        significant: dict[str, bool] = {}
        for w, rejected, adjusted in zip(
            tested, correction.rejected, correction.adjusted, strict=True
        ):
            significant[w.slot.name] = bool(rejected)
            w.stats["drift_p_value_adjusted"] = adjusted

        verdicts: list[ColumnVerdict] = []
        trend_columns: list[str] = []
        for w in work:
            if not w.policy.ignore:
                self._drift_finding(w, significant.get(w.slot.name, False))
                self._quality_findings(w, state.events)
                if self._trend_finding(w):
                    trend_columns.append(w.slot.name)
            condition = max((f.condition for f in w.findings), default=Tier.NONE)
            tier_state = self._tiers[w.slot.name]
            if w.evaluated or state.events >= sig.min_samples:
                tier = step(tier_state, condition, policy.sustain, policy.clear_after)
            else:
                tier = tier_state.tier
            verdicts.append(
                ColumnVerdict(
                    column=w.slot.name,
                    role=w.slot.role,
                    kind=w.slot.kind,
                    tier=tier,
                    condition=condition,
                    statistics=ColumnStatistics(**w.stats),
                    findings=tuple(w.findings),
                    runbook_url=w.policy.runbook_url,
                )
            )

        previous = self.model_tier
        self.model_tier = max((v.tier for v in verdicts), default=Tier.NONE)
        performance = (
            None
            if self.performance is None
            else self.performance.at_close(state.performance, window_index)
        )
        if performance is not None:
            self.model_tier = max(self.model_tier, performance.tier)
        evaluated = state.events >= sig.min_samples
        verdict = describe_window(
            layout=self.layout,
            policy=policy,
            state=state,
            columns=tuple(verdicts),
            tier=self.model_tier,
            previous_tier=previous,
            window_index=window_index,
            start=start,
            end=end,
            evaluated=evaluated,
            trend_columns=tuple(trend_columns),
        )
        if performance is None:
            return verdict
        what, why, steps = window_words(
            verdict.what_happened, verdict.why_it_matters, verdict.what_to_do, performance
        )
        return replace(
            verdict,
            performance=performance,
            what_happened=what,
            why_it_matters=why,
            what_to_do=steps,
        )

    def _statistics(self, slot: ColumnSlot, state: WindowState) -> _ColumnWork:
        policy = self.policy
        column = self.layout.baseline.columns[slot.index]
        i = slot.index
        cur = state.bins[slot.offset : slot.stop]
        n_cur = int(state.counted[i])
        events = state.events
        stats: dict[str, Any] = {
            "n_current": n_cur,
            "n_reference": column.n,
            "missing": int(state.missing[i]),
            "type_errors": int(state.type_errors[i]),
            "missing_rate": _share(int(state.missing[i]), events),
            "baseline_missing_rate": column.missing_rate,
            "type_error_rate": _share(int(state.type_errors[i]), events),
        }
        drift_p: float | None = None
        ref_all, ref_known = self._reference[i]
        cur_all = Histogram.of(cur)
        known = cur[slot.known_slots]
        any_known = int(known.sum()) > 0
        if n_cur > 0:
            stats["total_variation"] = total_variation(ref_all, cur_all)
        if any_known:
            cur_known = Histogram.of(known)
            stats["psi"] = psi(ref_known, cur_known, floor=policy.psi_floor).statistic
            stats["js"] = jensen_shannon(ref_known, cur_known).statistic
        if n_cur > 0:
            if isinstance(column, NumericColumn):
                assert slot.edges is not None
                ks = ks_binned(ref_all, cur_all)
                stats["ks"], stats["ks_p_value"] = ks.statistic, ks.p_value
                drift_p = ks.p_value
                stats["wasserstein"] = wasserstein_binned(
                    ref_all,
                    cur_all,
                    slot.edges,
                    scale=column.std,
                    underflow_at=min(float(slot.edges[0]), float(state.mins[i])),
                    overflow_at=max(float(slot.edges[-1]), float(state.maxs[i])),
                ).statistic
                stats["out_of_range_rate"] = (int(cur[0]) + int(cur[-1])) / n_cur
                stats["mean"] = _significant(float(state.sums[i]) / n_cur)
            else:
                chi = chi_square(ref_all, cur_all, min_expected=policy.chi_square_min_expected)
                stats["chi_square"], stats["chi_square_p_value"] = chi.statistic, chi.p_value
                drift_p = chi.p_value
                if any_known:
                    stats["linf"] = linf(ref_known, cur_known).statistic
                if slot.new_code != slot.other_code:
                    stats["new_category_rate"] = int(cur[slot.new_code]) / n_cur
        if isinstance(column, NumericColumn):
            stats["baseline_mean"] = column.mean
        evaluated = (
            n_cur >= policy.significance.min_samples
            and column.n >= policy.significance.min_reference
            and drift_p is not None
        )
        return _ColumnWork(
            slot=slot,
            policy=self._columns[slot.name],
            stats=stats,
            drift_p=drift_p if evaluated else None,
            evaluated=evaluated,
            current_counts=cur,
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
            value = w.stats.get(effect)
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
                p_value=w.stats.get("drift_p_value_adjusted"),
                current=current,
                baseline=baseline,
            )
        )

    def _drift_values(self, w: _ColumnWork) -> tuple[str, str]:
        column = self.layout.baseline.columns[w.slot.index]
        if isinstance(column, NumericColumn):
            mean = w.stats.get("mean")
            return (f"mean {_num(mean)}", f"mean {_num(column.mean)}")
        assert isinstance(column, CategoricalColumn)
        return _largest_share_change(column, w)

    def _quality_findings(self, w: _ColumnWork, events: int) -> None:
        sig = self.policy.significance
        if events < sig.min_samples:
            return
        quality = w.policy.quality
        column = self.layout.baseline.columns[w.slot.index]
        n_cur = int(w.stats["n_current"])
        checks: list[tuple[FindingKind, str, int, int, float, float, TierThresholds, str, str]] = []
        base_missing = column.missing_rate
        missing = int(w.stats["missing"])
        checks.append(
            (
                "missing",
                "missing_increase",
                missing,
                events,
                base_missing,
                _share(missing, events) - base_missing,
                quality.missing_increase,
                f"missing {_pct(_share(missing, events))}",
                f"missing {_pct(base_missing)}",
            )
        )
        bad = int(w.stats["type_errors"])
        checks.append(
            (
                "type_error",
                "type_error_rate",
                bad,
                events,
                0.0,
                _share(bad, events),
                quality.type_error_rate,
                f"type errors {_pct(_share(bad, events))}",
                "type errors 0%",
            )
        )
        rate = w.stats.get("out_of_range_rate")
        if rate is not None and n_cur:
            count = round(rate * n_cur)
            expected = 2.0 / (column.n + 1)  # chance a fresh draw falls outside n draws' range
            checks.append(
                (
                    "out_of_range",
                    "out_of_range_rate",
                    count,
                    n_cur,
                    expected,
                    rate,
                    quality.out_of_range_rate,
                    f"outside baseline range {_pct(rate)}",
                    f"range [{_num(getattr(column, 'minimum', None))}, "
                    f"{_num(getattr(column, 'maximum', None))}]",
                )
            )
        rate = w.stats.get("new_category_rate")
        if rate is not None and n_cur:
            count = round(rate * n_cur)
            checks.append(
                (
                    "new_category",
                    "new_category_rate",
                    count,
                    n_cur,
                    1.0 / (column.n + 1),
                    rate,
                    quality.new_category_rate,
                    f"unseen categories {_pct(rate)}",
                    "unseen categories 0%",
                )
            )
        for kind, statistic, count, n, base_rate, value, thresholds, current, baseline in checks:
            condition, threshold = condition_for(value, thresholds)
            if condition == Tier.NONE:
                continue
            p_value = excess_proportion(count, n, base_rate).p_value
            if p_value is None or p_value >= sig.alpha:
                continue
            w.findings.append(
                Finding(
                    kind=kind,
                    statistic=statistic,
                    value=value,
                    threshold=threshold,
                    condition=condition,
                    p_value=p_value,
                    current=current,
                    baseline=baseline,
                )
            )

    def _trend_finding(self, w: _ColumnWork) -> bool:
        """Feed the column's per-window series to its change detector (info only)."""
        trend = self.policy.trend
        if not trend.enabled or not w.evaluated:
            return False
        column = self.layout.baseline.columns[w.slot.index]
        n_cur = int(w.stats["n_current"])
        # Series are standardised to unit variance under "no change", so one set of
        # detector parameters means the same for every column and window size.
        if isinstance(column, NumericColumn) and trend.series == "mean":
            scale = column.std if column.std > 0 else 1.0
            value = (float(w.stats["mean"]) - column.mean) / scale * math.sqrt(n_cur)
            statistic = "mean_shift_z"
        else:
            if w.stats.get("psi") is None:
                return False
            known = w.slot.known_slots
            dof = max(len(range(known.start, known.stop)) - 1, 1)
            # Under no drift, PSI / (1/n_cur + 1/n_ref) is roughly chi-square(dof).
            n_ref = int(w.stats["n_reference"])
            scale = 1.0 / (1.0 / n_cur + 1.0 / n_ref) if n_ref else float(n_cur)
            value = (float(w.stats["psi"]) * scale - dof) / math.sqrt(2 * dof)
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
        w.findings.append(
            Finding(
                kind="trend",
                statistic=statistic,
                value=value,
                threshold=0.0,
                condition=Tier.INFO,
                p_value=None,
                current=f"{statistic} {value:.3g}",
                baseline=f"{len(series)} windows of history",
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


def _largest_share_change(column: CategoricalColumn, w: _ColumnWork) -> tuple[str, str]:
    """The category whose share moved most, as `share of 'DE' 31.0%` vs `22.0%`."""
    cur = np.asarray(w.current_counts, dtype=np.float64)
    ref = np.asarray(w.slot.reference, dtype=np.float64)
    if cur.sum() <= 0 or ref.sum() <= 0:
        return ("no values", "baseline shares")
    diff = cur / cur.sum() - ref / ref.sum()
    j = int(np.argmax(np.abs(diff)))
    names = [*column.categories, "(other)", "(new)"]
    label = names[j] if j < len(names) else f"#{j}"
    return (
        f"share of {label!r} {_pct(float(cur[j] / cur.sum()))}",
        f"share of {label!r} {_pct(float(ref[j] / ref.sum()))}",
    )


def _significant(value: float, digits: int = 12) -> float:
    """Round to `digits` significant digits.

    Window sums are floats added in whatever order batches and partitions
    arrive, so a mean can differ in its last bit between a live run and a
    replay; rounding keeps reports diffable. Counts and every statistic
    computed from them are exact and need no rounding.
    """
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"
