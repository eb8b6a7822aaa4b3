"""The receiver protocol and the helpers every receiver shares."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import SecretStr

from driftwarden.monitor.alerting.delivery import DeliveryResult
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.errors import ConfigError


class Receiver(Protocol):
    name: str
    send_resolved: bool

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        """Deliver once. Must not raise for a delivery problem: return the outcome."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class RefreshedReceiver(Receiver, Protocol):
    """A receiver that forgets a firing alert unless it is posted again (Alertmanager).

    The dispatcher re-posts the delivered firing alerts every `resend_interval` seconds.
    A protocol, not the Alertmanager class, so the dispatcher does not import an HTTP
    receiver (and httpx) where no receiver sends: replay's start-up.
    """

    resend_interval: float

    def refresh(self, alerts: Sequence[Alert], *, now: float) -> DeliveryResult: ...


def read_secret(value: SecretStr | None, path: Path | None, *, where: str) -> str:
    """The secret from config or from a mounted file (Kubernetes Secret), stripped of whitespace."""
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{where}_file {path}: cannot read it ({exc.strerror}); mount the secret there "
                f"or set {where} instead"
            ) from None
    raise ConfigError(f"{where} is not set; set it (or {where}_file) for this receiver")
