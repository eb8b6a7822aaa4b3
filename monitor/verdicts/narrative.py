"""The words of a verdict: what happened, why it matters, what to do.

Written for the person who reads it at 2 am: the column and statistic first,
the current value beside the baseline's, the sample sizes that make it
believable, the share of traffic it touches, whether the model's outputs moved,
and the runbook link before the generic first steps.

This module is the one place that writes a verdict's prose. Verdicts and
findings are structured data; the replay report, its summary and every alert
take their words from here, so nothing ever parses prose back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from driftwarden.monitor.verdicts.tier import Tier

if TYPE_CHECKING:  # `verdicts.performance` takes its words from here: types only, no cycle
    from driftwarden.detectors.performance import Estimate, PerformanceFinding
    from driftwarden.monitor.config import OutcomeSettings
    from driftwarden.monitor.verdicts.performance import LabelRecord, PerformanceVerdict
    from driftwarden.monitor.verdicts.verdict import ColumnVerdict, Finding, WindowVerdict

_STEP_FOR_KIND = {
    "drift": "Compare recent values of {col} with the baseline (replay the logs with "
    "'driftwarden replay --report') and check what changed upstream.",
    "missing": "{col} arrives empty more often than in training: check the feature pipeline "
    "or the client that fills it.",
    "type_error": "{col} arrives with the wrong type (string, NaN, bool or object): check the "
    "producer's serialisation.",
    "out_of_range": "{col} has values outside the training range: check units and scaling, "
    "and whether the model extrapolates safely there.",
    "new_category": "{col} has categories never seen in training: check for a new market, "
    "product or an encoding change upstream.",
    "trend": "{col} is moving gradually: watch the trend on the dashboard before it crosses "
    "a threshold.",
}


# -- values ------------------------------------------------------------------------------


def iso(ts: float) -> str:
    if not math.isfinite(ts):
        return "n/a"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_value(statistic: str | None, value: float | None) -> str:
    """A statistic's value as read: rates and increases as percentages."""
    if value is None:
        return "n/a"
    if statistic is not None and statistic.endswith(("_rate", "_increase")):
        return f"{value * 100:.1f}%"
    return f"{value:.3f}"


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


# -- the evidence of one finding: its current side and its baseline side ----------------


def mean_evidence(current: float | None, baseline: float) -> tuple[str, str]:
    return (f"mean {number(current)}", f"mean {number(baseline)}")


def share_evidence(label: str, current: float, baseline: float) -> tuple[str, str]:
    """The category whose share moved most, as `share of 'DE' 31.0%` vs `22.0%`."""
    return (f"share of {label!r} {percent(current)}", f"share of {label!r} {percent(baseline)}")


NO_VALUES_EVIDENCE = ("no values", "baseline shares")


def missing_evidence(current: float, baseline: float) -> tuple[str, str]:
    return (f"missing {percent(current)}", f"missing {percent(baseline)}")


def type_error_evidence(current: float) -> tuple[str, str]:
    return (f"type errors {percent(current)}", "type errors 0%")


def out_of_range_evidence(
    current: float, minimum: float | None, maximum: float | None
) -> tuple[str, str]:
    return (
        f"outside baseline range {percent(current)}",
        f"range [{number(minimum)}, {number(maximum)}]",
    )


def new_category_evidence(current: float) -> tuple[str, str]:
    return (f"unseen categories {percent(current)}", "unseen categories 0%")


def trend_evidence(statistic: str, value: float, windows: int) -> tuple[str, str]:
    return (f"{statistic} {value:.3g}", f"{windows} windows of history")


# -- one column -------------------------------------------------------------------------


def finding_text(column: ColumnVerdict, finding: Finding) -> str:
    """The report's line for a column: `x [critical] psi 0.412 >= 0.250 (... ; n=...)`."""
    stats = column.statistics
    threshold = (
        ""
        if finding.kind == "trend"
        else f" >= {format_value(finding.statistic, finding.threshold)}"
    )
    return (
        f"{column.column} [{column.tier.label}] {finding.statistic} "
        f"{format_value(finding.statistic, finding.value)}{threshold} "
        f"({finding.current} vs {finding.baseline}; n={stats.n_current:,} vs {stats.n_reference:,})"
    )


