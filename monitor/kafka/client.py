"""kafka-python client settings, built once from `KafkaSettings` with secrets resolved.

Every Kafka client the daemon makes (the group consumer, the checkpoint and
dead-letter producers, the admin client, the checkpoint reader) shares the
connection and security part of its configuration; only a few role-specific keys
differ. Building them in one place keeps the three security modes (TLS, SASL
PLAIN, SASL SCRAM) consistent and gives one place that touches passwords.

Secrets: passwords come from `SecretStr` settings or from files (a mounted
Kubernetes Secret) that are read once, when `KafkaClientConfig.from_settings` runs
at start-up, so a missing file fails the start rather than the first reconnect.
kafka-python needs them as plain strings, so the kwargs dicts returned here hold
them in clear: pass them straight to a constructor and never log them; log
`describe()` instead. `repr()` of a `KafkaClientConfig` shows no secret.

Durations in our settings are seconds; kafka-python wants milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.active_standby import ActiveStandbyAssignor
from driftwarden.monitor.kafka.library_leaks import close_library_leaks

REDACTED: Final = "**********"
SECRET_KEYS: Final = frozenset({"sasl_plain_password", "ssl_password"})

# kafka-python's consumer default; its request timeout must exceed it.
_FETCH_MAX_WAIT_MS: Final = 500


def millis(seconds: float) -> int:
    """Seconds (our settings) to whole milliseconds (kafka-python), at least 1 for any positive."""
    if seconds <= 0:
        return 0
    return max(1, round(seconds * 1000))


def read_secret_file(path: Path, *, what: str) -> SecretStr:
    """The secret stored in `path`, without the trailing newline editors and `echo` add.

    Only line endings are stripped: leading or inner whitespace may be part of a
    password. The error names the file, never its content.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{what}: cannot read {path}: {exc.strerror}; mount the secret there "
            "or set the password directly"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8 text; store the password as text") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"{what}: {path} is empty; put the password in it")
    return SecretStr(secret)


def _secret(value: SecretStr | None, path: Path | None, *, what: str) -> SecretStr | None:
    if value is not None:
        return value
    if path is not None:
        return read_secret_file(path, what=what)
    return None


