"""examples/alerting.yaml is valid and routes each tier where the docs say."""

from __future__ import annotations

from pathlib import Path

from driftwarden.monitor.alerting import check_alerting
from driftwarden.monitor.alerting.routing import match_routes
from driftwarden.monitor.config import load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "alerting.yaml"


def test_example_config_validates_including_matchers_and_intervals() -> None:
    settings = load_settings(EXAMPLE, env={})
    compiled = check_alerting(settings.alerting)
    route = compiled.root

    def to(labels: dict[str, str]) -> list[str]:
        return [n.receiver for n in match_routes(route, labels)]

    assert to({"tier": "info", "model": "credit-risk"}) == ["log"]
    assert to({"tier": "warning", "model": "credit-risk"}) == ["team-chat"]
    assert to({"tier": "critical", "model": "credit-risk"}) == ["pager", "rollback", "team-chat"]
    assert to({"tier": "critical", "model": "fraud"}) == ["pager", "team-chat"]
    assert settings.alerting.digest.receiver == "digest"
