"""Tiered alerting: verdicts -> incidents -> routes and groups -> outbox -> receivers.

Entry points (details in `pipeline.py`):

- `AlertPipeline(settings.alerting, environment=..., clock=..., state_dir=..., metrics=...,
  real_receivers=...)` or `AlertPipeline.from_settings(settings, clock=...)`:
  `observe(verdict) -> list[Notification]`, `dispatch(now=None)`, `drain(deadline)`, `close()`.
- `replay_pipeline(settings, real_receivers=False)` for `driftwarden replay`.
- `check_alerting(settings.alerting)` validates matchers, intervals and the digest receiver.
- `render.document(notification)` is the JSON form of a notification (webhook body, report).

Module map: `lifecycle` (incidents), `describe` (an alert's words), `fingerprint`
(identity), `routing` + `matchers`, `groups` (Alertmanager timing), `inhibition`,
`silences`, `mute`, `digest`, `render`, `outbox`, `delivery` + `backoff` + `breaker`
+ `dispatcher` (sending), `receivers/*`, `metrics` (the metrics protocol).
"""

from monitor.alerting.metrics import AlertMetrics, NullMetrics, RecordingMetrics
from monitor.alerting.model import Alert, Notification
from monitor.alerting.pipeline import (
    AlertPipeline,
    check_alerting,
    replay_pipeline,
    state_directory,
)

__all__ = [
    "Alert",
    "AlertMetrics",
    "AlertPipeline",
    "Notification",
    "NullMetrics",
    "RecordingMetrics",
    "check_alerting",
    "replay_pipeline",
    "state_directory",
]
