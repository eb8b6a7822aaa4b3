"""The route tree: which receivers an alert goes to, grouped how, and how often.

Semantics are Alertmanager's (`dispatch/route.go`): the root matches every
alert; children are tried in order and the first match wins unless it sets
`continue: true`; a node whose children all fail to match takes the alert
itself. Children inherit `receiver`, `group_by` and the three timers from their
parent; `mute_time_intervals` is not inherited. `group_by: ['...']` groups by
every label, and an empty `group_by` puts all alerts of the route in one group.

Timers are event-time seconds (see `groups.py`). The root's defaults differ from
Alertmanager's on one point: `group_wait` defaults to 0 because the engine has
already required the tier to be sustained before the verdict reaches us.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from driftwarden.monitor.alerting.matchers import Matcher, match_all, parse_matchers
from driftwarden.monitor.config import Route
from driftwarden.monitor.errors import ConfigError

DEFAULT_GROUP_WAIT = 0.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
GROUP_BY_ALL = "..."


@dataclass(frozen=True, slots=True)
class RouteNode:
    """A compiled route with every inherited value filled in."""

    id: str
    receiver: str
    matchers: tuple[Matcher, ...]
    continue_: bool
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float
    mute_time_intervals: tuple[str, ...]
    children: tuple[RouteNode, ...]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if GROUP_BY_ALL in self.group_by:
            return dict(labels)
        return {name: labels.get(name, "") for name in self.group_by}

    def group_key(self, labels: Mapping[str, str]) -> str:
        """Alertmanager's form: route path, then the sorted group labels."""
        pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(self.group_labels(labels).items()))
        return f"{self.id}:{{{pairs}}}"

    def walk(self) -> list[RouteNode]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


def compile_route(
    route: Route, *, parent: RouteNode | None = None, path: str = "root"
) -> RouteNode:
    """Resolve inheritance and parse matchers; errors name the route's path."""
    receiver = route.receiver if route.receiver is not None else parent.receiver if parent else None
    if receiver is None:
        raise ConfigError(f"alerting.{path}: no receiver; set route.receiver on the root route")
    try:
        matchers = parse_matchers(route.matchers)
    except ConfigError as exc:
        raise ConfigError(f"alerting.{path}.matchers: {exc}") from None
    group_by: tuple[str, ...]
    if route.group_by is not None:
        group_by = tuple(route.group_by)
    else:
        group_by = parent.group_by if parent else ()
    node = RouteNode(
        id=path,
        receiver=receiver,
        matchers=matchers,
        continue_=route.continue_,
        group_by=group_by,
        group_wait=_inherit(
            route.group_wait, parent.group_wait if parent else None, DEFAULT_GROUP_WAIT
        ),
        group_interval=_inherit(
            route.group_interval, parent.group_interval if parent else None, DEFAULT_GROUP_INTERVAL
        ),
        repeat_interval=_inherit(
            route.repeat_interval,
            parent.repeat_interval if parent else None,
            DEFAULT_REPEAT_INTERVAL,
        ),
        mute_time_intervals=tuple(route.mute_time_intervals),
        children=(),
    )
    _check_timers(node, path)
    children = tuple(
        compile_route(child, parent=node, path=f"{path}.routes[{i}]")
        for i, child in enumerate(route.routes)
    )
    return dataclasses.replace(node, children=children)


def _inherit(value: float | None, inherited: float | None, default: float) -> float:
    """A route's own timer, else its parent's, else the root's default."""
    if value is not None:
        return value
    return inherited if inherited is not None else default


def _check_timers(node: RouteNode, path: str) -> None:
    for name, value in (
        ("group_interval", node.group_interval),
        ("repeat_interval", node.repeat_interval),
    ):
        if value <= 0:
            raise ConfigError(
                f"alerting.{path}.{name} must be positive (Alertmanager rejects 0 too); set e.g. 5m"
            )


def match_routes(
    node: RouteNode, labels: Mapping[str, str], *, is_root: bool = True
) -> list[RouteNode]:
    """The routes that take an alert with these labels, in tree order."""
    if not is_root and not match_all(node.matchers, labels):
        return []
    matched: list[RouteNode] = []
    for child in node.children:
        found = match_routes(child, labels, is_root=False)
        matched.extend(found)
        if found and not child.continue_:
            break
    return matched or [node]
