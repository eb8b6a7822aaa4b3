"""The alert and notification data that flows from verdicts to receivers.

An `Alert` is one model's drift incident as seen at one moment: its identity
(fingerprint and labels), its tier, and the three things a responder needs:
what happened, why it matters, what to do. There is one alert per model and
environment, never one per column: the drifting columns travel inside it.

A `Notification` is what one receiver is asked to deliver: an Alertmanager-style
group of alerts (the firing ones plus those resolved since the group's last
notification), or a digest. Both are immutable msgspec structs so the outbox and
the state file can store them as JSON without a hand-written codec.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from driftwarden.monitor.verdicts.tier import Tier

Status = Literal["firing", "resolved"]

Change = Literal["new", "escalated", "deescalated", "unchanged", "resolved"]
"""How an alert differs from what the receiver was last told.

Computed when a group is flushed and again at delivery time against what the
receiver really received, so a notification that replaced an undelivered one
still says `new` rather than `unchanged`.
"""

Resolution = Literal["cleared", "below_route"]
"""Why an alert is resolved: the engine's tier dropped to none (`cleared`), or
the incident is still open but its tier no longer matches this route
(`below_route`, e.g. critical -> warning ends the page but not the chat thread).
"""

NotificationKind = Literal["alert", "digest"]


class AlertColumn(msgspec.Struct, frozen=True, kw_only=True):
    """One drifting column inside an alert, with its strongest finding."""

    column: str
    role: str
    kind: str
    tier: Tier
    finding: str | None
    statistic: str | None
    value: float | None
    threshold: float | None
    current: str | None
    baseline: str | None
    n_current: int
    n_reference: int
    runbook_url: str | None = None


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One model's incident at one moment, ready to route and render.

    `fingerprint` identifies the incident (model, environment, alert name) and is
    the PagerDuty `dedup_key`: it does not contain the tier, so an escalation is
    an update of the same incident. `labels` also carry `tier`, `severity` and
    `baseline_version` so routes and silences can match them.
    """

    fingerprint: str
    model_id: str
    environment: str
    status: Status
    tier: Tier
    previous_tier: Tier
    change: Change
    labels: dict[str, str]
    title: str
    what_happened: tuple[str, ...]
    why_it_matters: str
    what_to_do: tuple[str, ...]
    runbook_url: str | None
    columns: tuple[AlertColumn, ...]
    traffic_affected: float
    outputs_moved: bool
    baseline_version: int
    starts_at: float
    ends_at: float | None
    window_start: float
    window_end: float
    window_index: int
    events: int
    tiers_seen: tuple[Tier, ...]
    resolution: Resolution | None = None
    report_url: str | None = None  # the page with this window (`alerting.report_url`)

    @property
    def firing(self) -> bool:
        return self.status == "firing"


class DigestEntry(msgspec.Struct, frozen=True, kw_only=True):
    """What one model did during a digest period."""

    model_id: str
    highest_tier: Tier
    windows: int
    windows_by_tier: dict[str, int]
    columns: tuple[str, ...]
    first_window_end: float
    last_window_end: float


class Digest(msgspec.Struct, frozen=True, kw_only=True):
    """A periodic summary of every model that left tier none, for dashboards and inboxes."""

    environment: str
    period_start: float
    period_end: float
    entries: tuple[DigestEntry, ...]


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery for one receiver.

    `id` is deterministic (receiver, group, group sequence) so a verdict observed
    twice after a crash yields the same id and is enqueued once; receivers use it
    as the idempotency key, stable across retries.
    """

    id: str
    receiver: str
    kind: NotificationKind
    route_id: str
    group_key: str
    group_labels: dict[str, str]
    created_at: float
    alerts: tuple[Alert, ...] = ()
    digest: Digest | None = None

    @property
    def status(self) -> Status:
        return "firing" if any(a.firing for a in self.alerts) else "resolved"

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(a.fingerprint for a in self.alerts)
