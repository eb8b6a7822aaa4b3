"""Turn a verdict into an alert: its title and the incident's words around the verdict's.

The verdict's own words (the line per column, why it matters, what to do) come
from `verdicts.narrative`, the one place that writes them; this module adds
only what belongs to the incident: the title, the window line, the words of a
resolution. Each receiver lays the parts out its own way (one bullet per
column in Slack, `custom_details` in PagerDuty).
"""

from __future__ import annotations

from typing import Literal

from driftwarden.monitor.alerting.fingerprint import (
    COVERAGE_ALERTNAME,
    PERFORMANCE_ALERTNAME,
    alert_labels,
    fingerprint,
)
from driftwarden.monitor.alerting.model import Alert, AlertColumn, Change, Resolution, Status
from driftwarden.monitor.config import DEFAULT_NEXT_STEPS
from driftwarden.monitor.verdicts.narrative import (
    column_line,
    coverage_title,
    drifting_columns,
    final_window_line,
    iso,
    label_coverage_words,
    performance_title,
    realised_performance_words,
    what_to_do,
    why_it_matters,
)
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnVerdict, WindowVerdict

FinalFinding = Literal["performance", "label_coverage"]
"""The two incidents a window's final labels can open (issue 14; see `fingerprint`)."""
ALERTNAME_OF: dict[FinalFinding, str] = {
    "performance": PERFORMANCE_ALERTNAME,
    "label_coverage": COVERAGE_ALERTNAME,
}

MAX_TITLE = 150  # a Slack header block holds 150 characters
MAX_COLUMNS_LISTED = 8


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def alert_column(column: ColumnVerdict) -> AlertColumn:
    finding = column.main_finding
    return AlertColumn(
        column=column.column,
        role=column.role,
        kind=column.kind,
        tier=column.tier,
        finding=finding.kind if finding else None,
        statistic=finding.statistic if finding else None,
        value=finding.value if finding else None,
        threshold=finding.threshold if finding else None,
        current=finding.current if finding else None,
        baseline=finding.baseline if finding else None,
        n_current=column.statistics.n_current,
        n_reference=column.statistics.n_reference,
        runbook_url=column.runbook_url,
    )


def _title(  # noqa: PLR0917 - private, called once with every part of the title
    verdict: WindowVerdict,
    environment: str,
    status: Status,
    tier: Tier,
    columns: tuple[AlertColumn, ...],
    resolution: Resolution | None,
) -> str:
    model, now_tier = verdict.model_id, verdict.tier
    where = f"{model} ({environment})"
    if status == "resolved":
        if resolution == "below_route":
            return shorten(
                f"[RESOLVED] {where}: no longer {tier.label} (now {now_tier.label})", MAX_TITLE
            )
        return shorten(f"[RESOLVED] {where}: drift cleared (was {tier.label})", MAX_TITLE)
    names = [c.column for c in columns]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3} more" if len(names) > 3 else "")
    noun = "column" if len(names) == 1 else "columns"
    what = f"drift in {len(names)} {noun}: {shown}" if names else "drift"
    performance = verdict.performance
    if performance is not None and performance.tier > Tier.NONE:  # issue 14
        what = (
            f"estimated performance dropped; {what}" if names else "estimated performance dropped"
        )
    return shorten(f"[{tier.label.upper()}] {where}: {what}", MAX_TITLE)


def _words(
    verdict: WindowVerdict,
    *,
    status: Status,
    resolution: Resolution | None,
    started_at: float,
    tiers_seen: tuple[Tier, ...],
    runbook: str | None,
) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """What happened, why it matters, what to do: the incident's words for this verdict."""
    window = (
        f"Window {iso(verdict.window_start)} to {iso(verdict.window_end)}, "
        f"{verdict.events:,} events, baseline version {verdict.baseline_version}."
    )
    if status == "resolved" and resolution != "below_route":
        return (
            (
                f"{verdict.model_id} is back within its baseline (tier none since this window); "
                f"the incident ran from {iso(started_at)} to {iso(verdict.window_end)} and "
                f"peaked at {max(tiers_seen).label}.",
                window,
            ),
            "No action needed; the drift is no longer sustained.",
            ("Nothing to do; review the incident if it recurs.",),
        )
    drifting = drifting_columns(verdict)
    lines = [column_line(c) for c in drifting[:MAX_COLUMNS_LISTED]]
    if len(drifting) > MAX_COLUMNS_LISTED:
        lines.append(f"+{len(drifting) - MAX_COLUMNS_LISTED} more drifting columns")
    performance = verdict.performance
    if performance is not None and performance.tier > Tier.NONE:  # issue 14
        lines.insert(0, f"Performance: {performance.what_happened}.")
    # The runbook is shown as its own link; it is not repeated as a step.
    steps = what_to_do(verdict, leave_out_runbook=runbook) or DEFAULT_NEXT_STEPS
    return (window, *lines), why_it_matters(verdict), steps


