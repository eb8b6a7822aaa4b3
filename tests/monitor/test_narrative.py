"""A verdict's words are written in one place, from the verdict alone, for report and alerts."""

from __future__ import annotations

import dataclasses

from driftwarden.monitor.alerting.describe import IncidentMoment, build_alert
from driftwarden.monitor.verdicts.narrative import (
    column_line,
    finding_text,
    what_happened,
    what_to_do,
    why_it_matters,
)
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnStatistics, Finding, WindowVerdict
from tests.monitor.alerting.alert_verdicts import column, verdict

MODEL_RUNBOOK = "https://runbooks.example/credit-risk"


def critical(**changes: object) -> WindowVerdict:
    return dataclasses.replace(verdict(3, Tier.CRITICAL), **changes)


def test_an_unevaluated_window_names_the_min_samples_the_verdict_carries() -> None:
    v = dataclasses.replace(verdict(0, Tier.NONE), evaluated=False, min_samples=2_000)
    assert what_happened(v).endswith(
        ": not evaluated, fewer events than min_samples 2,000; lower "
        "policy.significance.min_samples or use longer windows (policy.window.size)"
    )
    assert what_happened(v).startswith("credit-risk window 2026-11-23T00:00:00Z to ")


def test_why_names_the_column_that_touches_the_most_traffic() -> None:
    small = column("age", Tier.WARNING)
    wide = dataclasses.replace(
        column("income", Tier.WARNING),
        statistics=ColumnStatistics(
            n_current=5000, n_reference=100_000, missing=0, type_errors=0, total_variation=0.3
        ),
    )
    v = critical(columns=(small, wide), traffic_affected=0.3)
    assert why_it_matters(v) == (
        "About 30% of this window's traffic is affected (largest: income). "
        "The model's outputs have not moved significantly yet."
    )


def test_steps_start_with_the_runbooks_then_one_per_column_then_the_policy() -> None:
    cols = (column("age", Tier.WARNING, runbook_url="https://runbooks.example/age"),)
    steps = what_to_do(critical(columns=cols))
    assert steps[0] == f"Runbook: {MODEL_RUNBOOK}"
    assert steps[1] == "Runbook for age: https://runbooks.example/age"
    assert steps[2].startswith("Compare recent values of age with the baseline")
    assert steps[-1] == "Check recent deploys."


def test_an_alert_leaves_out_only_the_runbook_it_links() -> None:
    """The alert shows its runbook as a link; a column's own runbook is still a step."""
    cols = (column("age", Tier.WARNING, runbook_url=f"{MODEL_RUNBOOK}#age"),)
    alert = build_alert(
        critical(columns=cols),
        IncidentMoment(
            environment="prod",
            status="firing",
            tier=Tier.CRITICAL,
            previous_tier=Tier.NONE,
            started_at=0.0,
            tiers_seen=(Tier.CRITICAL,),
            change="new",
        ),
    )
    assert alert.runbook_url == MODEL_RUNBOOK
    assert f"Runbook: {MODEL_RUNBOOK}" not in alert.what_to_do
    assert f"Runbook for age: {MODEL_RUNBOOK}#age" in alert.what_to_do


def test_report_and_alert_lines_show_a_finding_with_the_same_numbers() -> None:
    c = dataclasses.replace(
        column("missing_col", Tier.WARNING),
        findings=(
            Finding(
                kind="missing",
                statistic="missing_increase",
                value=0.1234,
                threshold=0.05,
                condition=Tier.WARNING,
                p_value=1e-9,
                current="missing 12.3%",
                baseline="missing 0.0%",
            ),
        ),
    )
    assert finding_text(c, c.findings[0]) == (
        "missing_col [warning] missing_increase 12.3% >= 5.0% "
        "(missing 12.3% vs missing 0.0%; n=5,000 vs 100,000)"
    )
    assert column_line(c) == (
        "missing_col (feature) [warning]: missing_increase 12.3% >= 5.0%; "
        "missing 12.3% vs missing 0.0%; n=5,000 vs 100,000"
    )


def test_a_column_held_by_hysteresis_says_so_in_both_lines() -> None:
    held = dataclasses.replace(column("income", Tier.WARNING), findings=())
    v = critical(columns=(held,))
    assert "income [warning] held (recovering)" in what_happened(v)
    assert column_line(held) == (
        "income (feature) [warning]: held while recovering; n=5,000 vs 100,000"
    )
