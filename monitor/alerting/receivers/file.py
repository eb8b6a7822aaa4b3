"""The `file` receiver: one JSON line per notification, appended and flushed.

Used for digests and for replay runs. A crash between the write and the
outbox's bookkeeping can repeat a line on restart; readers dedupe by `id`.
"""

from __future__ import annotations

import json
import os

from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult, RetryLater
from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.alerting.render import document
from driftwarden.monitor.config import FileReceiver


class FileLogReceiver:
    def __init__(self, config: FileReceiver) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self.path = config.path

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        line = json.dumps(document(notification), sort_keys=True, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            return RetryLater(reason=f"cannot append to {self.path}: {exc.strerror}")
        return Delivered()

    def close(self) -> None:
        return None
