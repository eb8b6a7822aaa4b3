"""librdkafka configuration from the same `KafkaSettings` that configure kafka-python.

`kafka.client: librdkafka` changes the library, never the meaning of a setting:
every key of `KafkaSettings` maps to the librdkafka property with the same
effect (durations in milliseconds, the security modes under their librdkafka
names), and the role-specific choices of `KafkaClientConfig` are kept: offsets
committed by hand only after a checkpoint (auto commit and auto offset store
off), an eager assignor, acks=all with idempotence for producers.

The dicts returned hold passwords in clear, as librdkafka needs them: pass them
straight to a constructor and log `redact(config)` instead.

confluent-kafka is an optional extra; `require_confluent_kafka` turns its absence
into a configuration error that names the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Final

from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.client import REDACTED, KafkaClientConfig, millis

EXTRA: Final = "driftwarden[librdkafka]"

SECRET_PROPERTIES: Final = frozenset({"sasl.password", "ssl.key.password"})

FETCH_WAIT_MAX_MS: Final = 500
"""As kafka-python's `fetch_max_wait_ms` (`KafkaClientConfig`): a broker holds a fetch
at most this long waiting for data."""

FETCH_QUEUE_BACKOFF_MS: Final = 10
"""How long librdkafka waits before it fetches again for a partition whose local queue
was full (`queued.min.messages` or `queued.max.messages.kbytes`). Its default, 1,000
ms, starves any consumer that drains the queue slower than the broker fills it: the
queue runs dry during the pause and `consume()` waits (librdkafka issue 2879). The
daemon is such a consumer whenever it is behind; with the default it read 110k
events/s waiting in `consume()` about two thirds of the time, with 10 ms 260k
(docs/benchmarks.md). A full queue is rechecked 100 times a second, which costs
nothing measurable; an idle consumer's queue is never full, so it is unaffected."""

KAFKA_PYTHON_MAX_REQUEST_SIZE: Final = 1_048_576
"""kafka-python's default `max_request_size` (librdkafka's `message.max.bytes` is 1,000,000)."""

ASSIGNMENT_STRATEGY: Final = "range"
"""Eager, like the active/standby assignor of kafka-python: every rebalance revokes
everything before it assigns, which the consumer loop relies on. librdkafka cannot
run a custom assignor (monitor.kafka.rdkafka_consumer says what it does instead)."""


def require_confluent_kafka() -> ModuleType:
    """The confluent_kafka module, or a `ConfigError` naming the extra to install."""
    try:
        return importlib.import_module("confluent_kafka")
    except ImportError as exc:
        raise ConfigError(
            f"kafka.client librdkafka needs the confluent-kafka package, which is not "
            f"installed ({exc}); install the extra: pip install '{EXTRA}', or set "
            "kafka.client: kafka-python"
        ) from None


def _common(client: KafkaClientConfig, client_suffix: str | None) -> dict[str, Any]:
    s = client.settings
    out: dict[str, Any] = {
        "bootstrap.servers": ",".join(s.bootstrap_servers),
        "client.id": s.client_id if not client_suffix else f"{s.client_id}-{client_suffix}",
        # kafka-python's request_timeout bounds every request; librdkafka's socket timeout
        # is the same bound for the requests of a consumer or an admin client.
        "socket.timeout.ms": millis(s.request_timeout),
        "reconnect.backoff.max.ms": millis(s.reconnect_backoff_max),
        "security.protocol": s.security_protocol,
    }
    out.update(_security(client))
    return out


def _security(client: KafkaClientConfig) -> dict[str, Any]:
    s = client.settings
    out: dict[str, Any] = {}
    if s.security_protocol in {"SSL", "SASL_SSL"}:
        tls = s.tls
        check_hostname = True if tls is None else tls.check_hostname
        out["ssl.endpoint.identification.algorithm"] = "https" if check_hostname else "none"
        # Without a CA file kafka-python uses the system CA store; librdkafka's wheels
        # do the same only when told to look for it.
        out["ssl.ca.location"] = "probe"
        if tls is not None:
            for key, path in (
                ("ssl.ca.location", tls.cafile),
                ("ssl.certificate.location", tls.certfile),
                ("ssl.key.location", tls.keyfile),
            ):
                if path is not None:
                    out[key] = str(path)
        if client.ssl_password is not None:
            out["ssl.key.password"] = client.ssl_password.get_secret_value()
    if s.security_protocol.startswith("SASL") and s.sasl is not None:
        out["sasl.mechanism"] = s.sasl.mechanism
        out["sasl.username"] = s.sasl.username
        if client.sasl_password is not None:
            out["sasl.password"] = client.sasl_password.get_secret_value()
    return out


def consumer_config(
    client: KafkaClientConfig, *, client_suffix: str | None = None
) -> dict[str, Any]:
    """The group member's configuration (`KafkaClientConfig.consumer_kwargs`, group=True)."""
    s = client.settings
    out = _common(client, client_suffix)
    out.update(
        {
            "group.id": s.group_id,
            "enable.auto.commit": False,
            # Offsets are committed explicitly, from the checkpoint's offsets, never
            # from what librdkafka saw handed out.
            "enable.auto.offset.store": False,
            "auto.offset.reset": s.auto_offset_reset,
            "isolation.level": s.isolation_level,
            "partition.assignment.strategy": ASSIGNMENT_STRATEGY,
            "session.timeout.ms": millis(s.session_timeout),
            "heartbeat.interval.ms": millis(s.heartbeat_interval),
            "max.poll.interval.ms": millis(s.max_poll_interval),
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
            "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
        }
    )
    if s.group_instance_id is not None:
        out["group.instance.id"] = s.group_instance_id
    return out


def producer_config(
    client: KafkaClientConfig,
    *,
    client_suffix: str,
    max_request_size: int | None = None,
    linger: float = 0.0,
) -> dict[str, Any]:
    """A producer's configuration (`KafkaClientConfig.producer_kwargs`): acks=all and
    idempotence, always, for the same reason."""
    s = client.settings
    out = _common(client, client_suffix)
    del out["socket.timeout.ms"]
    out.update(
        {
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": millis(linger),
            # kafka-python's request_timeout, the producer's per-request bound.
            "request.timeout.ms": millis(s.request_timeout),
        }
    )
    # kafka-python's max_request_size, default included: the dead-letter sink truncates
    # a payload to fit it, so both clients must refuse and fit the same sizes.
    out["message.max.bytes"] = (
        max_request_size if max_request_size is not None else KAFKA_PYTHON_MAX_REQUEST_SIZE
    )
    return out


def admin_config(client: KafkaClientConfig, *, client_suffix: str = "admin") -> dict[str, Any]:
    """An admin client's configuration (the group check before joining)."""
    return _common(client, client_suffix)


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a librdkafka configuration that is safe to log."""
    return {
        k: (REDACTED if k in SECRET_PROPERTIES and v is not None else v) for k, v in config.items()
    }
