"""Our Alertmanager receiver against a real Prometheus Alertmanager 0.25 on loopback.

Alertmanager groups our alerts, keeps them active while we re-send, resolves them
on `endsAt`, and its own webhook carries our labels and annotations onward.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.config import AlertingSettings
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import verdict
from tests.support.alertmanager import Alertmanager, running_alertmanager

pytestmark = [pytest.mark.alertmanager, pytest.mark.timeout(120)]

T0 = time.time() - 3600.0


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    with running_alertmanager(tmp_path) as am:
        yield am


def pipeline(am: Alertmanager, resend: float = 1.0) -> AlertPipeline:
    settings = AlertingSettings.model_validate(
        {
            "receivers": [
                {"name": "am", "type": "alertmanager", "url": am.url, "resend_interval": resend}
            ],
            "route": {
                "receiver": "am",
                "group_by": ["model"],
                "group_wait": 0,
                "group_interval": 60,
                "repeat_interval": 3600,
            },
            "delivery": {"timeout": 5},
        }
    )
    return AlertPipeline(settings, environment="prod", clock=time.time, state_dir=None)


def test_alerts_arrive_grouped_with_our_labels_and_annotations(alertmanager: Alertmanager) -> None:
    p = pipeline(alertmanager)
    for model in ("credit-risk", "fraud"):
        p.observe(verdict(0, Tier.CRITICAL, model=model, t0=T0))
    p.dispatch()
    message = alertmanager.sink.wait_for(lambda m: len(m["alerts"]) == 2)
    assert message["status"] == "firing"
    assert message["groupLabels"] == {"alertname": "DriftwardenModelDrift", "environment": "prod"}
    assert message["externalURL"] == alertmanager.url
    by_model = {a["labels"]["model"]: a for a in message["alerts"]}
    assert set(by_model) == {"credit-risk", "fraud"}
    labels = by_model["credit-risk"]["labels"]
    assert labels == {
        "alertname": "DriftwardenModelDrift",
        "model": "credit-risk",
        "environment": "prod",
        "severity": "critical",
    }
    ann = by_model["credit-risk"]["annotations"]
    assert ann["summary"].startswith("[CRITICAL] credit-risk (prod): drift in 1 column: income")
    assert "psi 0.180" in ann["description"]
    assert ann["runbook_url"] == "https://runbooks.example/credit-risk"
    assert ann["baseline_version"] == "3"
    p.close()


def test_resending_keeps_alerts_active_and_ends_at_resolves_them(
    alertmanager: Alertmanager,
) -> None:
    p = pipeline(alertmanager, resend=1.0)  # endsAt = now + 4 s on every post
    p.observe(verdict(0, Tier.WARNING, t0=T0))
    p.dispatch()
    alertmanager.sink.wait_for(lambda m: m["status"] == "firing")
    first_ends = alertmanager.alerts()[0]["endsAt"]
    stop = time.monotonic() + 7.0  # longer than the 4 s an un-refreshed alert would live
    while time.monotonic() < stop:
        p.dispatch()
        time.sleep(0.25)
    (active,) = alertmanager.alerts()
    assert active["status"]["state"] == "active"
    assert active["endsAt"] > first_ends
    assert not [m for m in alertmanager.sink.messages if m["status"] == "resolved"]

    p.observe(verdict(1, Tier.NONE, t0=T0, previous=Tier.WARNING))
    p.dispatch()
    resolved = alertmanager.sink.wait_for(lambda m: m["status"] == "resolved")
    (alert,) = resolved["alerts"]
    assert alert["labels"]["model"] == "credit-risk"
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"].startswith("[RESOLVED] credit-risk (prod)")
    assert alertmanager.alerts() == []
    p.close()


def test_escalation_resolves_the_warning_and_fires_the_critical(
    alertmanager: Alertmanager,
) -> None:
    p = pipeline(alertmanager, resend=60.0)
    p.observe(verdict(0, Tier.WARNING, t0=T0))
    p.dispatch()
    alertmanager.sink.wait_for(lambda m: m["status"] == "firing")
    p.observe(verdict(12, Tier.CRITICAL, t0=T0, previous=Tier.WARNING))  # an hour later
    p.dispatch()
    message = alertmanager.sink.wait_for(
        lambda m: any(a["labels"]["severity"] == "critical" for a in m["alerts"])
    )
    states = {a["labels"]["severity"]: a["status"] for a in message["alerts"]}
    # The warning was ended in the same request; Alertmanager's inhibition rule
    # (critical mutes warning, equal model+environment) keeps it out of the message.
    assert states == {"critical": "firing"}
    assert [a["labels"]["severity"] for a in alertmanager.alerts()] == ["critical"]
    assert alertmanager.alerts(active="false", inhibited="true") == []
    p.close()
