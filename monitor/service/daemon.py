"""`driftwarden run`: the daemon's parts wired together and run in one order.

One place starts the parts (metrics/health server, dead-letter sink, alert
pipeline, consumer loop), one stop signal (a `threading.Event` set by SIGTERM
or SIGINT), and one shutdown order, owned by the loop: stop fetching, close the
windows that are due, checkpoint, commit, leave the group; then the daemon
flushes the dead-letter sink and drains the alert outbox within the grace
period and exits 0.

The engine meets the consumer loop in `monitor.service.processor`
(`EngineProcessor`); closed windows go to the observers of
`monitor.service.observers`; the alert outbox is delivered by
`monitor.service.alert_dispatch`.

In a group of several members one is active and owns every partition, the
others are hot standbys (`monitor.kafka.active_standby`); the daemon suspends its
alert pipeline while it stands by and resumes it when it becomes active, so
only the active member pages.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import structlog
from kafka import KafkaAdminClient

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.alerting import AlertPipeline, open_alert_store
from driftwarden.monitor.config import Settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.ingest.dead_letter import (
    DeadLetterSink,
    JsonlDeadLetterSink,
    KafkaDeadLetterSink,
)
from driftwarden.monitor.ingest.decode_pool import DecodePool, decode_workers
from driftwarden.monitor.ingest.rejection import RejectReason
from driftwarden.monitor.kafka.backend import check_client, consumer_factory, dead_letter_producer
from driftwarden.monitor.kafka.checkpoint import open_store
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.consumer import ConsumerLoop
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.service.alert_dispatch import AlertDispatcher, AlertMetricsAdapter
from driftwarden.monitor.service.observers import (
    AlertObserver,
    LogObserver,
    MetricsObserver,
    VerdictLogObserver,
    VerdictObserver,
)
from driftwarden.monitor.service.partitioned import PartitionedGroup, spreading_assignor
from driftwarden.monitor.service.processor import EngineProcessor
from driftwarden.monitor.telemetry.health import HealthServer, HealthState, StorageFaults
from driftwarden.monitor.telemetry.metrics import Metrics
from driftwarden.monitor.verdicts.charts import shares
from driftwarden.monitor.version import package_version
from driftwarden.monitor.windows.windowing import WindowCounts

log = structlog.get_logger(__name__)

OUTBOX_SATURATED = 1000
"""Pending notifications above which the loop pauses fetching until delivery catches up."""


class RoleAware(Protocol):
    """What must go quiet while this member does not own the partitions: alerting."""

    def suspend(self) -> None: ...
    def resume(self) -> None: ...
    def drain(self, deadline: float) -> None: ...


def config_fingerprint(baselines: Sequence[Baseline], settings: Settings) -> str:
    """What a checkpoint's engine state depends on: baselines and window policies.

    A checkpoint written under another fingerprint is not restored: its windows
    were cut or binned differently.
    """
    digest = hashlib.sha256()
    for baseline in sorted(baselines, key=lambda b: b.model_id):
        digest.update(f"{baseline.ref};".encode())
        digest.update(settings.policy_for(baseline.model_id).window.model_dump_json().encode())
    digest.update(settings.events.model_dump_json().encode())
    return digest.hexdigest()[:16]


def check_topic_exists(
    client: KafkaClientConfig, topic: str, admin_factory: Callable[..., Any] = KafkaAdminClient
) -> None:
    """A dead-letter topic that does not exist would make every rejected event wait for
    metadata that never comes (the producer's max_block_ms) while /readyz says ready:
    refuse to start instead, naming the fix."""
    admin = admin_factory(**client.admin_kwargs(client_suffix="dead-letter-admin"))
    try:
        topics = admin.list_topics()
    finally:
        admin.close()
    if topic not in topics:
        raise ConfigError(
            f"dead_letter.topic {topic!r} does not exist on the brokers; create it "
            f"(kafka-topics.sh --create --topic {topic}) or set dead_letter.topic to an "
            "existing topic"
        )


def build_dead_letter(settings: Settings, client: KafkaClientConfig) -> DeadLetterSink | None:
    if settings.dead_letter.topic:
        check_topic_exists(client, settings.dead_letter.topic)
        producer = dead_letter_producer(client)  # kafka.client's library
        return KafkaDeadLetterSink(producer, settings.dead_letter.topic)
    if settings.dead_letter.path is not None:
        return JsonlDeadLetterSink(Path(settings.dead_letter.path))
    return None


def _engine(
    settings: Settings, baselines: Sequence[Baseline], dead_letter: DeadLetterSink | None
) -> tuple[PendingStore | None, Engine]:
    """The engine, and the outcome join's store when outcomes are configured (the daemon
    owns and closes it)."""
    store = PendingStore(settings.outcomes.directory) if settings.outcomes is not None else None
    return store, Engine(baselines, settings, reject_sink=dead_letter, outcome_store=store)


def _primed_metrics(settings: Settings, baselines: Sequence[Baseline]) -> Metrics:
    """Every labelled series exists from the start, so dashboards and alerts see zeros."""
    metrics = Metrics(package_version())
    metrics.prime(
        topics=settings.kafka.topics,
        models=[b.model_id for b in baselines],
        reasons=[r.value for r in RejectReason],
        receivers=[r.name for r in settings.alerting.receivers],
    )
    return metrics


def _publish_baseline_shares(metrics: Metrics, engine: Engine) -> None:
    """The baseline side of the dashboard's window-histogram panel."""
    for layout in engine.layouts.values():
        for slot in layout.columns:
            metrics.set_bin_shares(layout.model_id, slot.name, "baseline", shares(slot.reference))


