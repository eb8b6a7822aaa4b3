from __future__ import annotations

import pytest

from driftwarden.monitor.alerting.routing import compile_route, match_routes
from driftwarden.monitor.config import Route
from driftwarden.monitor.errors import ConfigError


def tree() -> Route:
    return Route.model_validate(
        {
            "receiver": "log",
            "group_by": ["model"],
            "group_interval": "5m",
            "routes": [
                {
                    "matchers": ['tier="critical"'],
                    "receiver": "pager",
                    "continue": True,
                    "group_wait": "30s",
                },
                {
                    "matchers": ['tier=~"warning|critical"'],
                    "receiver": "chat",
                    "routes": [{"matchers": ['model=~"credit.*"'], "receiver": "credit-chat"}],
                },
                {"matchers": ['tier="critical"'], "receiver": "never"},
            ],
        }
    )


def receivers(labels: dict[str, str]) -> list[str]:
    return [n.receiver for n in match_routes(compile_route(tree()), labels)]


def test_continue_lets_a_later_sibling_match_too() -> None:
    assert receivers({"tier": "critical", "model": "fraud"}) == ["pager", "chat"]


def test_first_match_wins_without_continue() -> None:
    assert "never" not in receivers({"tier": "critical", "model": "fraud"})


def test_deepest_matching_child_takes_the_alert() -> None:
    assert receivers({"tier": "warning", "model": "credit-risk"}) == ["credit-chat"]
    assert receivers({"tier": "warning", "model": "fraud"}) == ["chat"]


def test_unmatched_alerts_fall_back_to_the_root() -> None:
    assert receivers({"tier": "info", "model": "fraud"}) == ["log"]


def test_children_inherit_group_by_and_timers() -> None:
    root = compile_route(tree())
    pager, chat, _ = root.children
    assert pager.group_by == ("model",)
    assert pager.group_wait == 30
    assert chat.group_wait == 0
    assert chat.group_interval == 300
    assert chat.repeat_interval == 4 * 3600
    assert chat.children[0].receiver == "credit-chat"


def test_group_key_names_route_and_group_labels() -> None:
    root = compile_route(tree())
    assert root.group_key({"model": "m", "tier": "x"}) == 'root:{model="m"}'
    everything = compile_route(Route.model_validate({"receiver": "log", "group_by": ["..."]}))
    assert everything.group_labels({"a": "1", "b": "2"}) == {"a": "1", "b": "2"}


def test_zero_group_interval_is_rejected_like_alertmanager() -> None:
    with pytest.raises(ConfigError, match="group_interval must be positive"):
        compile_route(Route.model_validate({"receiver": "log", "group_interval": 0}))


def test_bad_matcher_error_names_the_route() -> None:
    route = Route.model_validate({"receiver": "log", "routes": [{"matchers": ["tier"]}]})
    with pytest.raises(ConfigError, match=r"root\.routes\[0\]\.matchers"):
        compile_route(route)
