"""Tiered alerting: verdicts -> incidents -> routes and groups -> outbox -> receivers.

Entry points (details in `pipeline.py`):

- `AlertPipeline(settings.alerting, environment=..., clock=..., store=... | state_dir=...,
  metrics=..., real_receivers=..., on_store_fault=...)` or
  `AlertPipeline.from_settings(settings, clock=...)`: `observe(verdict) -> list[Notification]`,
  `dispatch(now=None)`, `drain(deadline)`, `suspend()`, `resume()`, `close()`.
- `open_alert_store(settings)`: where alert state lives (`store.py`, `kafka_store.py`).
- `replay_pipeline(settings, real_receivers=False)` for `driftwarden replay`.
- `check_alerting(settings.alerting)` validates matchers, intervals and the digest receiver.
- `render.document(notification)` is the JSON form of a notification (webhook body, report).

Module map: `lifecycle` (incidents), `describe` (an alert's words), `fingerprint`
(identity), `routing` + `matchers`, `groups` (Alertmanager timing), `inhibition`,
`silences`, `mute`, `digest`, `render`, `outbox`, `delivery` + `backoff` + `breaker`
+ `dispatcher` (sending), `receivers/*`, `metrics` (the metrics protocol), `state`
(what is persisted) + `state_writer` (writes that survive faults) + `store` /
`kafka_store` (where it is persisted).
"""

from driftwarden.monitor.alerting.metrics import AlertMetrics, NullMetrics, RecordingMetrics
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.alerting.pipeline import AlertPipeline, check_alerting, replay_pipeline
from driftwarden.monitor.alerting.store import open_alert_store, state_directory

__all__ = [
    "Alert",
    "AlertMetrics",
    "AlertPipeline",
    "Notification",
    "NullMetrics",
    "RecordingMetrics",
    "check_alerting",
    "open_alert_store",
    "replay_pipeline",
    "state_directory",
]
