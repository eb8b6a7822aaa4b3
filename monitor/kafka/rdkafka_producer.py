"""The dead-letter producer over librdkafka, with the kafka-python surface the sink uses.

`monitor.dead_letter.KafkaDeadLetterSink` sends with `send(topic, value=, key=,
headers=)`, learns of a failed delivery through the returned future's
`add_errback`, waits with `flush(timeout=)` and reads `config["acks"]` and
`config["max_request_size"]`. This class gives exactly that over
confluent-kafka's `Producer`, so the sink's guarantees (a dead letter that is not
acknowledged keeps the offsets that produced it from being committed) hold for
both clients.

librdkafka reports deliveries only while the application polls: every `send`
serves the reports due (`poll(0)`), and `flush` serves all of them. A report can
come before the sink has added its errback, so a delivery future keeps its error
and hands it to an errback added later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftwarden.monitor.errors import SinkUnavailable
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.rdkafka_config import producer_config, require_confluent_kafka
from driftwarden.monitor.kafka.rdkafka_consumer import LibrdkafkaLog


class Delivery:
    """One record's delivery: failed, or not (yet)."""

    __slots__ = ("_errbacks", "_error")

    def __init__(self) -> None:
        self._error: BaseException | None = None
        self._errbacks: list[Callable[[BaseException], Any]] = []

    def add_errback(self, errback: Callable[[BaseException], Any]) -> None:
        if self._error is not None:
            errback(self._error)
        else:
            self._errbacks.append(errback)

    def report(self, error: Any, message: Any) -> None:
        """confluent-kafka's `on_delivery(err, msg)`."""
        if error is None:
            return
        self._error = SinkUnavailable(f"delivery failed: {error}")
        for errback in self._errbacks:
            errback(self._error)
        self._errbacks.clear()


class RdKafkaProducer:
    """A confluent-kafka `Producer` with the kafka-python surface the dead-letter sink uses."""

    def __init__(
        self,
        client: KafkaClientConfig,
        *,
        client_suffix: str,
        max_request_size: int | None = None,
        producer_factory: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        ck = require_confluent_kafka()
        config = producer_config(
            client, client_suffix=client_suffix, max_request_size=max_request_size
        )
        self.config: dict[str, Any] = {
            "acks": config["acks"],
            "max_request_size": config["message.max.bytes"],
        }
        config["logger"] = LibrdkafkaLog()
        self._producer: Any = (producer_factory or ck.Producer)(config)

    def send(
        self,
        topic: str,
        *,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Delivery:
        """Queue one record; raises `BufferError` when librdkafka's queue is full."""
        delivery = Delivery()
        self._producer.produce(
            topic, value=value, key=key, headers=headers or None, on_delivery=delivery.report
        )
        self._producer.poll(0)
        return delivery

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued record's report; raises if some are still pending."""
        pending = self._producer.flush(-1 if timeout is None else timeout)
        if pending:
            raise TimeoutError(f"{pending} record(s) not acknowledged within {timeout}s")

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)
