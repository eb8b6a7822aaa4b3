"""Small, explicit WindowVerdicts for alerting tests (the engine is not needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from driftwarden.monitor.alerting.describe import IncidentMoment
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import (
    ColumnStatistics,
    ColumnVerdict,
    Finding,
    WindowVerdict,
)

T0 = 1_795_392_000.0  # 2026-11-23T00:00:00Z (a Monday), a midnight so digests align
WINDOW = 300.0


def column(
    name: str = "income",
    tier: Tier = Tier.WARNING,
    *,
    statistic: str = "psi",
    value: float = 0.18,
    threshold: float = 0.1,
    role: Literal["feature", "output"] = "feature",
    current: str = "mean 61.2k",
    baseline: str = "mean 48.9k",
    runbook_url: str | None = None,
) -> ColumnVerdict:
    return ColumnVerdict(
        column=name,
        role=role,
        kind="numeric",
        tier=tier,
        condition=tier,
        statistics=ColumnStatistics(n_current=5000, n_reference=100_000, missing=0, type_errors=0),
        findings=(
            Finding(
                kind="drift",
                statistic=statistic,
                value=value,
                threshold=threshold,
                condition=tier,
                p_value=1e-6,
                current=current,
                baseline=baseline,
            ),
        )
        if tier > Tier.NONE
        else (),
        runbook_url=runbook_url,
    )


def verdict(
    index: int,
    tier: Tier,
    *,
    model: str = "credit-risk",
    previous: Tier = Tier.NONE,
    columns: Sequence[ColumnVerdict] | None = None,
    window: float = WINDOW,
    t0: float = T0,
    runbook_url: str | None = "https://runbooks.example/credit-risk",
) -> WindowVerdict:
    if columns is None:
        columns = (column("income", tier),) if tier > Tier.NONE else (column("income", Tier.NONE),)
    return WindowVerdict(
        model_id=model,
        baseline_version=3,
        window_index=index,
        window_start=t0 + index * window,
        window_end=t0 + (index + 1) * window,
        events=5000,
        tier=tier,
        previous_tier=previous,
        columns=tuple(columns),
        traffic_affected=0.12 if tier > Tier.NONE else 0.0,
        outputs_moved=tier >= Tier.CRITICAL,
        min_samples=500,
        next_steps=("Check recent deploys.",),
        runbook_url=runbook_url,
    )


def episode(
    tiers: Sequence[Tier], *, model: str = "credit-risk", start: int = 0, window: float = WINDOW
) -> list[WindowVerdict]:
    """One verdict per tier, consecutive windows, with previous_tier filled in."""
    out = []
    previous = Tier.NONE
    for i, tier in enumerate(tiers):
        out.append(verdict(start + i, tier, model=model, previous=previous, window=window))
        previous = tier
    return out


def escalated(*, report_url: str | None = None) -> IncidentMoment:
    """An incident in prod that went from warning to critical with this verdict."""
    return IncidentMoment(
        environment="prod",
        status="firing",
        tier=Tier.CRITICAL,
        previous_tier=Tier.WARNING,
        started_at=0.0,
        tiers_seen=(Tier.WARNING, Tier.CRITICAL),
        change="escalated",
        report_url=report_url,
    )
