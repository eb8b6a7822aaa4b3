"""Shared notifications for the receiver tests."""

from __future__ import annotations

from driftwarden.monitor.alerting.describe import IncidentMoment, build_alert
from driftwarden.monitor.alerting.model import Alert, Change, Notification, Status
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import column, verdict


def alert(
    tier: Tier = Tier.CRITICAL,
    *,
    status: Status = "firing",
    change: Change = "new",
    previous: Tier = Tier.NONE,
    column_name: str = "income",
) -> Alert:
    v = verdict(4, tier, columns=[column(column_name, tier, value=0.41, threshold=0.25)])
    return build_alert(
        v,
        IncidentMoment(
            environment="prod",
            status=status,
            tier=tier,
            previous_tier=previous,
            started_at=v.window_start - 600,
            tiers_seen=(tier,),
            change=change,
            resolution="cleared" if status == "resolved" else None,
        ),
    )


def notification(*alerts: Alert, receiver: str = "r", nid: str = "r.abc.1.1") -> Notification:
    return Notification(
        id=nid,
        receiver=receiver,
        kind="alert",
        route_id="root",
        group_key='root:{model="credit-risk"}',
        group_labels={"model": "credit-risk"},
        created_at=0.0,
        alerts=alerts or (alert(),),
    )
