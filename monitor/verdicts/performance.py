"""A window's performance verdict: the estimate at close, realised metrics when final.

Two moments judge a prediction window's performance, each exactly once, so a
late label never pages twice:

1. *At window close* the estimate before labels (from the window's score
   histogram, `detectors.performance.estimate_metrics`) is computed; its
   findings (kind `performance`, estimated) go into that window's verdict and
   its tier like any column's, through the model's `estimated` tier track
   (sustain, hysteresis).
2. *When the window's labels are final* (coverage reached `outcomes.min_coverage`,
   or its horizon passed: the join decides, `monitor.outcomes`) one realised
   performance verdict is emitted for it, stepped through the model's
   `realised` tier track in the order windows become final. Outcomes trickling
   in before that update the window's record (reports, metrics) but judge
   nothing; a window final by horizon with coverage below `outcomes.low_coverage`
   is a data-quality finding of its own (`coverage_low`), stepped on a third
   track, `coverage`, never on `realised`: too few labels is not a drop.

The tracks are separate because they move on different clocks: estimates in
event-time order of closing windows, realised results days later. Neither
re-opens the other's windows. The estimate's tier is part of its window's verdict
(the model's drift incident); the realised and coverage tracks are incidents of
their own, alerted when a window's labels are final (`AlertPipeline.observe_performance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.detectors.performance import (
    DEFAULT_THRESHOLDS,
    ChangeThresholds,
    ClassificationState,
    Estimate,
    PerformanceFinding,
    RegressionState,
    estimate_findings,
    estimate_metrics,
    performance_findings,
    realised_metrics,
)
from driftwarden.monitor.config import ModelPolicy, OutcomeSettings
from driftwarden.monitor.verdicts.narrative import coverage_words, estimate_words, realised_words
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.tiering import TierState, step

PerformanceKind = Literal["estimated", "realised"]
TrackKind = Literal["estimated", "realised", "coverage"]
MAX_KEPT_ESTIMATES = 10_000
"""Estimates kept for windows whose labels are not final yet (a week of minute windows)."""
_SEVERITY = {"info": Tier.INFO, "warning": Tier.WARNING, "critical": Tier.CRITICAL}


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """What the join knows of a prediction window's labels (`LabelledWindow.summary`)."""

    n_predictions: int
    n_labelled: int
    label_coverage: float
    label_delay_p50: float | None
    label_delay_p95: float | None
    final: str | None

    @classmethod
    def of(cls, summary: Mapping[str, Any]) -> LabelRecord:
        return cls(
            n_predictions=int(summary["n_predictions"]),
            n_labelled=int(summary["n_labelled"]),
            label_coverage=float(summary["label_coverage"]),
            label_delay_p50=summary["label_delay_p50"],
            label_delay_p95=summary["label_delay_p95"],
            final=summary["final"],
        )


@dataclass(frozen=True, slots=True)
class WindowPlace:
    """Where a prediction window is (event time) and which baseline judged it."""

    start: float = 0.0
    end: float = 0.0
    baseline_version: int = 0


@dataclass(frozen=True, slots=True)
class PerformanceVerdict:
    """One model's performance in one prediction window, at close or when final.

    `realised` and `estimated` map metric names to values (empty when not
    known); `findings` are the performance findings this verdict judged (the
    estimate's at close, the realised ones when final); `coverage_low` is the
    data-quality finding of too few labels. `tier` is the track's tier after
    this verdict, `condition` what this verdict alone supports; `coverage_tier`
    is the `coverage` track's after a realised verdict (`coverage_floor` is
    `outcomes.low_coverage`). `performance_words` and `coverage_words` are the two
    findings' words apart (each incident's alert shows its own); `what_happened`
    joins them. `window_start`/`window_end`/`baseline_version` place the window
    for its alert.
    """

    model_id: str
    window_index: int
    kind: PerformanceKind
    realised: dict[str, float]
    estimated: dict[str, float]
    estimate_reliable: bool
    estimate_reasons: tuple[str, ...]
    findings: tuple[PerformanceFinding, ...]
    condition: Tier
    tier: Tier
    previous_tier: Tier
    labels: LabelRecord | None = None
    coverage_low: bool = False
    unreadable: int = 0
    what_happened: str = ""
    coverage_tier: Tier = Tier.NONE
    coverage_previous_tier: Tier = Tier.NONE
    coverage_floor: float = 0.0
    performance_words: str = ""
    coverage_words: str = ""
    window_start: float = 0.0
    window_end: float = 0.0
    baseline_version: int = 0

    def to_record(self) -> dict[str, Any]:
        """The report's `windows[].performance` object (docs/replay-report.schema.json)."""
        return {
            "kind": self.kind,
            "realised": dict(sorted(self.realised.items())),
            "estimated": dict(sorted(self.estimated.items())),
            "estimate_reliable": self.estimate_reliable,
            "estimate_reasons": list(self.estimate_reasons),
            "tier": self.tier.label,
            "coverage_tier": self.coverage_tier.label,
            "condition": self.condition.label,
            "findings": [finding_record(f) for f in self.findings],
            "labels": None if self.labels is None else _labels_record(self.labels),
            "coverage_low": self.coverage_low,
            "unreadable": self.unreadable,
            "what_happened": self.what_happened,
        }


