"""Aggregation groups: when a route notifies, with Alertmanager's timing rules.

Each route match puts the alert into the group named by the route and the
values of its `group_by` labels. A group is flushed (asked whether to notify)
first `group_wait` after it was created, then every `group_interval`. A flush
notifies when the set of visible firing alerts or their tiers changed, when an
alert the receiver saw firing has resolved, or when `repeat_interval` has passed
since the last notification while something fires. Each notification carries
the whole group, as Alertmanager's do.

All times here are event time: the pipeline's clock is the latest verdict's
`window_end`, and flushes are evaluated each time a verdict is observed. Replay
therefore produces exactly the notifications a live run over the same events
would, and timers shorter than a window act at the next window.

When an open incident's tier changes, the alert may leave a group. If the same
route still takes it (its `group_by` contains `tier`), it moves silently; if the
route no longer matches (a `tier="critical"` route after a de-escalation), the
group reports it resolved with resolution `below_route`, which resolves the page
while the chat route keeps the incident open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

import msgspec

from driftwarden.monitor.alerting.model import Alert, Change, Notification
from driftwarden.monitor.alerting.routing import RouteNode
from driftwarden.monitor.verdicts.tier import Tier


class GroupState(msgspec.Struct, kw_only=True):
    route_id: str
    receiver: str
    key: str
    labels: dict[str, str]
    generation: int
    created_at: float
    next_flush: float
    alerts: dict[str, Alert] = msgspec.field(default_factory=dict)
    notified: dict[str, Tier] = msgspec.field(default_factory=dict)
    last_notify_at: float | None = None
    seq: int = 0


class GroupsState(msgspec.Struct, kw_only=True):
    groups: dict[str, GroupState] = msgspec.field(default_factory=dict)
    generation: int = 0


def _change(alert: Alert, notified: Mapping[str, Tier]) -> Change:
    if not alert.firing:
        return "resolved"
    before = notified.get(alert.fingerprint)
    if before is None:
        return "new"
    if alert.tier > before:
        return "escalated"
    if alert.tier < before:
        return "deescalated"
    return "unchanged"


def place(
    state: GroupsState,
    alert: Alert,
    routes: Iterable[RouteNode],
    *,
    now: float,
    demote: Callable[[Alert], Alert],
) -> None:
    """Put a firing or resolved alert into its groups.

    `routes` are the routes the alert matches now (ignored for a resolved alert,
    which resolves in every group holding it); `demote` turns a member into its
    `below_route` resolved form when a route stops taking a still-open incident.
    """
    fp = alert.fingerprint
    holding = [g for g in state.groups.values() if fp in g.alerts]
    if not alert.firing:
        for group in holding:
            group.alerts[fp] = alert
        return
    wanted = {node.group_key(alert.labels): node for node in routes}
    route_ids = {node.id for node in wanted.values()}
    for group in holding:
        if group.key in wanted:
            continue
        if group.route_id in route_ids:  # same route, other group: move silently
            del group.alerts[fp]
            group.notified.pop(fp, None)
        else:
            group.alerts[fp] = demote(group.alerts[fp])
    for key, node in wanted.items():
        existing = state.groups.get(key)
        if existing is None:
            state.generation += 1
            group = GroupState(
                route_id=node.id,
                receiver=node.receiver,
                key=key,
                labels=node.group_labels(alert.labels),
                generation=state.generation,
                created_at=now,
                next_flush=now + node.group_wait,
            )
            state.groups[key] = group
        else:
            group = existing
        group.alerts[fp] = alert


def notification_id(group: GroupState) -> str:
    digest = hashlib.sha256(group.key.encode("utf-8")).hexdigest()[:12]
    return f"{group.receiver}.{digest}.{group.generation}.{group.seq}"


def flush_due(
    state: GroupsState,
    *,
    now: float,
    routes: Mapping[str, RouteNode],
    hidden: Callable[[Alert], bool],
    route_muted: Callable[[RouteNode], bool],
) -> list[Notification]:
    """Flush every group whose timer has come; returns the notifications, in key order.

    `hidden` says whether a firing alert is silenced or inhibited now;
    `route_muted` whether the route is inside one of its mute time intervals.
    """
    out: list[Notification] = []
    for key in sorted(state.groups):
        group = state.groups[key]
        node = routes.get(group.route_id)
        if node is None or node.receiver != group.receiver:
            del state.groups[key]  # the route tree changed under a restart: forget the group
            continue
        if not group.alerts:  # every member moved to another group of the same route
            del state.groups[key]
            continue
        if now < group.next_flush:
            continue
        group.next_flush = now + node.group_interval
        if route_muted(node):
            continue  # dropped, not postponed; the next flush after the window notifies
        notification = _flush(group, node, now=now, hidden=hidden)
        if notification is not None:
            out.append(notification)
        if not group.alerts:
            del state.groups[key]
    return out


def _flush(
    group: GroupState, node: RouteNode, *, now: float, hidden: Callable[[Alert], bool]
) -> Notification | None:
    """One group's flush: its notification if anything changed or a repeat is due.

    Resolved members leave the group afterwards, told or not.
    """
    notification = None
    visible = {fp: a for fp, a in group.alerts.items() if a.firing and not hidden(a)}
    told_resolved = [a for fp, a in group.alerts.items() if not a.firing and fp in group.notified]
    changed = bool(told_resolved) or any(
        group.notified.get(fp) != a.tier for fp, a in visible.items()
    )
    due_repeat = bool(visible) and (
        group.last_notify_at is None or now - group.last_notify_at >= node.repeat_interval
    )
    if changed or due_repeat:
        alerts = [
            msgspec.structs.replace(a, change=_change(a, group.notified))
            for a in sorted([*visible.values(), *told_resolved], key=lambda a: a.fingerprint)
        ]
        group.seq += 1
        notification = Notification(
            id=notification_id(group),
            receiver=group.receiver,
            kind="alert",
            route_id=group.route_id,
            group_key=group.key,
            group_labels=dict(group.labels),
            created_at=now,
            alerts=tuple(alerts),
        )
        hidden_but_told = {
            fp: group.notified[fp]
            for fp, a in group.alerts.items()
            if a.firing and fp not in visible and fp in group.notified
        }
        group.notified = {**hidden_but_told, **{fp: a.tier for fp, a in visible.items()}}
        group.last_notify_at = now
    for fp in [fp for fp, a in group.alerts.items() if not a.firing]:
        del group.alerts[fp]
        group.notified.pop(fp, None)
    return notification
