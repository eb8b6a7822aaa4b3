"""Closes what a kafka-python client opened when its constructor fails (kafka-python 3.0).

`KafkaConsumer`, `KafkaProducer` and `KafkaAdminClient` build their network client,
start its I/O thread, then bootstrap. When the broker does not answer in
`bootstrap_timeout_ms` the constructor raises, and the caller never gets an object
to close: the I/O thread, its selector and wake-up socket pair, and any connection
that was already open stay behind. Whatever builds clients while the broker is down
(the merger restarting its session after an error, a test harness waiting for a
broker) gains a thread and three or more file descriptors per failed attempt, and
each socket becomes a `ResourceWarning` whenever the garbage collector reaches it,
inside whatever runs then.

The three classes take their network client from the `kafka_client` setting, a
documented factory. `close_half_built_clients()` wraps each constructor so that it
passes a recording factory and closes what it recorded if the constructor raises.
A constructor that succeeds is untouched: the caller owns and closes that client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

_MARK = "_driftwarden_closes_half_built_clients"
_CLASSES: tuple[Any, ...] = (KafkaConsumer, KafkaProducer, KafkaAdminClient)


def close_half_built_clients() -> None:
    """Install the wrapper on the three client classes once per process."""
    for cls in _CLASSES:
        if not getattr(cls.__init__, _MARK, False):
            cls.__init__ = _closing_on_failure(cls.__init__, cls.DEFAULT_CONFIG["kafka_client"])


def _closing_on_failure(original: Callable[..., None], default: Any) -> Callable[..., None]:
    def init(self: Any, *args: Any, **configs: Any) -> None:
        make = configs.get("kafka_client") or default
        built: list[Any] = []

        def kafka_client(**kwargs: Any) -> Any:
            client = make(**kwargs)
            built.append(client)
            return client

        try:
            original(self, *args, **{**configs, "kafka_client": kafka_client})
        except BaseException:
            for client in built:
                with contextlib.suppress(Exception):  # the constructor's error is the news
                    client.close()
            raise

    setattr(init, _MARK, True)
    init.__wrapped__ = original  # type: ignore[attr-defined]
    return init