def column_line(column: ColumnVerdict) -> str:
    """An alert's line for a column, e.g.
    `income (feature) [critical]: psi 0.412 >= 0.250; mean 61.2k vs mean 48.9k; n=...`."""
    stats = column.statistics
    head = f"{column.column} ({column.role}) [{column.tier.label}]"
    sizes = f"n={stats.n_current:,} vs {stats.n_reference:,}"
    finding = column.main_finding
    if finding is None:
        return f"{head}: held while recovering; {sizes}"
    value = format_value(finding.statistic, finding.value)
    if finding.kind == "trend":
        stat = f"{finding.statistic} trending ({value})"
    else:
        threshold = format_value(finding.statistic, finding.threshold)
        stat = f"{finding.statistic} {value} >= {threshold}"
    return f"{head}: {stat}; {finding.current} vs {finding.baseline}; {sizes}"


# -- one window -------------------------------------------------------------------------


def drifting_columns(verdict: WindowVerdict) -> list[ColumnVerdict]:
    """The drifting columns, highest tier first, then by name: the order all words use."""
    return sorted(verdict.drifting_columns, key=lambda c: (-int(c.tier), c.column))


def _drift_what_happened(verdict: WindowVerdict) -> str:
    header = (
        f"{verdict.model_id} window {iso(verdict.window_start)} to {iso(verdict.window_end)} "
        f"({verdict.events:,} events, baseline {verdict.model_id}@{verdict.baseline_version})"
    )
    if not verdict.evaluated:
        return (
            f"{header}: not evaluated, fewer events than min_samples "
            f"{verdict.min_samples:,}; lower policy.significance.min_samples or use "
            f"longer windows (policy.window.size)"
        )
    drifting = drifting_columns(verdict)
    if not drifting:
        return f"{header}: no column drifting"
    parts = []
    for column in drifting:
        finding = column.main_finding
        if finding is None:  # tier held by hysteresis while this window was calm
            parts.append(f"{column.column} [{column.tier.label}] held (recovering)")
        else:
            parts.append(finding_text(column, finding))
    noun = "column" if len(drifting) == 1 else "columns"
    return f"{header}: {len(drifting)} {noun} drifting: " + "; ".join(parts)


def _drift_why_it_matters(verdict: WindowVerdict) -> str:
    drifting = drifting_columns(verdict)
    if not drifting:
        return "Nothing to act on."
    culprit = max(drifting, key=lambda c: c.traffic_affected)
    why = (
        f"About {verdict.traffic_affected * 100:.0f}% of this window's traffic is affected "
        f"(largest: {culprit.column})."
    )
    moved = [c for c in verdict.columns if c.role == "output" and c.condition > Tier.NONE]
    if not moved:
        return why + " The model's outputs have not moved significantly yet."
    outs = ", ".join(
        f"{c.column} {f.statistic} {format_value(f.statistic, f.value)}"
        for c in moved
        if (f := c.main_finding) is not None
    )
    return why + f" The model's outputs moved too: {outs}."


def what_happened(verdict: WindowVerdict) -> str:
    """The window in one sentence, with its performance verdict when that raised a tier."""
    text = _drift_what_happened(verdict)
    perf = verdict.performance
    if perf is None or perf.tier == Tier.NONE:
        return text
    return f"{text}; performance ({perf.tier.label}): {perf.what_happened}"


def why_it_matters(verdict: WindowVerdict) -> str:
    why = _drift_why_it_matters(verdict)
    perf = verdict.performance
    if perf is None or perf.tier == Tier.NONE:
        return why
    return PERFORMANCE_WHY if why == "Nothing to act on." else f"{why} {PERFORMANCE_WHY}"


