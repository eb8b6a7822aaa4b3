"""The words of a verdict: what happened, why it matters, what to do.

Written for the person who reads it at 2 am: the column and statistic first,
the current value beside the baseline's, the sample sizes that make it
believable, the share of traffic it touches, whether the model's outputs moved,
and the runbook link before the generic first steps.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from driftwarden.monitor.config import ModelPolicy
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnVerdict, Finding, WindowVerdict
from driftwarden.monitor.windows.window import WindowState

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


def iso(ts: float) -> str:
    if not math.isfinite(ts):
        return "n/a"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _main_finding(column: ColumnVerdict) -> Finding | None:
    if not column.findings:
        return None
    order = {
        "drift": 0,
        "missing": 1,
        "new_category": 2,
        "out_of_range": 3,
        "type_error": 4,
        "trend": 5,
    }
    return sorted(column.findings, key=lambda f: (-int(f.condition), order[f.kind]))[0]


def _fmt(statistic: str, value: float) -> str:
    if statistic.endswith(("_rate", "_increase")):
        return f"{value * 100:.1f}%"
    return f"{value:.3f}"


def finding_text(column: ColumnVerdict, finding: Finding) -> str:
    stats = column.statistics
    op = ">=" if finding.kind != "trend" else "changed"
    threshold = (
        "" if finding.kind == "trend" else f" {op} {_fmt(finding.statistic, finding.threshold)}"
    )
    return (
        f"{column.column} [{column.tier.label}] {finding.statistic} "
        f"{_fmt(finding.statistic, finding.value)}{threshold} "
        f"({finding.current} vs {finding.baseline}; n={stats.n_current:,} vs {stats.n_reference:,})"
    )


def _affected(column: ColumnVerdict) -> float:
    share = 0.0
    for finding in column.findings:
        if finding.kind == "drift":
            share = max(share, column.statistics.total_variation or 0.0)
        elif finding.kind != "trend":
            share = max(share, finding.value)
    return share


def describe_window(
    *,
    layout: ModelLayout,
    policy: ModelPolicy,
    state: WindowState,
    columns: tuple[ColumnVerdict, ...],
    tier: Tier,
    previous_tier: Tier,
    window_index: int,
    start: float,
    end: float,
    evaluated: bool,
    trend_columns: tuple[str, ...],
) -> WindowVerdict:
    model = layout.model_id
    baseline = layout.baseline
    drifting = sorted(
        (c for c in columns if c.tier > Tier.NONE),
        key=lambda c: (-int(c.tier), c.column),
    )
    header = (
        f"{model} window {iso(start)} to {iso(end)} ({state.events:,} events, "
        f"baseline {baseline.ref})"
    )
    if not evaluated:
        what = (
            f"{header}: not evaluated, fewer events than min_samples "
            f"{policy.significance.min_samples:,}; lower policy.significance.min_samples or use "
            f"longer windows (policy.window.size)"
        )
    elif not drifting:
        what = f"{header}: no column drifting"
    else:
        parts = []
        for column in drifting:
            finding = _main_finding(column)
            if finding is None:  # tier held by hysteresis while this window was calm
                parts.append(f"{column.column} [{column.tier.label}] held (recovering)")
            else:
                parts.append(finding_text(column, finding))
        noun = "column" if len(drifting) == 1 else "columns"
        what = f"{header}: {len(drifting)} {noun} drifting: " + "; ".join(parts)

    affected = max((_affected(c) for c in drifting), default=0.0)
    moved = [c for c in columns if c.role == "output" and c.condition > Tier.NONE]
    if not drifting:
        why = "Nothing to act on."
    else:
        culprit = max(drifting, key=_affected)
        why = (
            f"About {affected * 100:.0f}% of this window's traffic is affected "
            f"(largest: {culprit.column})."
        )
        if moved:
            outs = ", ".join(
                f"{c.column} {f.statistic} {_fmt(f.statistic, f.value)}"
                for c in moved
                if (f := _main_finding(c)) is not None
            )
            why += f" The model's outputs moved too: {outs}."
        else:
            why += " The model's outputs have not moved significantly yet."

    runbook = policy.runbook_url
    steps = [
        f"Runbook for {column.column}: {column.runbook_url}"
        for column in drifting
        if column.runbook_url and column.runbook_url != runbook
    ]
    if runbook:
        steps.insert(0, f"Runbook: {runbook}")
    seen_kinds: set[tuple[str, str]] = set()
    for column in drifting:
        finding = _main_finding(column)
        if finding is not None and (finding.kind, column.column) not in seen_kinds:
            seen_kinds.add((finding.kind, column.column))
            steps.append(_STEP_FOR_KIND[finding.kind].format(col=column.column))
    if drifting:
        steps.extend(policy.next_steps)

    return WindowVerdict(
        model_id=model,
        baseline_version=baseline.version,
        window_index=window_index,
        window_start=start,
        window_end=end,
        events=state.events,
        tier=tier,
        previous_tier=previous_tier,
        columns=columns,
        traffic_affected=affected,
        outputs_moved=bool(moved),
        what_happened=what,
        why_it_matters=why,
        what_to_do=tuple(steps),
        runbook_url=runbook,
        unknown_features=state.unknown_features,
        evaluated=evaluated,
        trend_columns=trend_columns,
    )
