"""Alertmanager timing in event time: group_wait, group_interval, repeat, resolves."""

from __future__ import annotations

import msgspec

from driftwarden.monitor.alerting.describe import IncidentMoment, build_alert
from driftwarden.monitor.alerting.groups import GroupsState, flush_due, place
from driftwarden.monitor.alerting.model import Alert, Notification, Status
from driftwarden.monitor.alerting.routing import RouteNode, compile_route, match_routes
from driftwarden.monitor.config import Route
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import verdict

W, C = Tier.WARNING, Tier.CRITICAL


def root(**kw: object) -> RouteNode:
    data = {
        "receiver": "chat",
        "group_by": ["model"],
        "group_wait": "10m",
        "group_interval": "15m",
        "repeat_interval": "1h",
        **kw,
    }
    return compile_route(Route.model_validate(data))


def alert(index: int, tier: Tier, *, model: str = "m", status: Status = "firing") -> Alert:
    return build_alert(
        verdict(index, tier, model=model),
        IncidentMoment(
            environment="prod",
            status=status,
            tier=tier,
            previous_tier=tier,
            started_at=0.0,
            tiers_seen=(tier,),
            change="new",
        ),
    )


def step(
    state: GroupsState,
    node: RouteNode,
    a: Alert,
    now: float,
    *,
    hidden: bool = False,
    muted: bool = False,
) -> list[Notification]:
    place(
        state,
        a,
        match_routes(node, a.labels),
        now=now,
        demote=lambda m: msgspec.structs.replace(m, status="resolved"),
    )
    return flush_due(
        state,
        now=now,
        routes={n.id: n for n in node.walk()},
        hidden=lambda _: hidden,
        route_muted=lambda _: muted,
    )


def test_group_wait_delays_the_first_notification_in_event_time() -> None:
    node, state = root(), GroupsState()
    assert step(state, node, alert(0, W), now=0.0) == []
    assert step(state, node, alert(1, W), now=300.0) == []
    (note,) = step(state, node, alert(2, W), now=600.0)
    assert [a.change for a in note.alerts] == ["new"]


def test_group_interval_throttles_changes_and_repeat_interval_repeats() -> None:
    node, state = root(group_wait="0s"), GroupsState()
    assert len(step(state, node, alert(0, W), now=0.0)) == 1
    assert step(state, node, alert(1, C), now=300.0) == []  # changed, but within 15 min
    (esc,) = step(state, node, alert(3, C), now=900.0)
    assert [a.change for a in esc.alerts] == ["escalated"]
    assert step(state, node, alert(4, C), now=1800.0) == []  # unchanged, no repeat yet
    (rep,) = step(state, node, alert(5, C), now=900.0 + 3600.0)
    assert [a.change for a in rep.alerts] == ["unchanged"]


def test_one_group_carries_every_alert_of_its_labels() -> None:
    node, state = root(group_wait="0s", group_by=["environment"]), GroupsState()
    place(state, alert(0, W, model="a"), [node], now=0.0, demote=lambda m: m)
    (note,) = step(state, node, alert(0, W, model="b"), now=0.0)
    assert sorted(a.model_id for a in note.alerts) == ["a", "b"]
    assert note.group_labels == {"environment": "prod"}


def test_resolved_is_told_only_to_groups_that_notified_it_firing() -> None:
    node, state = root(group_wait="10m"), GroupsState()
    step(state, node, alert(0, W), now=0.0)  # waiting, never notified
    assert step(state, node, alert(1, W, status="resolved"), now=600.0) == []
    assert state.groups == {}


def test_silenced_alerts_are_left_out_and_return_when_the_silence_ends() -> None:
    node, state = root(group_wait="0s", group_interval="5m"), GroupsState()
    assert step(state, node, alert(0, W), now=0.0, hidden=True) == []
    (note,) = step(state, node, alert(1, W), now=300.0)
    assert [a.change for a in note.alerts] == ["new"]


def test_a_mute_interval_drops_the_notification_and_the_next_flush_sends() -> None:
    node, state = root(group_wait="0s", group_interval="5m"), GroupsState()
    assert step(state, node, alert(0, W), now=0.0, muted=True) == []
    assert len(step(state, node, alert(1, W), now=300.0)) == 1


def test_tier_in_group_by_moves_the_alert_silently_within_the_route() -> None:
    node, state = root(group_wait="0s", group_by=["model", "tier"]), GroupsState()
    step(state, node, alert(0, W), now=0.0)
    (note,) = step(state, node, alert(1, C), now=300.0)
    assert note.group_labels == {"model": "m", "tier": "critical"}
    assert [a.status for a in note.alerts] == ["firing"]  # no "resolved" from the old group
    assert len(state.groups) == 1


def test_notification_ids_differ_when_a_group_is_recreated() -> None:
    node, state = root(group_wait="0s"), GroupsState()
    (first,) = step(state, node, alert(0, W), now=0.0)
    step(state, node, alert(1, W, status="resolved"), now=900.0)
    (again,) = step(state, node, alert(2, W), now=1800.0)
    assert first.id != again.id
