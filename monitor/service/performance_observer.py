"""The daemon's side of a performance verdict (issue 14): gauges and a log event's fields."""

from __future__ import annotations

from typing import Any

from driftwarden.monitor.telemetry.performance_metrics import PerformanceMetrics
from driftwarden.monitor.verdicts.performance import PerformanceJudge, PerformanceVerdict


def record_performance(metrics: PerformanceMetrics, verdict: PerformanceVerdict) -> None:
    """Estimated values at window close; realised values, coverage and delay when final."""
    if verdict.kind == "estimated":
        if verdict.estimate_reliable:
            metrics.set_metrics(verdict.model_id, "estimated", verdict.estimated, int(verdict.tier))
        return
    metrics.set_metrics(verdict.model_id, "realised", verdict.realised, int(verdict.tier))
    labels = verdict.labels
    if labels is not None:
        metrics.set_labels(
            verdict.model_id, labels.label_coverage, labels.label_delay_p50, labels.label_delay_p95
        )


def republish_performance(metrics: PerformanceMetrics, judge: PerformanceJudge) -> bool:
    """The last final window's realised gauges from restored state (a restart); False
    when the model has had no final window yet."""
    last = judge.last_final
    if last is None:
        return False
    metrics.set_metrics(judge.model_id, "realised", last["realised"], int(last["tier"]))
    labels = last["labels"]
    metrics.set_labels(
        judge.model_id,
        labels["label_coverage"],
        labels["label_delay_p50"],
        labels["label_delay_p95"],
    )
    return True


def performance_fields(verdict: PerformanceVerdict) -> dict[str, Any]:
    """A final window's realised performance as structured log fields."""
    return {
        "model": verdict.model_id,
        "window": verdict.window_index,
        "tier": verdict.tier.label,
        "condition": verdict.condition.label,
        "realised": verdict.realised,
        "findings": [f"{f.metric}:{f.severity}" for f in verdict.findings],
        "coverage_low": verdict.coverage_low,
        "coverage_tier": verdict.coverage_tier.label,
        "what_happened": verdict.what_happened,
    }