def finding_record(f: PerformanceFinding) -> dict[str, Any]:
    return {
        "kind": "performance",
        "metric": f.metric,
        "source": f.kind,
        "reference": f.reference,
        "current": f.current,
        "change": f.change,
        "n": f.n,
        "p_value": f.p_value,
        "severity": f.severity,
    }


def _labels_record(labels: LabelRecord) -> dict[str, Any]:
    return {
        "n_predictions": labels.n_predictions,
        "n_labelled": labels.n_labelled,
        "label_coverage": labels.label_coverage,
        "label_delay_p50": labels.label_delay_p50,
        "label_delay_p95": labels.label_delay_p95,
        "final": labels.final,
    }


def thresholds_of(settings: OutcomeSettings) -> dict[str, ChangeThresholds]:
    """The default thresholds with the configured ones in their place."""
    merged = dict(DEFAULT_THRESHOLDS)
    for metric, t in settings.thresholds.items():
        merged[metric] = ChangeThresholds(t.info, t.warning, t.critical, relative=t.relative)
    return merged


class PerformanceJudge:
    """Judges one model's windows' performance; holds its two tier tracks (see module doc)."""

    def __init__(
        self,
        model_id: str,
        reference: ReferencePerformance,
        policy: ModelPolicy,
        settings: OutcomeSettings,
        *,
        keep_estimates: bool = True,
    ) -> None:
        """`keep_estimates`: outcomes are joined, so each estimate waits for its window's
        realised verdict to be shown beside it."""
        self.model_id = model_id
        self.keep_estimates = keep_estimates
        self.reference = reference
        self.policy = policy
        self.settings = settings
        self.thresholds = thresholds_of(settings)
        self.tracks: dict[TrackKind, TierState] = {
            "estimated": TierState(),
            "realised": TierState(),
            "coverage": TierState(),
        }
        self.estimates: dict[int, dict[str, float]] = {}
        """Each open label record's estimate at close, shown beside its realised values."""
        self.close_tier = Tier.NONE
        """The tier of the last window verdict at close (the `estimated` track)."""
        self.last_final: dict[str, Any] | None = None
        """The last realised verdict's gauges (window, metrics, tier, labels): checkpointed,
        so a restarted daemon shows them before the next window is final."""

    def state(self) -> dict[str, Any]:
        return {
            "tracks": {k: t.to_list() for k, t in self.tracks.items()},
            "estimates": [[k, v] for k, v in sorted(self.estimates.items())],
            "close_tier": int(self.close_tier),
            "last_final": self.last_final,
        }

    def restore(self, raw: Mapping[str, Any] | None) -> None:
        if raw is None:
            return
        for kind, values in raw["tracks"].items():
            self.tracks[kind] = TierState.from_list([int(v) for v in values])
        # Checkpoints before the coverage track (and their `carried`) restore without it.
        self.close_tier = Tier(int(raw["close_tier"]))
        self.last_final = raw.get("last_final")
        self.estimates = {
            int(k): {str(m): float(x) for m, x in v.items()} for k, v in raw["estimates"]
        }

    def at_close(self, state: ClassificationState | None, window_index: int) -> PerformanceVerdict:
        """The estimate of a closing window, judged on the `estimated` track.

        Without scores (regression, or a baseline without score columns) there is no
        estimate; the verdict still carries the realised track's tier.
        """
        calibration = self.reference.calibration
        if state is None or calibration is None:
            estimate = Estimate({}, reliable=False, reasons=("no scores to estimate from",))
        else:
            estimate = estimate_metrics(
                state, calibration, min_rows=self.settings.estimate_min_rows
            )
        findings = estimate_findings(
            estimate, self.reference.metrics, thresholds=self.thresholds, alpha=self.settings.alpha
        )
        if estimate.reliable and self.keep_estimates:  # shown beside realised values
            self.estimates[window_index] = dict(estimate.metrics)
            while len(self.estimates) > MAX_KEPT_ESTIMATES:  # windows that never get labels
                del self.estimates[min(self.estimates)]
        condition = _condition(findings)
        _, tier = self._step("estimated", condition, evaluated=bool(estimate.n))
        words = estimate_words(estimate, findings)
        previous, self.close_tier = self.close_tier, tier
        return PerformanceVerdict(
            model_id=self.model_id,
            window_index=window_index,
            kind="estimated",
            realised={},
            estimated=dict(estimate.metrics),
            estimate_reliable=estimate.reliable,
            estimate_reasons=estimate.reasons,
            findings=findings,
            condition=condition,
            tier=tier,
            previous_tier=previous,
            what_happened=words,
        )

    def at_final(
        self,
        window_index: int,
        labelled: ClassificationState | RegressionState,
        labels: LabelRecord,
        unreadable: int = 0,
        *,
        place: WindowPlace | None = None,
    ) -> PerformanceVerdict:
        """A window whose labels are final, judged once on the `realised` track (its
        performance findings) and the `coverage` track (too few labels), apart.

        `labelled` is the window's `ClassificationState` or `RegressionState` of joined
        pairs; `place` says where the window is, for its alert.
        """
        metrics, findings = self._realised_findings(labelled)
        coverage_low = (
            labels.final == "horizon" and labels.label_coverage < self.settings.low_coverage
        )
        condition = _condition(findings)
        previous, tier = self._step("realised", condition, evaluated=labelled.n_labelled > 0)
        coverage_condition = Tier.WARNING if coverage_low else Tier.NONE
        coverage_previous, coverage_tier = self._step(
            "coverage", coverage_condition, evaluated=True
        )
        estimated = self.estimates.pop(window_index, {})
        performance = realised_words(findings, labels, estimated)
        coverage = coverage_words(labels, self.settings) if coverage_low else ""
        place = place or WindowPlace()
        self.last_final = {
            "window": window_index,
            "realised": dict(sorted(metrics.items())),
            "tier": int(tier),
            "labels": _labels_record(labels),
        }
        return PerformanceVerdict(
            model_id=self.model_id,
            window_index=window_index,
            kind="realised",
            realised=metrics,
            estimated=estimated,
            estimate_reliable=bool(estimated),
            estimate_reasons=(),
            findings=findings,
            condition=condition,
            tier=tier,
            previous_tier=previous,
            labels=labels,
            coverage_low=coverage_low,
            unreadable=unreadable,
            what_happened="; ".join(w for w in (performance, coverage) if w),
            coverage_tier=coverage_tier,
            coverage_previous_tier=coverage_previous,
            coverage_floor=self.settings.low_coverage,
            performance_words=performance,
            coverage_words=coverage,
            window_start=place.start,
            window_end=place.end,
            baseline_version=place.baseline_version,
        )

    def _realised_findings(
        self, labelled: ClassificationState | RegressionState
    ) -> tuple[dict[str, float], tuple[PerformanceFinding, ...]]:
        metrics = realised_metrics(labelled)
        n_scored = int(metrics.pop("n_scored", 0))
        metrics.pop("n_labelled", None)
        findings = performance_findings(
            metrics,
            self.reference.metrics,
            n_labelled=labelled.n_labelled,
            n_scored=n_scored if isinstance(labelled, ClassificationState) else None,
            kind="realised",
            thresholds=self.thresholds,
            alpha=self.settings.alpha,
        )
        return metrics, findings

    def _step(self, kind: TrackKind, condition: Tier, *, evaluated: bool) -> tuple[Tier, Tier]:
        track = self.tracks[kind]
        previous = track.tier
        if not evaluated:
            return previous, previous
        return previous, step(track, condition, self.policy.sustain, self.policy.clear_after)


def _condition(findings: tuple[PerformanceFinding, ...]) -> Tier:
    return max((_SEVERITY[f.severity] for f in findings), default=Tier.NONE)