def what_to_do(verdict: WindowVerdict, *, leave_out_runbook: str | None = None) -> tuple[str, ...]:
    """What to do about the window: the performance step first when performance raised a
    tier, then the drift steps (`_drift_steps`)."""
    steps = _drift_steps(verdict, leave_out_runbook=leave_out_runbook)
    perf = verdict.performance
    if perf is None or perf.tier == Tier.NONE:
        return steps
    return (PERFORMANCE_STEP, *steps)


def _drift_steps(verdict: WindowVerdict, *, leave_out_runbook: str | None) -> tuple[str, ...]:
    """The runbook links first, then one step per column and kind, then the policy's steps.

    An alert shows its runbook as a link of its own and passes it as
    `leave_out_runbook`, so the link is not repeated as a step.
    """
    drifting = drifting_columns(verdict)
    runbook = verdict.runbook_url
    steps = [
        f"Runbook for {column.column}: {column.runbook_url}"
        for column in drifting
        if column.runbook_url and column.runbook_url not in {runbook, leave_out_runbook}
    ]
    if runbook and runbook != leave_out_runbook:
        steps.insert(0, f"Runbook: {runbook}")
    seen: set[tuple[str, str]] = set()
    for column in drifting:
        finding = column.main_finding
        if finding is not None and (finding.kind, column.column) not in seen:
            seen.add((finding.kind, column.column))
            steps.append(_STEP_FOR_KIND[finding.kind].format(col=column.column))
    if drifting:
        steps.extend(verdict.next_steps)
    return tuple(steps)


# -- performance (issue 14) --------------------------------------------------------------

PERFORMANCE_WHY = (
    "The model's performance is below what it achieved on its reference data: the "
    "decisions made from its predictions are worse than when it was validated."
)
PERFORMANCE_STEP = (
    "Compare the window's realised and estimated performance with the reference "
    "('driftwarden replay --outcomes FILE --report'), check the drifting inputs and the "
    "outcome feed, and consider retraining on recent labelled data."
)


_ORDER = ("accuracy", "roc_auc", "f1", "precision", "recall", "brier", "log_loss", "ece")
_RANK = {"critical": 0, "warning": 1, "info": 2}


def _ordered(findings: tuple[PerformanceFinding, ...]) -> list[PerformanceFinding]:
    """Most severe first; within a severity, the metrics people think in first."""
    return sorted(
        findings,
        key=lambda f: (_RANK[f.severity], _ORDER.index(f.metric) if f.metric in _ORDER else 99),
    )


def _change_words(f: PerformanceFinding) -> str:
    verb = "fell" if f.change < 0 else "rose"
    return f"{f.metric} {verb} from {f.reference:.2f} to {f.current:.2f}"


def realised_words(
    findings: tuple[PerformanceFinding, ...],
    labels: LabelRecord,
    estimated: Mapping[str, float],
) -> str:
    """E.g. "accuracy fell from 0.94 to 0.91 on 4,980 labelled predictions, label
    coverage 100%; estimated from scores at window close: 0.91"."""
    if not labels.n_labelled:
        return "no realised performance: no prediction of the window got an outcome"
    parts = []
    for f in _ordered(findings):
        text = (
            f"{_change_words(f)} on {labels.n_labelled:,} labelled predictions, "
            f"label coverage {labels.label_coverage:.0%}"
        )
        if f.metric in estimated:
            text += f"; estimated from scores at window close: {estimated[f.metric]:.2f}"
        parts.append(text)
    if not parts:
        return (
            f"performance as in training on {labels.n_labelled:,} labelled predictions, "
            f"label coverage {labels.label_coverage:.0%}"
        )
    return "; ".join(parts)


