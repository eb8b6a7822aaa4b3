"""The kafka tests' fixtures live in tests/support/kafka_fixtures.py (a plugin loaded by
tests/conftest.py, shared with tests/container/); `start_broker` stays importable here."""

from tests.support.kafka_fixtures import start_broker

__all__ = ["start_broker"]
