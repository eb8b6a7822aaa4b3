"""Plugins for the whole suite: one session Kafka broker for every test that asks for it."""

pytest_plugins = ("tests.support.kafka_fixtures",)