def coverage_words(labels: LabelRecord, settings: OutcomeSettings) -> str:
    """The data-quality finding: e.g. "label coverage 42% below outcomes.low_coverage 50%
    (420 of 1,000 predictions got an outcome within outcomes.horizon 604800s): check the
    outcome feed"."""
    return (
        f"label coverage {labels.label_coverage:.0%} below outcomes.low_coverage "
        f"{settings.low_coverage:.0%} ({labels.n_labelled:,} of {labels.n_predictions:,} "
        f"predictions got an outcome within outcomes.horizon {settings.horizon:g}s): "
        f"check the outcome feed"
    )


def estimate_words(estimate: Estimate, findings: tuple[PerformanceFinding, ...]) -> str:
    if not estimate.reliable:
        return "performance estimate unreliable: " + "; ".join(estimate.reasons)
    if not findings:
        return f"estimated performance as in training on {estimate.n:,} scored predictions"
    return "; ".join(
        f"{_change_words(f)} (estimated from scores, {f.n:,} predictions, no labels yet)"
        for f in _ordered(findings)
    )


# -- a window's labels, final (issue 14) -------------------------------------------------

COVERAGE_WHY = (
    "Too few predictions got an outcome before outcomes.horizon passed: the window's "
    "realised performance rests on a small, possibly biased sample. This is about the "
    "outcome feed, not the model."
)
COVERAGE_STEP = (
    "Check the outcome feed: is the producer of outcome events running, are request ids "
    "the ones the predictions carry, and does outcomes.horizon cover the real label delay?"
)


def final_window_line(verdict: PerformanceVerdict) -> str:
    """Which prediction window, and its labels (the alerts' window line)."""
    labels = verdict.labels
    coverage = (
        ""
        if labels is None
        else f", {labels.n_labelled:,} of {labels.n_predictions:,} predictions labelled"
    )
    return (
        f"Prediction window {iso(verdict.window_start)} to {iso(verdict.window_end)}"
        f"{coverage}, labels final, baseline version {verdict.baseline_version}."
    )


def realised_performance_words(verdict: PerformanceVerdict) -> tuple[str, str, tuple[str, ...]]:
    """What happened, why it matters, what to do: a window's realised performance."""
    happened = f"Realised performance: {verdict.performance_words}."
    if verdict.condition == Tier.NONE and verdict.tier > Tier.NONE:
        happened += " The drop of earlier windows is not cleared yet (policy.clear_after)."
    return happened, PERFORMANCE_WHY, (PERFORMANCE_STEP,)


def label_coverage_words(verdict: PerformanceVerdict) -> tuple[str, str, tuple[str, ...]]:
    """What happened, why it matters, what to do: too few labels in a final window."""
    if verdict.coverage_words:
        happened = f"Label coverage: {verdict.coverage_words}."
    else:
        happened = (
            "Label coverage: back above outcomes.low_coverage in this window; the "
            "finding of earlier windows is not cleared yet (policy.clear_after)."
        )
    return happened, COVERAGE_WHY, (COVERAGE_STEP,)


def coverage_title(verdict: PerformanceVerdict) -> str:
    """E.g. "label coverage 42% below outcomes.low_coverage 50% on window 2026-01-06T09:00:00Z"."""
    labels = verdict.labels
    coverage = 0.0 if labels is None else labels.label_coverage
    if not verdict.coverage_low:
        return (
            f"label coverage below outcomes.low_coverage {verdict.coverage_floor:.0%} in "
            f"earlier windows ({coverage:.0%} on window {iso(verdict.window_start)})"
        )
    return (
        f"label coverage {coverage:.0%} below outcomes.low_coverage "
        f"{verdict.coverage_floor:.0%} on window {iso(verdict.window_start)}"
    )


def performance_title(verdict: PerformanceVerdict) -> str:
    """E.g. "realised performance dropped on window 2026-01-06T09:00:00Z"."""
    if verdict.condition == Tier.NONE:
        return (
            "realised performance dropped in earlier windows (as in training on window "
            f"{iso(verdict.window_start)})"
        )
    return f"realised performance dropped on window {iso(verdict.window_start)}"
