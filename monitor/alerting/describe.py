"""Turn a verdict into an alert: its title and the incident's words around the verdict's.

The verdict's own words (the line per column, why it matters, what to do) come
from `verdicts.narrative`, the one place that writes them; this module adds
only what belongs to the incident: the title, the window line, the words of a
resolution. Each receiver lays the parts out its own way (one bullet per
column in Slack, `custom_details` in PagerDuty).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from driftwarden.monitor.alerting.fingerprint import (
    ALERTNAME,
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


class IncidentMoment(msgspec.Struct, frozen=True, kw_only=True):
    """Where an incident stands when an alert is built for it, whatever the verdict's kind.

    A window's drift alert and a final-labels alert take the same incident parts;
    one structure keeps the two builders, and the pipeline that fills it, in step.
    """

    environment: str
    status: Status
    tier: Tier  # when resolved: the last tier that fired
    previous_tier: Tier
    started_at: float
    tiers_seen: tuple[Tier, ...]
    change: Change
    resolution: Resolution | None = None
    monitor: str | None = None
    report_url: str | None = None

    @property
    def cleared(self) -> bool:
        """Resolved because the incident ended, not because a route stopped taking it."""
        return self.status == "resolved" and self.resolution != "below_route"

    def resolved(self, tier: Tier, resolution: Resolution) -> IncidentMoment:
        """This moment as the resolve of the incident last seen firing at `tier`."""
        return msgspec.structs.replace(
            self,
            status="resolved",
            tier=tier,
            previous_tier=tier,
            change="resolved",
            resolution=resolution,
        )


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


def _title(verdict: WindowVerdict, moment: IncidentMoment, columns: tuple[AlertColumn, ...]) -> str:
    tier, now_tier = moment.tier, verdict.tier
    where = f"{verdict.model_id} ({moment.environment})"
    if moment.status == "resolved":
        if moment.resolution == "below_route":
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
    verdict: WindowVerdict, moment: IncidentMoment, runbook: str | None
) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """What happened, why it matters, what to do: the incident's words for this verdict."""
    window = (
        f"Window {iso(verdict.window_start)} to {iso(verdict.window_end)}, "
        f"{verdict.events:,} events, baseline version {verdict.baseline_version}."
    )
    if moment.cleared:
        return (
            (
                f"{verdict.model_id} is back within its baseline (tier none since this window); "
                f"the incident ran from {iso(moment.started_at)} to {iso(verdict.window_end)} and "
                f"peaked at {max(moment.tiers_seen).label}.",
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


class _Content(msgspec.Struct, frozen=True, kw_only=True):
    """What an alert says: the part that depends on the kind of verdict."""

    title: str
    what_happened: tuple[str, ...]
    why_it_matters: str
    what_to_do: tuple[str, ...]
    events: int
    runbook_url: str | None = None
    columns: tuple[AlertColumn, ...] = ()
    traffic_affected: float = 0.0
    outputs_moved: bool = False


def _alert(
    verdict: WindowVerdict | PerformanceVerdict,
    moment: IncidentMoment,
    content: _Content,
    *,
    alertname: str = ALERTNAME,
) -> Alert:
    """The alert of `moment` saying `content`: identity, window and incident in one place."""
    labels = alert_labels(
        model_id=verdict.model_id,
        environment=moment.environment,
        tier=moment.tier,
        baseline_version=verdict.baseline_version,
        monitor=moment.monitor,
        alertname=alertname,
    )
    return Alert(
        fingerprint=fingerprint(labels),
        model_id=verdict.model_id,
        environment=moment.environment,
        status=moment.status,
        tier=moment.tier,
        previous_tier=moment.previous_tier,
        change=moment.change,
        labels=labels,
        title=content.title,
        what_happened=content.what_happened,
        why_it_matters=content.why_it_matters,
        what_to_do=content.what_to_do,
        runbook_url=content.runbook_url,
        columns=content.columns,
        traffic_affected=content.traffic_affected,
        outputs_moved=content.outputs_moved,
        baseline_version=verdict.baseline_version,
        starts_at=moment.started_at,
        ends_at=verdict.window_end if moment.status == "resolved" else None,
        window_start=verdict.window_start,
        window_end=verdict.window_end,
        window_index=verdict.window_index,
        events=content.events,
        tiers_seen=moment.tiers_seen,
        resolution=moment.resolution,
        report_url=moment.report_url,
    )


def build_alert(verdict: WindowVerdict, moment: IncidentMoment) -> Alert:
    """The drift alert for the verdict's model at `moment.tier`."""
    columns = tuple(alert_column(c) for c in drifting_columns(verdict))
    runbook = verdict.runbook_url or next((c.runbook_url for c in columns if c.runbook_url), None)
    happened, why, steps = _words(verdict, moment, runbook)
    content = _Content(
        title=_title(verdict, moment, columns),
        what_happened=happened,
        why_it_matters=why,
        what_to_do=steps,
        events=verdict.events,
        runbook_url=runbook,
        columns=columns,
        traffic_affected=verdict.traffic_affected,
        outputs_moved=verdict.outputs_moved,
    )
    return _alert(verdict, moment, content)


def build_final_alert(
    verdict: PerformanceVerdict, finding: FinalFinding, moment: IncidentMoment
) -> Alert:
    """The realised-performance or label-coverage alert of a window whose labels are final:
    an incident of its own (`ALERTNAME_OF`; see `fingerprint`)."""
    words = realised_performance_words if finding == "performance" else label_coverage_words
    happened, why, steps = words(verdict)
    if moment.cleared:
        why, steps = "No action needed; the finding is no longer sustained.", ()
    labelled = verdict.labels
    content = _Content(
        title=_final_title(verdict, finding, moment),
        what_happened=(final_window_line(verdict), happened),
        why_it_matters=why,
        what_to_do=steps,
        events=0 if labelled is None else labelled.n_predictions,
    )
    return _alert(verdict, moment, content, alertname=ALERTNAME_OF[finding])


def _final_title(verdict: PerformanceVerdict, finding: FinalFinding, moment: IncidentMoment) -> str:
    tier = moment.tier
    where = f"{verdict.model_id} ({moment.environment})"
    if moment.status == "resolved":
        what = "realised performance" if finding == "performance" else "label coverage"
        if moment.resolution == "below_route":
            return shorten(f"[RESOLVED] {where}: {what} no longer {tier.label}", MAX_TITLE)
        return shorten(f"[RESOLVED] {where}: {what} finding cleared (was {tier.label})", MAX_TITLE)
    what = performance_title(verdict) if finding == "performance" else coverage_title(verdict)
    return shorten(f"[{tier.label.upper()}] {where}: {what}", MAX_TITLE)
