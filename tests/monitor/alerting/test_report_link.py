"""`alerting.report_url`: every alert links to the page of its window, next to the runbook."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.alerting.describe import build_alert, iso
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.alerting.receivers.alertmanager import annotations_for
from driftwarden.monitor.alerting.receivers.pagerduty import event
from driftwarden.monitor.alerting.receivers.slack import alert_blocks
from driftwarden.monitor.alerting.render import document
from driftwarden.monitor.alerting.report_link import report_link
from driftwarden.monitor.config import AlertingSettings
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import FakeClock, FakeReceiver, alerting_settings
from tests.monitor.alerting.alert_verdicts import episode

TEMPLATE = "https://reports.example/{environment}/{model}.html#window={window_end}"


def _alert(report_url: str | None) -> Alert:
    from tests.monitor.alerting.alert_verdicts import escalated, verdict

    v = verdict(1, Tier.CRITICAL)
    return build_alert(v, escalated(report_url=report_link(report_url, v, environment="prod")))


def test_the_template_is_filled_with_the_alerts_model_environment_and_window() -> None:
    alert = _alert(TEMPLATE)
    assert alert.report_url is not None
    assert alert.report_url.startswith(f"https://reports.example/prod/{alert.model_id}.html")
    assert alert.report_url.endswith("#window=" + iso(alert.window_end).replace(":", "%3A"))


def test_values_are_url_quoted_so_a_model_name_cannot_break_the_link() -> None:
    from tests.monitor.alerting.alert_verdicts import verdict

    v = verdict(1, Tier.CRITICAL, model="a b/c?d")
    assert report_link("https://r/{model}", v, environment="x") == "https://r/a%20b%2Fc%3Fd"


def test_every_channel_carries_the_link_next_to_the_runbook() -> None:
    alert = _alert(TEMPLATE)
    url = alert.report_url
    assert url is not None
    note = Notification(
        id="n1",
        receiver="chat",
        kind="alert",
        route_id="root",
        group_key="root:{}",
        group_labels={},
        created_at=600.0,
        alerts=(alert,),
    )
    assert document(note)["alerts"][0]["report_url"] == url
    assert any(url in str(block) for block in alert_blocks(alert))
    assert {"href": url, "text": "Report: this window"} in event(alert, routing_key="k")["links"]
    assert annotations_for(alert)["report_url"] == url


def test_without_a_template_alerts_are_as_before() -> None:
    alert = _alert(None)
    assert alert.report_url is None
    assert not any("Report" in str(block) for block in alert_blocks(alert))
    assert "report_url" not in annotations_for(alert)


def test_the_pipeline_fills_the_configured_template(clock: FakeClock) -> None:
    chat = FakeReceiver("chat")
    pipeline = AlertPipeline(
        alerting_settings(report_url=TEMPLATE),
        environment="prod",
        clock=clock,
        rng=random.Random(7),
        sleep=clock.sleep,
        receivers={
            "log": FakeReceiver("log"),
            "chat": chat,
            "pager": FakeReceiver("pager"),
        },
    )
    for v in episode([Tier.NONE, Tier.WARNING, Tier.WARNING]):
        pipeline.observe(v)
        clock.now = v.window_end
        pipeline.dispatch()
    sent = [a for n in chat.sent for a in n.alerts]
    assert sent
    assert all(
        a.report_url and a.report_url.startswith("https://reports.example/prod/") for a in sent
    )


@pytest.mark.parametrize("template", ["https://r/{modle}", "https://r/{model"])
def test_a_template_with_an_unknown_placeholder_is_refused_with_the_known_ones(
    template: str,
) -> None:
    with pytest.raises(ValidationError, match="report_url"):
        AlertingSettings(report_url=template)
