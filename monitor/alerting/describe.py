"""Turn a verdict into an alert's words: title, what happened, why, what to do.

The engine's verdict already carries prose (`what_happened` as one line,
`why_it_matters`, `what_to_do` with the runbook first). Alerts keep the engine's
`why_it_matters` and `what_to_do` and rebuild "what happened" from the
structured columns so each receiver can lay it out (one bullet per column in
Slack, `custom_details` in PagerDuty) without parsing prose.
"""

from __future__ import annotations

from datetime import UTC, datetime

from driftwarden.monitor.alerting.fingerprint import alert_labels, fingerprint
from driftwarden.monitor.alerting.model import Alert, AlertColumn, Change, Resolution, Status
from driftwarden.monitor.config import DEFAULT_NEXT_STEPS
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnVerdict, Finding, WindowVerdict

MAX_TITLE = 150  # a Slack header block holds 150 characters
MAX_COLUMNS_LISTED = 8
_KIND_ORDER = {
    "drift": 0,
    "missing": 1,
    "new_category": 2,
    "out_of_range": 3,
    "type_error": 4,
    "trend": 5,
}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_value(statistic: str | None, value: float | None) -> str:
    if value is None:
        return "n/a"
    if statistic is not None and statistic.endswith(("_rate", "_increase")):
        return f"{value * 100:.1f}%"
    return f"{value:.3f}"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def main_finding(column: ColumnVerdict) -> Finding | None:
    """The finding that explains the column's tier: highest condition, drift first."""
    if not column.findings:
        return None
    return sorted(column.findings, key=lambda f: (-int(f.condition), _KIND_ORDER.get(f.kind, 9)))[0]


def alert_column(column: ColumnVerdict) -> AlertColumn:
    finding = main_finding(column)
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


def column_line(column: AlertColumn) -> str:
    """E.g. `income (feature) [critical]: psi 0.412 >= 0.250; mean 61.2k vs mean 48.9k; n=...`."""
    head = f"{column.column} ({column.role}) [{column.tier.label}]"
    if column.statistic is None:
        return f"{head}: held while recovering; n={column.n_current:,} vs {column.n_reference:,}"
    if column.finding == "trend":
        stat = f"{column.statistic} trending ({format_value(column.statistic, column.value)})"
    else:
        stat = (
            f"{column.statistic} {format_value(column.statistic, column.value)} >= "
            f"{format_value(column.statistic, column.threshold)}"
        )
    return (
        f"{head}: {stat}; {column.current} vs {column.baseline}; "
        f"n={column.n_current:,} vs {column.n_reference:,}"
    )


def _title(  # noqa: PLR0917 - private, called once with every part of the title
    model: str,
    environment: str,
    status: Status,
    tier: Tier,
    columns: tuple[AlertColumn, ...],
    resolution: Resolution | None,
    now_tier: Tier,
    performance: bool = False,
) -> str:
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
    if performance:  # issue 14: a performance finding raised the tier
        what = f"performance dropped; {what}" if names else "performance dropped"
    return shorten(f"[{tier.label.upper()}] {where}: {what}", MAX_TITLE)


def _steps(verdict: WindowVerdict, runbook: str | None) -> tuple[str, ...]:
    steps = verdict.what_to_do or DEFAULT_NEXT_STEPS
    if runbook is None:
        return tuple(steps)
    # The runbook is shown as its own link; do not repeat it as a step.
    return tuple(s for s in steps if runbook not in s) or tuple(DEFAULT_NEXT_STEPS)


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
) -> Alert:
    """The alert for `verdict`'s model.

    `tier` is the alert's tier: the current one, or the last firing one when resolved.
    """
    labels = alert_labels(
        model_id=verdict.model_id,
        environment=environment,
        tier=tier,
        baseline_version=verdict.baseline_version,
        monitor=monitor,
    )
    drifting = sorted(verdict.drifting_columns, key=lambda c: (-int(c.tier), c.column))
    columns = tuple(alert_column(c) for c in drifting)
    runbook = verdict.runbook_url or next((c.runbook_url for c in columns if c.runbook_url), None)
    window = (
        f"Window {iso(verdict.window_start)} to {iso(verdict.window_end)}, "
        f"{verdict.events:,} events, baseline version {verdict.baseline_version}."
    )
    if status == "resolved" and resolution != "below_route":
        happened: tuple[str, ...] = (
            f"{verdict.model_id} is back within its baseline (tier none since this window); "
            f"the incident ran from {iso(started_at)} to {iso(verdict.window_end)} and peaked at "
            f"{max(tiers_seen).label}.",
            window,
        )
        why = "No action needed; the drift is no longer sustained."
        steps: tuple[str, ...] = ("Nothing to do; review the incident if it recurs.",)
    else:
        lines = [column_line(c) for c in columns[:MAX_COLUMNS_LISTED]]
        if len(columns) > MAX_COLUMNS_LISTED:
            lines.append(f"+{len(columns) - MAX_COLUMNS_LISTED} more drifting columns")
        performance = verdict.performance
        if performance is not None and performance.tier > Tier.NONE:  # issue 14
            lines.insert(0, f"Performance: {performance.what_happened}.")
        happened = (window, *lines)
        why = verdict.why_it_matters or (
            f"About {verdict.traffic_affected * 100:.0f}% of this window's traffic is affected; "
            + (
                "the model's outputs moved too."
                if verdict.outputs_moved
                else "outputs have not moved yet."
            )
        )
        steps = _steps(verdict, runbook)
    return Alert(
        fingerprint=fingerprint(labels),
        model_id=verdict.model_id,
        environment=environment,
        status=status,
        tier=tier,
        previous_tier=previous_tier,
        change=change,
        labels=labels,
        title=_title(
            verdict.model_id,
            environment,
            status,
            tier,
            columns,
            resolution,
            verdict.tier,
            performance=verdict.performance is not None and verdict.performance.tier > Tier.NONE,
        ),
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
    )
