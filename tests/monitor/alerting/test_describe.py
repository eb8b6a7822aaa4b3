from __future__ import annotations

import dataclasses

from driftwarden.monitor.alerting.describe import (
    MAX_TITLE,
    FinalFinding,
    IncidentMoment,
    build_alert,
    build_final_alert,
)
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.verdicts.performance import LabelRecord, PerformanceVerdict
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import column, verdict


def opened(tier: Tier, *, started_at: float = 0.0) -> IncidentMoment:
    """An incident that opened at `tier` with this verdict."""
    return IncidentMoment(
        environment="prod",
        status="firing",
        tier=tier,
        previous_tier=Tier.NONE,
        started_at=started_at,
        tiers_seen=(tier,),
        change="new",
    )


def firing(tier: Tier, n_columns: int = 1) -> Alert:
    cols = [column(f"feature_{i:02d}_" + "x" * 30, tier) for i in range(n_columns)]
    return build_alert(verdict(3, tier, columns=cols), opened(tier))


def test_one_alert_holds_every_drifting_column_and_the_three_parts() -> None:
    a = firing(Tier.CRITICAL, n_columns=3)
    assert len(a.columns) == 3
    assert a.title.startswith("[CRITICAL] credit-risk (prod): drift in 3 columns")
    assert a.what_happened[0].startswith("Window 2026-11-23T00:15:00Z to 2026-11-23T00:20:00Z")
    assert "psi 0.180 >= 0.100; mean 61.2k vs mean 48.9k; n=5,000 vs 100,000" in a.what_happened[1]
    assert a.why_it_matters.startswith("About 12%")
    assert a.runbook_url == "https://runbooks.example/credit-risk"
    # The runbook is a link, not a step again; the column steps come before the policy's.
    assert not any("runbooks.example" in step for step in a.what_to_do)
    assert a.what_to_do[0].startswith("Compare recent values of feature_00_")
    assert a.what_to_do[-1] == "Check recent deploys."


def test_labels_and_fingerprint_identify_the_model_incident_not_the_tier() -> None:
    w, c = firing(Tier.WARNING), firing(Tier.CRITICAL)
    assert w.fingerprint == c.fingerprint
    assert c.labels == {
        "alertname": "DriftwardenModelDrift",
        "model": "credit-risk",
        "environment": "prod",
        "tier": "critical",
        "severity": "critical",
        "baseline_version": "3",
    }


def test_titles_fit_a_slack_header_and_long_column_lists_are_cut() -> None:
    a = firing(Tier.WARNING, n_columns=20)
    assert len(a.title) <= MAX_TITLE
    assert a.what_happened[-1] == "+12 more drifting columns"


def test_resolved_alert_says_it_cleared_and_what_it_peaked_at() -> None:
    a = build_alert(
        verdict(9, Tier.NONE),
        IncidentMoment(
            environment="prod",
            status="resolved",
            tier=Tier.WARNING,
            previous_tier=Tier.WARNING,
            started_at=0.0,
            tiers_seen=(Tier.WARNING, Tier.CRITICAL),
            change="resolved",
            resolution="cleared",
        ),
    )
    assert a.title == "[RESOLVED] credit-risk (prod): drift cleared (was warning)"
    assert "peaked at critical" in a.what_happened[0]
    assert a.ends_at == verdict(9, Tier.NONE).window_end


def _final(*, condition: Tier, tier: Tier, coverage_tier: Tier, low: bool) -> PerformanceVerdict:
    labels = LabelRecord(
        n_predictions=1_000,
        n_labelled=420,
        label_coverage=0.42,
        label_delay_p50=60.0,
        label_delay_p95=600.0,
        final="horizon",
    )
    return PerformanceVerdict(
        model_id="credit-risk",
        window_index=7,
        kind="realised",
        realised={"accuracy": 0.91},
        estimated={},
        estimate_reliable=False,
        estimate_reasons=(),
        findings=(),
        condition=condition,
        tier=tier,
        previous_tier=Tier.NONE,
        labels=labels,
        coverage_low=low,
        what_happened="",
        coverage_tier=coverage_tier,
        coverage_floor=0.8,
        performance_words="accuracy fell from 0.94 to 0.91 on 420 labelled predictions",
        coverage_words="label coverage 42% below outcomes.low_coverage 80% (...)" if low else "",
        window_start=1_767_690_000.0,
        window_end=1_767_690_300.0,
        baseline_version=3,
    )