class KafkaClientConfig:
    """Resolved client configuration; hands out fresh kwargs for each kafka-python client.

    Construct with `from_settings` (reads password files). The object is
    immutable in use: each `*_kwargs()` call returns a new dict.
    """

    __slots__ = ("_sasl_password", "_security", "_settings", "_ssl_password")

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        sasl_password: SecretStr | None,
        ssl_password: SecretStr | None,
    ) -> None:
        self._settings = settings
        self._sasl_password = sasl_password
        self._ssl_password = ssl_password
        self._security = self._security_kwargs()

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> KafkaClientConfig:
        """Validate timeouts and read password files; raises `ConfigError` naming the fix.

        Every kafka-python client is built from this config, so this is where the
        library's leaks are closed: a refused connect's socket (`failed_connects`), and
        what a constructor that could not bootstrap opened (`half_built_clients`)."""
        _check_timeouts(settings)
        close_library_leaks()
        sasl_password = None
        if settings.security_protocol.startswith("SASL"):
            sasl = settings.sasl
            if sasl is None:  # KafkaSettings already refuses this; keep mypy and readers sure
                raise ConfigError(
                    f"kafka.security_protocol {settings.security_protocol} needs kafka.sasl"
                )
            sasl_password = _secret(
                sasl.password, sasl.password_file, what="kafka.sasl.password_file"
            )
        ssl_password = None
        if settings.security_protocol in {"SSL", "SASL_SSL"} and settings.tls is not None:
            ssl_password = _secret(
                settings.tls.password, settings.tls.password_file, what="kafka.tls.password_file"
            )
        return cls(settings, sasl_password=sasl_password, ssl_password=ssl_password)

    @property
    def settings(self) -> KafkaSettings:
        return self._settings

    @property
    def sasl_password(self) -> SecretStr | None:
        """The resolved SASL password (for the librdkafka configuration)."""
        return self._sasl_password

    @property
    def ssl_password(self) -> SecretStr | None:
        """The resolved TLS key password (for the librdkafka configuration)."""
        return self._ssl_password

    def _security_kwargs(self) -> dict[str, Any]:
        s = self._settings
        out: dict[str, Any] = {"security_protocol": s.security_protocol}
        if s.security_protocol in {"SSL", "SASL_SSL"}:
            tls = s.tls
            # Without tls settings kafka-python verifies against the system CA store.
            out["ssl_check_hostname"] = True if tls is None else tls.check_hostname
            if tls is not None:
                for key, path in (
                    ("ssl_cafile", tls.cafile),
                    ("ssl_certfile", tls.certfile),
                    ("ssl_keyfile", tls.keyfile),
                ):
                    if path is not None:
                        out[key] = str(path)
            if self._ssl_password is not None:
                out["ssl_password"] = self._ssl_password.get_secret_value()
        if s.security_protocol.startswith("SASL") and s.sasl is not None:
            out["sasl_mechanism"] = s.sasl.mechanism
            out["sasl_plain_username"] = s.sasl.username
            if self._sasl_password is not None:
                out["sasl_plain_password"] = self._sasl_password.get_secret_value()
        return out

    def _common(self, client_id: str) -> dict[str, Any]:
        s = self._settings
        return {
            "bootstrap_servers": list(s.bootstrap_servers),
            "client_id": client_id,
            "request_timeout_ms": millis(s.request_timeout),
            "reconnect_backoff_max_ms": millis(s.reconnect_backoff_max),
            "bootstrap_timeout_ms": millis(s.bootstrap_timeout),
            **self._security,
        }

    def consumer_kwargs(
        self,
        *,
        group: bool = True,
        client_suffix: str | None = None,
        assignor: Any = None,
    ) -> dict[str, Any]:
        """kwargs for `KafkaConsumer`: the group member by default.

        `group=False` gives a group-less reader (assign() only, no commits), for
        reading a topic such as the checkpoint topic from its start.
        Offsets are always committed by hand, after the checkpoint is safe.
        `assignor` is the member's `ActiveStandbyAssignor` (the consumer loop keeps
        it to learn its role), or in `group.mode: partitioned` a spreading eager
        assignor; a fresh `ActiveStandbyAssignor` when not given.
        """
        s = self._settings
        kwargs = self._common(_client_id(s.client_id, client_suffix))
        kwargs.update(
            enable_auto_commit=False,
            auto_offset_reset=s.auto_offset_reset,
            isolation_level=s.isolation_level,
            max_poll_records=s.max_poll_records,
            fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
        )
        if group:
            kwargs.update(
                group_id=s.group_id,
                # The only assignor, named so a library default cannot change under us:
                # one active member owns every partition (monitor.kafka.active_standby), and
                # it is eager, which the consumer loop relies on ("revoke everything,
                # then assign the full new set").
                partition_assignment_strategy=[
                    assignor if assignor is not None else ActiveStandbyAssignor()
                ],
                max_poll_interval_ms=millis(s.max_poll_interval),
                session_timeout_ms=millis(s.session_timeout),
                heartbeat_interval_ms=millis(s.heartbeat_interval),
            )
            if s.group_instance_id is not None:
                kwargs["group_instance_id"] = s.group_instance_id
        else:
            kwargs["group_id"] = None
        return kwargs

    def producer_kwargs(
        self,
        *,
        client_suffix: str,
        max_request_size: int | None = None,
        linger: float = 0.0,
    ) -> dict[str, Any]:
        """kwargs for `KafkaProducer`: acks=all and idempotence, always.

        Both are named explicitly: kafka-python silently drops idempotence when
        acks is lowered without naming it, and every producer of ours writes data
        (checkpoints, dead letters) that must not be lost or duplicated.
        """
        s = self._settings
        kwargs = self._common(_client_id(s.client_id, client_suffix))
        kwargs.update(acks="all", enable_idempotence=True, linger_ms=millis(linger))
        if max_request_size is not None:
            kwargs["max_request_size"] = max_request_size
        return kwargs

    def admin_kwargs(self, *, client_suffix: str = "admin") -> dict[str, Any]:
        """kwargs for `KafkaAdminClient`."""
        return self._common(_client_id(self._settings.client_id, client_suffix))

    def describe(self) -> dict[str, Any]:
        """The shared settings with secrets replaced, for a start-up log line."""
        return {"client": self._settings.client, **redact(self._common(self._settings.client_id))}

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"KafkaClientConfig(bootstrap_servers={s.bootstrap_servers!r}, "
            f"security_protocol={s.security_protocol!r}, group_id={s.group_id!r}, "
            f"sasl_password={'set' if self._sasl_password else 'unset'}, "
            f"ssl_password={'set' if self._ssl_password else 'unset'})"
        )


def redact(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of client kwargs that is safe to log."""
    return {k: (REDACTED if k in SECRET_KEYS and v is not None else v) for k, v in kwargs.items()}


def _client_id(base: str, suffix: str | None) -> str:
    return base if not suffix else f"{base}-{suffix}"


def _check_timeouts(s: KafkaSettings) -> None:
    """Reject combinations kafka-python or the broker would refuse later, less clearly."""
    if millis(s.request_timeout) <= _FETCH_MAX_WAIT_MS:
        raise ConfigError(
            f"kafka.request_timeout {s.request_timeout}s must exceed the 0.5s fetch wait; "
            "use at least 1s (default 30s)"
        )
    if s.heartbeat_interval >= s.session_timeout:
        raise ConfigError(
            f"kafka.heartbeat_interval ({s.heartbeat_interval}s) must be below "
            f"kafka.session_timeout ({s.session_timeout}s); a third of it is usual"
        )
    for name in ("session_timeout", "heartbeat_interval", "max_poll_interval", "bootstrap_timeout"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"kafka.{name} must be positive, e.g. 10s")
