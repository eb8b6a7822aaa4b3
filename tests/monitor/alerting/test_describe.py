from __future__ import annotations

from driftwarden.monitor.alerting.describe import MAX_TITLE, build_alert
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import column, verdict


def firing(tier: Tier, n_columns: int = 1) -> Alert:
    cols = [column(f"feature_{i:02d}_" + "x" * 30, tier) for i in range(n_columns)]
    return build_alert(
        verdict(3, tier, columns=cols),
        environment="prod",
        status="firing",
        tier=tier,
        previous_tier=Tier.NONE,
        started_at=0.0,
        tiers_seen=(tier,),
        change="new",
    )


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
        environment="prod",
        status="resolved",
        tier=Tier.WARNING,
        previous_tier=Tier.WARNING,
        started_at=0.0,
        tiers_seen=(Tier.WARNING, Tier.CRITICAL),
        change="resolved",
        resolution="cleared",
    )
    assert a.title == "[RESOLVED] credit-risk (prod): drift cleared (was warning)"
    assert "peaked at critical" in a.what_happened[0]
    assert a.ends_at == verdict(9, Tier.NONE).window_end