def build_alert(
    verdict: WindowVerdict,
    *,
    environment: str,
    status: Status,
    tier: Tier,
    previous_tier: Tier,
    started_at: float,
    tiers_seen: tuple[Tier, ...],
    change: Change,
    resolution: Resolution | None = None,
    monitor: str | None = None,
    report_url: str | None = None,
) -> Alert:
    """The alert for the verdict's model at `tier` (when resolved: the last that fired)."""
    labels = alert_labels(
        model_id=verdict.model_id,
        environment=environment,
        tier=tier,
        baseline_version=verdict.baseline_version,
        monitor=monitor,
    )
    columns = tuple(alert_column(c) for c in drifting_columns(verdict))
    runbook = verdict.runbook_url or next((c.runbook_url for c in columns if c.runbook_url), None)
    happened, why, steps = _words(
        verdict,
        status=status,
        resolution=resolution,
        started_at=started_at,
        tiers_seen=tiers_seen,
        runbook=runbook,
    )
    return Alert(
        fingerprint=fingerprint(labels),
        model_id=verdict.model_id,
        environment=environment,
        status=status,
        tier=tier,
        previous_tier=previous_tier,
        change=change,
        labels=labels,
        title=_title(verdict, environment, status, tier, columns, resolution),
        what_happened=happened,
        why_it_matters=why,
        what_to_do=steps,
        runbook_url=runbook,
        columns=columns,
        traffic_affected=verdict.traffic_affected,
        outputs_moved=verdict.outputs_moved,
        baseline_version=verdict.baseline_version,
        starts_at=started_at,
        ends_at=verdict.window_end if status == "resolved" else None,
        window_start=verdict.window_start,
        window_end=verdict.window_end,
        window_index=verdict.window_index,
        events=verdict.events,
        tiers_seen=tiers_seen,
        resolution=resolution,
        report_url=report_url,
    )


def build_final_alert(
    verdict: PerformanceVerdict,
    finding: FinalFinding,
    *,
    environment: str,
    status: Status,
    tier: Tier,
    previous_tier: Tier,
    started_at: float,
    tiers_seen: tuple[Tier, ...],
    change: Change,
    resolution: Resolution | None = None,
    monitor: str | None = None,
    report_url: str | None = None,
) -> Alert:
    """The realised-performance or label-coverage alert of a window whose labels are final:
    an incident of its own (`ALERTNAME_OF`; see `fingerprint`)."""
    labels = alert_labels(
        model_id=verdict.model_id,
        environment=environment,
        tier=tier,
        baseline_version=verdict.baseline_version,
        monitor=monitor,
        alertname=ALERTNAME_OF[finding],
    )
    labelled = verdict.labels
    words = realised_performance_words if finding == "performance" else label_coverage_words
    happened, why, steps = words(verdict)
    title = _final_title(verdict, finding, environment, status, tier, resolution)
    if status == "resolved" and resolution != "below_route":
        why, steps = "No action needed; the finding is no longer sustained.", ()
    return Alert(
        fingerprint=fingerprint(labels),
        model_id=verdict.model_id,
        environment=environment,
        status=status,
        tier=tier,
        previous_tier=previous_tier,
        change=change,
        labels=labels,
        title=title,
        what_happened=(final_window_line(verdict), happened),
        why_it_matters=why,
        what_to_do=steps,
        runbook_url=None,
        columns=(),
        traffic_affected=0.0,
        outputs_moved=False,
        baseline_version=verdict.baseline_version,
        starts_at=started_at,
        ends_at=verdict.window_end if status == "resolved" else None,
        window_start=verdict.window_start,
        window_end=verdict.window_end,
        window_index=verdict.window_index,
        events=0 if labelled is None else labelled.n_predictions,
        tiers_seen=tiers_seen,
        resolution=resolution,
        report_url=report_url,
    )


def _final_title(  # noqa: PLR0917 - private, called once with every part of the title
    verdict: PerformanceVerdict,
    finding: FinalFinding,
    environment: str,
    status: Status,
    tier: Tier,
    resolution: Resolution | None,
) -> str:
    where = f"{verdict.model_id} ({environment})"
    if status == "resolved":
        what = "realised performance" if finding == "performance" else "label coverage"
        if resolution == "below_route":
            return shorten(f"[RESOLVED] {where}: {what} no longer {tier.label}", MAX_TITLE)
        return shorten(f"[RESOLVED] {where}: {what} finding cleared (was {tier.label})", MAX_TITLE)
    what = performance_title(verdict) if finding == "performance" else coverage_title(verdict)
    return shorten(f"[{tier.label.upper()}] {where}: {what}", MAX_TITLE)
