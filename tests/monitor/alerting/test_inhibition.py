from __future__ import annotations

import msgspec

from driftwarden.monitor.alerting.describe import IncidentMoment, build_alert
from driftwarden.monitor.alerting.inhibition import compile_rules, inhibited_by
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.config import InhibitRule
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import verdict

DEFAULT = compile_rules(
    [InhibitRule(source_matchers=['tier="critical"'], target_matchers=['tier="warning"'])]
)


def alert(model: str, tier: Tier, environment: str = "prod") -> Alert:
    return build_alert(
        verdict(0, tier, model=model),
        IncidentMoment(
            environment=environment,
            status="firing",
            tier=tier,
            previous_tier=Tier.NONE,
            started_at=0.0,
            tiers_seen=(tier,),
            change="new",
        ),
    )


def test_critical_mutes_warning_with_equal_model_and_environment() -> None:
    warning, critical = alert("m", Tier.WARNING), alert("m", Tier.CRITICAL)
    other = msgspec.structs.replace(critical, fingerprint="other")  # a second alert of model m
    assert inhibited_by(warning, [other], DEFAULT) == "other"


def test_default_rule_does_not_cross_models_or_environments() -> None:
    warning = alert("m", Tier.WARNING)
    assert inhibited_by(warning, [alert("n", Tier.CRITICAL)], DEFAULT) is None
    assert inhibited_by(warning, [alert("m", Tier.CRITICAL, "staging")], DEFAULT) is None


def test_a_wider_equal_mutes_across_models() -> None:
    rules = compile_rules(
        [
            InhibitRule(
                source_matchers=['tier="critical"'],
                target_matchers=['tier="warning"'],
                equal=["environment"],
            )
        ]
    )
    critical = alert("upstream", Tier.CRITICAL)
    assert inhibited_by(alert("m", Tier.WARNING), [critical], rules) == critical.fingerprint


def test_resolved_sources_and_the_alert_itself_never_inhibit() -> None:
    warning = alert("m", Tier.WARNING)
    resolved = msgspec.structs.replace(alert("x", Tier.CRITICAL), status="resolved")
    rules = compile_rules([InhibitRule(source_matchers=[], target_matchers=[], equal=[])])
    assert inhibited_by(warning, [warning, resolved], rules) is None