class Daemon:
    """All parts of a running member, started and stopped in one order."""

    def __init__(
        self,
        settings: Settings,
        baselines: Sequence[Baseline],
        *,
        observers: Sequence[VerdictObserver] = (),
        saturated: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self.metrics = _primed_metrics(settings, baselines)
        self.health = HealthState(liveness_timeout=settings.metrics.liveness_timeout)
        self.storage_faults = StorageFaults(self.health, self.metrics)
        self.client = KafkaClientConfig.from_settings(settings.kafka)
        check_client(self.client)
        self.dead_letter = build_dead_letter(settings, self.client)
        self.outcome_store, self.engine = _engine(settings, baselines, self.dead_letter)
        _publish_baseline_shares(self.metrics, self.engine)
        self.health.set_baselines_loaded(True)
        self.alert_state_faults: dict[str, str | None] = {}
        self.alerts = AlertPipeline.from_settings(
            settings,
            clock=time.time,
            metrics=AlertMetricsAdapter(self.metrics),
            store=open_alert_store(settings),
            on_store_fault=self.alert_state_fault,
            start_suspended=True,  # resumed when this member owns the partitions (on_alerting)
        )
        self.dispatcher = AlertDispatcher(self.alerts)
        self.verdict_log = (
            VerdictLogObserver(settings.verdict_log) if settings.verdict_log else None
        )
        builtin = self._builtin_observers()
        self.partitioned = self._partitioned_group([*builtin, *observers])
        self.processor = EngineProcessor(
            self.engine,
            partials=self.partitioned.outlet if self.partitioned is not None else None,
            observers=[*builtin, *observers],
            metrics=self.metrics,
            dead_letter=self.dead_letter,
            saturated=lambda: saturated() or len(self.alerts.pending()) > OUTBOX_SATURATED,
        )
        self.store = open_store(
            settings.checkpoint, self.client, on_fault=self.storage_faults.on_store_fault
        )
        self._stopping = threading.Event()  # run()'s stop, once it runs
        self.loop = ConsumerLoop(
            client=self.client,
            checkpoint=settings.checkpoint,
            processor=self.processor,
            store=self.store,
            fingerprint=config_fingerprint(baselines, settings),
            metrics=self.metrics,
            health=self.health,
            on_alerting=self.on_alerting if self.partitioned is None else None,
            assignor=spreading_assignor() if self.partitioned is not None else None,
            consumer_factory=consumer_factory(self.client),
        )

    def _partitioned_group(self, observers: list[VerdictObserver]) -> PartitionedGroup | None:
        """In `group.mode: partitioned` (issue 17) the merger judges; readers publish partials."""
        settings = self.settings
        if settings.group.mode != "partitioned":
            return None
        return PartitionedGroup(
            engine=self.engine,
            settings=settings.group,
            client=self.client,
            observers=observers,
            on_ownership=self.on_alerting,
            on_merger_restarted=self.metrics.record_merger_restart,
            member=settings.kafka.group_instance_id or f"{socket.gethostname()}:{os.getpid()}",
        )

    def _builtin_observers(self) -> list[VerdictObserver]:
        """Metrics, logs, alerting and the verdict log, in the order they see a verdict."""
        builtin: list[VerdictObserver] = [
            MetricsObserver(self.metrics),
            LogObserver(),
            AlertObserver(self.alerts, notified=self.dispatcher.wake),
        ]
        if self.verdict_log is not None:
            builtin.append(self.verdict_log)
        return builtin

    def alert_state_fault(self, component: str, error: str | None) -> None:
        """The alert pipeline's fault hook (`monitor.alerting.store.FaultHook`).

        `alert_state`: a write failed (`error`) or every kept write caught up (None);
        `alert_state_corrupt`: a piece was set aside (an event, never cleared). The
        pipeline already logged it and retries; /readyz and the storage-fault metric
        learn of it here."""
        self.alert_state_faults[component] = error
        if component.endswith("_corrupt"):
            self.metrics.record_storage_corrupt(component.removesuffix("_corrupt"))
        else:
            self.storage_faults.on_store_fault(component, error)

    def on_alerting(self, owns: bool) -> None:
        """Only the member that owns the partitions pages (docs/scaling.md).

        Given up at every revoke, before any other member can be assigned. On the
        way out (SIGTERM) the outbox is delivered first, while this member is still
        in the group and no standby can have taken alerting over."""
        alerts: RoleAware = self.alerts
        if owns:
            alerts.resume()
            return
        if self._stopping.is_set():
            grace = self.settings.shutdown.grace_period
            alerts.drain(deadline=time.time() + max(0.5, grace * 0.25))
        alerts.suspend()

    def run(self, stop: threading.Event) -> None:
        self._stopping = stop
        grace = self.settings.shutdown.grace_period
        pool = self._start_decode_pool()
        server = HealthServer(self.settings.metrics, self.metrics, self.health)
        if self.settings.metrics.enabled:
            server.start()
            log.info("metrics_listening", host=self.settings.metrics.host, port=server.port)
        self.dispatcher.start()
        if self.partitioned is not None:
            self.partitioned.start()
        try:
            # Leave part of the grace period for the sinks and the alert outbox.
            self.loop.run(stop, grace_period=max(1.0, grace * 0.7))
        finally:
            if pool is not None:
                self.processor.use_pool(None)  # counts what is in flight first
                pool.close()
            if self.partitioned is not None:
                self.partitioned.stop(timeout=max(1.0, grace * 0.2))
            deadline = time.monotonic() + max(0.5, grace * 0.25)
            self.dispatcher.stop_and_drain(deadline)
            self._close_sinks()
            if self.settings.metrics.enabled:
                server.stop()
        outcomes = self.engine.outcomes
        log.info(
            "daemon_stopped",
            counts=self.engine.counts.to_dict(),
            outcomes=outcomes.counts.to_dict() if outcomes is not None else None,
        )

    def _start_decode_pool(self) -> DecodePool[WindowCounts] | None:
        """Decode workers, started before the metrics server and the alert thread: with no
        other thread running yet, the workers fork in milliseconds."""
        workers = decode_workers(self.settings.decode_workers)
        if not workers:
            return None
        try:
            pool = start_decode_pool(self.engine, workers)
        except OSError as exc:  # out of processes or memory: decode here instead
            log.error("decode_worker_failed", error=str(exc), fallback="decoding in-process")
            return None
        self.processor.use_pool(pool)
        log.info("decode_workers_started", workers=workers, start=pool.start_method)
        return pool

    def _close_sinks(self) -> None:
        if self.dead_letter is not None:
            self.dead_letter.close()
        if self.verdict_log is not None:
            self.verdict_log.close()
        self.store.close()
        if self.outcome_store is not None:
            self.outcome_store.close()  # the epoch after the last checkpoint is dropped

    def describe(self) -> Mapping[str, Any]:
        return {"models": sorted(self.engine.layouts), "topics": self.settings.kafka.topics}
