"""KafkaAlertStore against the real broker: alert state as records of the checkpoint topic."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import structlog

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.alerting.kafka_store import KafkaAlertStore
from driftwarden.monitor.alerting.silences import SilenceStore
from driftwarden.monitor.alerting.state import load_state
from driftwarden.monitor.alerting.store import SILENCES_KEY, STATE_KEY, outbox_key
from driftwarden.monitor.cli import main
from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.kafka.checkpoint import Checkpoint, KafkaTopicCheckpointStore
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import FakeClock, FakeReceiver, alerting_settings
from tests.monitor.alerting.alert_verdicts import episode
from tests.support.kafka_broker import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


@pytest.fixture
def checkpoint_topic() -> str:
    return f"ckpt-{uuid.uuid4().hex[:12]}"


def _client(broker: KafkaBroker) -> KafkaClientConfig:
    return KafkaClientConfig.from_settings(
        KafkaSettings(
            bootstrap_servers=[broker.bootstrap], request_timeout=10.0, bootstrap_timeout=10.0
        )
    )


def _settings(topic: str) -> CheckpointSettings:
    return CheckpointSettings.model_validate({"backend": "kafka", "topic": topic, "timeout": 15.0})


def _store(broker: KafkaBroker, topic: str, group: str = "g1") -> KafkaAlertStore:
    return KafkaAlertStore(_client(broker), _settings(topic), group_id=group)


def test_writes_load_back_latest_per_key_and_tombstones_delete(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    try:
        store.write({STATE_KEY: b"v1", outbox_key(1): b"o1", outbox_key(2): b"o2"})
        store.write({STATE_KEY: b"v2", outbox_key(1): None})
    finally:
        store.close()
    again = _store(kafka_broker, checkpoint_topic)
    try:
        assert again.load() == {STATE_KEY: b"v2", outbox_key(2): b"o2"}
    finally:
        again.close()


def test_checkpoints_and_alert_state_share_the_topic_without_seeing_each_other(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    checkpoints = KafkaTopicCheckpointStore(_client(kafka_broker), _settings(checkpoint_topic))
    alerts = _store(kafka_broker, checkpoint_topic, group="g1")
    other_group = _store(kafka_broker, checkpoint_topic, group="g2")
    # A checkpoint of a group whose name starts like our namespace is still a checkpoint.
    tricky = Checkpoint("alerting/g1", {("t", 0): 5}, b"state", "fp", created_at=1.0)
    try:
        checkpoints.save(Checkpoint("g1", {("t", 0): 10}, b"engine", "fp", created_at=1.0))
        checkpoints.save(tricky)
        alerts.write({STATE_KEY: b'{"version":1}', SILENCES_KEY: b'{"silences":[]}'})
        other_group.write({STATE_KEY: b"theirs"})
        with structlog.testing.capture_logs() as logs:
            loaded = checkpoints.load("g1")
            loaded_tricky = checkpoints.load("alerting/g1")
        assert [cp.state for cp in loaded] == [b"engine"]
        assert [cp.state for cp in loaded_tricky] == [b"state"]
        assert not [e for e in logs if e["event"] == "checkpoint_skipped"]
        assert alerts.load() == {STATE_KEY: b'{"version":1}', SILENCES_KEY: b'{"silences":[]}'}
        assert other_group.load() == {STATE_KEY: b"theirs"}
    finally:
        checkpoints.close()
        alerts.close()
        other_group.close()


def test_poll_sees_silences_the_cli_writes_after_load(
    kafka_broker: KafkaBroker, checkpoint_topic: str, tmp_path: Path
) -> None:
    daemon_side = _store(kafka_broker, checkpoint_topic, group="g1")
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "kafka": {"bootstrap_servers": [kafka_broker.bootstrap], "group_id": "g1"},
                "checkpoint": {"backend": "kafka", "topic": checkpoint_topic, "timeout": "15s"},
            }
        )
    )
    try:
        assert daemon_side.load() == {}
        assert daemon_side.poll() == {}
        code = main(
            [
                *("silence", "--config", str(config), "add", "-m", 'model="fraud"'),
                *("--start", "2026-01-01T00:00:00Z", "--until", "2099-01-01T00:00:00Z"),
                *("-c", "known issue", "--author", "ana"),
            ]
        )
        assert code == 0
        changes: dict[str, Any] = {}
        deadline = time.monotonic() + 20
        while SILENCES_KEY not in changes and time.monotonic() < deadline:
            changes.update(daemon_side.poll())
            time.sleep(0.1)
        silences = json.loads(changes[SILENCES_KEY])["silences"]
        assert [s["matchers"] for s in silences] == [['model="fraud"']]
    finally:
        daemon_side.close()
    reader = _store(kafka_broker, checkpoint_topic, group="g1")
    try:
        listed = SilenceStore(reader).all()
    finally:
        reader.close()
    assert [s.comment for s in listed] == ["known issue"]


def test_a_corrupt_record_is_skipped_tombstoned_and_reported(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    calls: list[tuple[str, str | None]] = []
    try:
        store.write({STATE_KEY: b'{"version": 1, "lifecy', outbox_key(3): b"\xff\xfe"})
        with structlog.testing.capture_logs() as logs:
            loaded = load_state(store, on_fault=lambda c, e: calls.append((c, e)))
        assert loaded.outbox == []
        assert loaded.pipeline.lifecycle.incidents == {}
        assert sorted(e["key"] for e in logs if e["event"] == "alert_state_corrupt") == [
            outbox_key(3),
            STATE_KEY,
        ]
        assert len(calls) == 2
    finally:
        store.close()
    again = _store(kafka_broker, checkpoint_topic)
    try:
        assert again.load() == {}  # tombstoned: the next start does not trip over it
    finally:
        again.close()


def test_a_pipeline_on_the_topic_restarts_without_repaging_and_resolves_once(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    clock = FakeClock()
    verdicts = episode([Tier.WARNING, Tier.CRITICAL, Tier.CRITICAL, Tier.CRITICAL, Tier.NONE])

    def build() -> tuple[AlertPipeline, FakeReceiver]:
        pager = FakeReceiver("pager")
        pipeline = AlertPipeline(
            alerting_settings(),
            environment="prod",
            monitor="g1",
            clock=clock,
            store=_store(kafka_broker, checkpoint_topic),
            rng=random.Random(1),
            receivers={
                "log": FakeReceiver("log"),
                "chat": FakeReceiver("chat"),
                "pager": pager,
            },
        )
        return pipeline, pager

    first, pager1 = build()
    for v in verdicts[:3]:
        first.observe(v)
        first.dispatch()
    first.close()
    second, pager2 = build()
    try:
        for v in verdicts[2:]:
            second.observe(v)
            second.dispatch()
    finally:
        second.close()
    assert [a.status for n in pager1.sent for a in n.alerts] == ["firing"]
    assert [a.status for n in pager2.sent for a in n.alerts] == ["resolved"]


def test_a_running_pipeline_picks_up_a_cli_silence_from_the_topic(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    clock = FakeClock()
    pager = FakeReceiver("pager")
    pipeline = AlertPipeline(
        alerting_settings(),
        environment="prod",
        monitor="g1",
        clock=clock,
        store=_store(kafka_broker, checkpoint_topic),
        rng=random.Random(1),
        receivers={
            "log": FakeReceiver("log"),
            "chat": FakeReceiver("chat"),
            "pager": pager,
        },
    )
    try:
        cli_store = _store(kafka_broker, checkpoint_topic)
        try:
            SilenceStore(cli_store).add(
                matchers=['model="fraud"'],
                starts_at=0.0,
                ends_at=4e9,
                created_by="ana",
                comment="retraining",
                now=0.0,
            )
        finally:
            cli_store.close()
        with structlog.testing.capture_logs() as logs:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not [
                e for e in logs if e["event"] == "silences_reloaded"
            ]:
                clock.sleep(5.0)  # past the poll interval, on the pipeline's clock
                pipeline.dispatch()
                time.sleep(0.1)
        assert [e["silences"] for e in logs if e["event"] == "silences_reloaded"] == [1]
        for v in [
            *episode([Tier.CRITICAL, Tier.CRITICAL], model="fraud"),
            *episode([Tier.CRITICAL, Tier.CRITICAL], model="credit-risk"),
        ]:
            pipeline.observe(v)
            pipeline.dispatch()
    finally:
        pipeline.close()
    assert [a.model_id for n in pager.sent for a in n.alerts] == ["credit-risk"]
