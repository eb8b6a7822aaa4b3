"""The Kafka client library chosen by `kafka.client`, for the clients whose speed matters.

The group consumer reads every event and the dead-letter producer writes every
rejected one: those two come from the chosen library. The checkpoint topic, the
alert-state store and the start-up admin checks write a few records per
interval and keep their kafka-python clients whatever the choice (one tested
path; kafka-python is always installed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driftwarden.monitor.kafka.client import KafkaClientConfig


def check_client(client: KafkaClientConfig) -> None:
    """Fail the start, naming the extra to install, when the chosen library is missing."""
    if client.settings.client == "librdkafka":
        from driftwarden.monitor.kafka.rdkafka_config import require_confluent_kafka  # noqa: PLC0415

        require_confluent_kafka()


def consumer_factory(client: KafkaClientConfig) -> Callable[..., Any]:
    """What `ConsumerLoop` calls with kafka-python's consumer kwargs to get its consumer."""
    if client.settings.client == "librdkafka":
        from driftwarden.monitor.kafka.rdkafka_consumer import RdKafkaConsumer  # noqa: PLC0415

        def librdkafka_consumer(**_kafka_python_kwargs: Any) -> Any:
            # The same settings, mapped to librdkafka's names (rdkafka_config).
            return RdKafkaConsumer(client)

        return librdkafka_consumer
    from kafka import KafkaConsumer  # noqa: PLC0415

    return KafkaConsumer  # type: ignore[no-any-return]


def dead_letter_producer(client: KafkaClientConfig) -> Any:
    """The dead-letter topic's producer (acks=all, idempotent) in the chosen library."""
    if client.settings.client == "librdkafka":
        from driftwarden.monitor.kafka.rdkafka_producer import RdKafkaProducer  # noqa: PLC0415

        return RdKafkaProducer(client, client_suffix="dead-letter")
    from kafka import KafkaProducer  # noqa: PLC0415

    return KafkaProducer(**client.producer_kwargs(client_suffix="dead-letter"))