def _final_alert(verdict: PerformanceVerdict, finding: FinalFinding, tier: Tier) -> Alert:
    return build_final_alert(verdict, finding, opened(tier, started_at=verdict.window_start))


def test_low_coverage_is_its_own_alert_in_its_own_words_never_a_performance_drop() -> None:
    verdict = _final(condition=Tier.NONE, tier=Tier.NONE, coverage_tier=Tier.WARNING, low=True)
    a = _final_alert(verdict, "label_coverage", Tier.WARNING)
    assert a.title == (
        "[WARNING] credit-risk (prod): label coverage 42% below outcomes.low_coverage 80% "
        "on window 2026-01-06T09:00:00Z"
    )
    assert a.labels["alertname"] == "DriftwardenLabelCoverage"
    assert "performance" not in a.title
    assert a.what_happened[0].startswith("Prediction window 2026-01-06T09:00:00Z to ")
    assert a.what_happened[1].startswith("Label coverage: label coverage 42% below")
    assert a.what_to_do[0].startswith("Check the outcome feed")


def test_a_final_alert_cleared_says_no_action_and_one_below_its_route_keeps_its_steps() -> None:
    verdict = _final(condition=Tier.NONE, tier=Tier.NONE, coverage_tier=Tier.WARNING, low=True)
    moment = opened(Tier.WARNING, started_at=verdict.window_start)
    firing_steps = build_final_alert(verdict, "label_coverage", moment).what_to_do
    cleared = build_final_alert(verdict, "label_coverage", moment.resolved(Tier.WARNING, "cleared"))
    routed = build_final_alert(
        verdict, "label_coverage", moment.resolved(Tier.WARNING, "below_route")
    )
    assert cleared.title == (
        "[RESOLVED] credit-risk (prod): label coverage finding cleared (was warning)"
    )
    assert cleared.what_to_do == ()
    assert cleared.why_it_matters == "No action needed; the finding is no longer sustained."
    assert routed.title == "[RESOLVED] credit-risk (prod): label coverage no longer warning"
    assert routed.what_to_do == firing_steps != ()
    for resolved in (cleared, routed):
        assert (resolved.status, resolved.change, resolved.previous_tier) == (
            "resolved",
            "resolved",
            Tier.WARNING,
        )
        assert resolved.ends_at == verdict.window_end


def test_a_realised_drop_alerts_under_its_own_identity() -> None:
    verdict = _final(
        condition=Tier.CRITICAL, tier=Tier.CRITICAL, coverage_tier=Tier.NONE, low=False
    )
    perf = _final_alert(verdict, "performance", Tier.CRITICAL)
    coverage = _final_alert(verdict, "label_coverage", Tier.CRITICAL)
    drift = firing(Tier.CRITICAL)
    assert perf.title == (
        "[CRITICAL] credit-risk (prod): realised performance dropped on window 2026-01-06T09:00:00Z"
    )
    assert perf.labels["alertname"] == "DriftwardenModelPerformance"
    assert len({perf.fingerprint, coverage.fingerprint, drift.fingerprint}) == 3
    assert perf.columns == ()
    assert "accuracy fell from 0.94 to 0.91" in perf.what_happened[1]


def test_the_drift_incident_names_an_estimated_drop_as_estimated() -> None:
    estimate = dataclasses.replace(
        _final(condition=Tier.WARNING, tier=Tier.WARNING, coverage_tier=Tier.NONE, low=False),
        kind="estimated",
        labels=None,
    )
    held = dataclasses.replace(verdict(3, Tier.WARNING), performance=estimate)
    a = build_alert(held, opened(Tier.WARNING))
    assert a.title.startswith("[WARNING] credit-risk (prod): estimated performance dropped; drift")
    assert a.labels["alertname"] == "DriftwardenModelDrift"
