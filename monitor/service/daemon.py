"""`driftwarden run`: the engine driven by the Kafka consumer loop.

One place starts the parts (metrics/health server, dead-letter sink, alert
pipeline, consumer loop), one stop signal (a `threading.Event` set by SIGTERM
or SIGINT), and one shutdown order, owned by the loop: stop fetching, close the
windows that are due, checkpoint, commit, leave the group; then the daemon
flushes the dead-letter sink and drains the alert outbox within the grace
period and exits 0.

`EngineProcessor` adapts the engine to the loop's `BatchProcessor` protocol.
Each Kafka partition is one engine stream, named `topic:partition`, so a
partition's open windows and watermark move with it on a rebalance, and a
window closes only when every active partition has passed it.

In a group of several members one is active and owns every partition, the
others are hot standbys (`monitor.kafka.active_standby`); the daemon suspends its
alert pipeline while it stands by and resumes it when it becomes active, so
only the active member pages.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import structlog
from kafka import KafkaAdminClient

from driftwarden.baselines.artifact import Baseline
from driftwarden.monitor.alerting import AlertPipeline, open_alert_store
from driftwarden.monitor.alerting.metrics import Outcome
from driftwarden.monitor.config import Settings
from driftwarden.monitor.engine import Engine, SourceLocator
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.ingest.dead_letter import (
    DeadLetterSink,
    JsonlDeadLetterSink,
    KafkaDeadLetterSink,
)
from driftwarden.monitor.ingest.decode_pool import DecodePool, decode_workers
from driftwarden.monitor.ingest.event_survey import EventSurvey
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.rejection import RejectReason
from driftwarden.monitor.kafka.backend import check_client, consumer_factory, dead_letter_producer
from driftwarden.monitor.kafka.checkpoint import Partition, open_store
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.consumer import ConsumerLoop, SourceRecord
from driftwarden.monitor.kafka.polled import PolledRecords, WholeRun
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.pipeline import Pipeline, SourceBatch, start_decode_pool
from driftwarden.monitor.service.partitioned import (
    PartialsOutlet,
    PartitionedGroup,
    spreading_assignor,
)
from driftwarden.monitor.service.performance_observer import (
    performance_fields,
    record_performance,
    republish_performance,
)
from driftwarden.monitor.telemetry.health import HealthServer, HealthState, StorageFaults
from driftwarden.monitor.telemetry.metrics import Metrics
from driftwarden.monitor.verdicts.charts import shares
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.version import package_version
from driftwarden.monitor.windows.windowing import WindowCounts

log = structlog.get_logger(__name__)

OUTBOX_SATURATED = 1000
"""Pending notifications above which the loop pauses fetching until delivery catches up."""

EXPORTED_STATISTICS = (
    "psi", "ks", "js", "wasserstein", "linf", "chi_square", "total_variation",
    "missing_rate", "type_error_rate", "out_of_range_rate", "new_category_rate",
)  # fmt: skip


_PARTITION_KEY = attrgetter("topic", "partition")
_VALUE = attrgetter("value")
_TIMESTAMP = attrgetter("timestamp")


class RoleAware(Protocol):
    """What must go quiet while this member does not own the partitions: alerting."""

    def suspend(self) -> None: ...
    def resume(self) -> None: ...
    def drain(self, deadline: float) -> None: ...


class VerdictObserver(Protocol):
    """Something that acts on closed windows: metrics, logs, alerting."""

    def observe(self, verdict: WindowVerdict) -> None: ...


@runtime_checkable
class FinalLabelsObserver(Protocol):
    """A verdict observer that also acts on windows whose labels became final (issue 14)."""

    def observe_performance(self, verdict: PerformanceVerdict) -> None: ...


def stream_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


class MetricsObserver:
    """Latest statistic and tier per model and column, as Prometheus gauges."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def observe(self, verdict: WindowVerdict) -> None:
        m = self._metrics
        m.record_window_closed(verdict.model_id)
        m.set_model_tier(verdict.model_id, int(verdict.tier))
        if verdict.performance is not None:
            record_performance(m.performance, verdict.performance)
        for column in verdict.columns:
            m.set_column_tier(verdict.model_id, column.column, int(column.tier))
            m.set_bin_shares(verdict.model_id, column.column, "window", shares(column.counts))
            stats = column.statistics
            for name in EXPORTED_STATISTICS:
                value = getattr(stats, name)
                if value is not None:
                    m.set_column_statistic(verdict.model_id, column.column, name, float(value))


class LogObserver:
    """One structured log event per closed window."""

    def observe(self, verdict: WindowVerdict) -> None:
        drifting = [f"{c.column}:{c.tier.label}" for c in verdict.drifting_columns]
        log.info(
            "window_closed",
            model=verdict.model_id,
            window_start=verdict.window_start,
            window_end=verdict.window_end,
            events=verdict.events,
            tier=verdict.tier.label,
            previous_tier=verdict.previous_tier.label,
            drifting=drifting,
        )


class VerdictLogObserver:
    """Appends each closed window's report record to a JSONL file (`verdict_log`).

    Each line goes out in one unbuffered write, so a reader never sees half a
    record (a record with its histograms is larger than a text buffer). After a
    crash, windows closed after the last checkpoint are closed again from the
    same state, so a window may appear twice with identical content: readers
    keep the last line per (model_id, window_index).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab", buffering=0)
        if self._file.tell() and _last_byte(path) != b"\n":
            self._file.write(b"\n")  # a line cut by a kill stays alone on its line

    def observe(self, verdict: WindowVerdict) -> None:
        line = memoryview((json.dumps(window_record(verdict), sort_keys=True) + "\n").encode())
        while line:
            line = line[self._file.write(line) or 0 :]

    def close(self) -> None:
        self._file.close()


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1)


class AlertObserver:
    """Closed windows into the alert pipeline (its own lock makes it thread-safe)."""

    def __init__(
        self, pipeline: AlertPipeline, *, notified: Callable[[], None] = lambda: None
    ) -> None:
        self._pipeline = pipeline
        self._notified = notified

    def observe(self, verdict: WindowVerdict) -> None:
        if self._pipeline.observe(verdict):
            self._notified()

    def observe_performance(self, verdict: PerformanceVerdict) -> None:
        """Realised performance and label coverage: incidents of their own, as in replay."""
        if self._pipeline.observe_performance(verdict):
            self._notified()


class AlertMetricsAdapter:
    """The alert pipeline's metrics protocol onto the daemon's registry."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def alert_sent(self, receiver: str, outcome: Outcome) -> None:
        self._metrics.record_alert(receiver, outcome)

    def outbox_pending(self, receiver: str, count: int) -> None:
        self._metrics.set_outbox_pending(receiver, count)


class AlertDispatcher:
    """One thread that delivers the outbox at once when `wake()` says a notification was
    queued, and every `interval` seconds for retries and timers, until stopped.

    Waking at once matters when a member catches up a backlog: hours of event time
    pass in seconds, and a trigger left for the next poll can be superseded by its
    own resolve before it was ever delivered (the incident would never page)."""

    def __init__(self, pipeline: AlertPipeline, *, interval: float = 1.0) -> None:
        self._pipeline = pipeline
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._pipeline.dispatch()
            except Exception:  # a delivery bug must not kill alerting for good
                log.exception("alert_dispatch_failed")

    def stop_and_drain(self, deadline: float) -> None:
        """Stop the thread, then deliver what is pending until `deadline` (SIGTERM)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._pipeline.drain(deadline=time.time() + max(0.0, deadline - time.monotonic()))
        self._pipeline.close()


class EngineProcessor:
    """The engine as the consumer loop's `BatchProcessor` (see monitor.kafka.consumer)."""

    def __init__(
        self,
        engine: Engine,
        *,
        observers: Sequence[VerdictObserver] = (),
        metrics: Metrics | None = None,
        dead_letter: DeadLetterSink | None = None,
        saturated: Callable[[], bool] = lambda: False,
        wall_clock: Callable[[], float] = time.time,
        partials: PartialsOutlet | None = None,
    ) -> None:
        self.engine = engine
        self._partials = partials  # issue 17: group.mode partitioned
        self._observers = list(observers)
        self._metrics = metrics
        self._dead_letter = dead_letter
        self._saturated = saturated
        self._wall = wall_clock
        self._record_timestamps = engine.settings.events.timestamp is None
        self._adopted_shared = False
        self.survey = EventSurvey(engine.layouts, engine.settings.events)  # logs misplaced columns
        self._pipeline = Pipeline(engine, survey=self.survey)
        self._outcome_topics = frozenset(engine.settings.kafka.outcome_topics)

    # -- BatchProcessor ------------------------------------------------------------------

    def process(self, records: Sequence[SourceRecord]) -> None:
        """Count a poll's records; with a pool, count the previous poll's instead.

        With a `DecodePool` (see `use_pool`) the poll's batches go to the worker,
        and the previous poll's, decoded meanwhile, are counted: decoding overlaps
        with the next fetch. Batches are counted in the order they arrived either
        way, and everything that looks at or moves state (`snapshot`, `restore`,
        `release`) first counts what is in flight, so checkpoints and offsets
        cover exactly the records counted.
        """
        runs = self._runs(records)
        outcome_runs = [run for topic, run in runs if topic in self._outcome_topics]
        batches = [run for topic, run in runs if topic not in self._outcome_topics]
        for batch in batches:
            self._pipeline.submit(batch)
        if outcome_runs:
            # Their predictions first: everything in flight is counted, then the outcomes.
            self._count(leave=0)
            for run in outcome_runs:
                self._count_outcomes(run)
        else:
            self._count(leave=len(batches))
        self._emit(self._close_due_windows())

    def use_pool(self, pool: DecodePool[WindowCounts] | None) -> None:
        """Decode in `pool` from the next poll on (None: in-process again)."""
        self.flush()
        self._pipeline.use_pool(pool)

    def flush(self) -> None:
        """Count the poll still being decoded, and close the windows it makes due."""
        if len(self._pipeline):
            self._count(leave=0)
            self._emit(self._close_due_windows())

    def _close_due_windows(self) -> Sequence[WindowVerdict]:
        """Due windows as verdicts; in `group.mode: partitioned` (issue 17) they close
        into partials for the merger instead, and this member judges nothing here."""
        if self._partials is not None:
            self._partials.close_due(self.engine)
            return ()
        return self.engine.close_due()

    def _runs(self, records: Sequence[SourceRecord]) -> list[tuple[str, SourceBatch]]:
        """A poll's records as one batch per partition (an engine stream), in order,
        each with its topic."""
        if isinstance(records, PolledRecords):
            polled: Sequence[Sequence[SourceRecord]] = records.runs  # the loop's, per partition
        else:
            polled = [list(run) for _, run in groupby(records, key=_PARTITION_KEY)]
        return [self._batch(run) for run in polled]

    def _batch(self, run: Sequence[SourceRecord]) -> tuple[str, SourceBatch]:
        """One partition's run as a batch: its values framed into one block of lines
        when they allow it (`LineBlock.joined`), Kafka timestamps only when used.

        A run that gives its values whole (`WholeRun`, librdkafka's) builds no
        object per record; other runs are read with C-level `map` calls."""
        first = run[0]
        topic, partition = first.topic, first.partition
        values: list[bytes | None]
        millis: Callable[[], list[int]]
        if isinstance(run, WholeRun):
            values, millis = run.values(), run.timestamps
        else:
            values = list(map(_VALUE, run))
            millis = lambda: list(map(_TIMESTAMP, run))  # noqa: E731 - read only when used
        payloads: Sequence[bytes]
        if None in values:  # a tombstone: counted as invalid JSON, never dropped
            payloads = [v if v is not None else b"" for v in values]
        else:
            present = cast(list[bytes], values)
            block = LineBlock.joined(present)
            payloads = present if block is None else block
        timestamps = [ms / 1000.0 for ms in millis()] if self._record_timestamps else None
        locate = _record_locator(topic, partition, run)
        return topic, SourceBatch(payloads, stream_name(topic, partition), locate, timestamps)

    def _count(self, *, leave: int) -> None:
        """Count in-flight batches down to `leave`; every partition of a poll counts
        before windows close (the caller's `close_due`)."""
        before = self._counts()
        self._pipeline.count(leave=leave, close=False)
        self._report_counts(before)

    def _count_outcomes(self, run: SourceBatch) -> None:
        self.engine.process_outcomes(
            run.payloads,
            stream=run.stream,
            locate=run.locate,
            source_timestamps=run.source_timestamps,
        )

    def close_due(self, now: float, idle: frozenset[Partition]) -> None:
        idle_names = {stream_name(t, p) for t, p in idle}
        for name in list(self.engine.streams):
            self.engine.set_idle(name, name in idle_names)
        if self.engine.outcomes is not None:
            for name in list(self.engine.outcomes.streams):
                self.engine.outcomes.set_idle(name, name in idle_names)
        self._emit(self._close_due_windows())
        if self._metrics is not None:
            for model in self.engine.layouts:
                watermark = self.engine.watermark(model)
                if watermark is not None:
                    self._metrics.set_watermark_delay(model, max(0.0, now - watermark))

    def saturated(self) -> bool:
        return self._saturated()

    def snapshot(self) -> bytes:
        self.flush()
        if self._partials is not None:
            self._partials.flush()  # published before the checkpoint forgets those windows
        if self._dead_letter is not None:
            self._dead_letter.flush()  # durable before the offsets that produced them move on
        return self.engine.snapshot()

    def saved(self) -> None:
        if self.engine.outcomes is not None:
            self.engine.outcomes.saved_last()

    def restore(self, partitions: frozenset[Partition], state: bytes | None) -> None:
        self.flush()
        outcome_names = [
            stream_name(t, p) for t, p in sorted(partitions) if t in self._outcome_topics
        ]
        names = [stream_name(t, p) for t, p in sorted(partitions) if t not in self._outcome_topics]
        if state is None:
            if self.engine.outcomes is not None and not self._adopted_shared:
                # Nothing was ever checkpointed: the store goes back to empty (it
                # refuses, naming the fix, if it holds a durable checkpoint's state).
                self.engine.outcomes.restore(None)
            for name in names:
                self.engine.drop_stream(name)
                self.engine.add_stream(name)  # holds the watermark until it delivers
            for name in outcome_names:
                self._outcome_stream(name)
            return
        # A member that still holds other partitions (kept across a rebalance, which
        # only group.mode partitioned does) keeps its own counters and floors.
        shared = not self._adopted_shared and not (set(self.engine.streams) - set(names))
        self.engine.restore_streams(state, names, shared=shared)
        self._adopted_shared = True
        self._republish()
        for name in outcome_names:
            self._outcome_stream(name)
        log.info("partitions_restored", partitions=names + outcome_names, shared_state=shared)

    def _republish(self) -> None:
        """Issue 14: the realised gauges come back with the checkpoint, not with the next
        final window (which may be hours of label delay away)."""
        if self._metrics is None:
            return
        for model, evaluator in sorted(self.engine.evaluators.items()):
            judge = evaluator.performance
            if judge is not None and republish_performance(self._metrics.performance, judge):
                log.info("performance_gauges_restored", model=model)

    def _outcome_stream(self, name: str) -> None:
        if self.engine.outcomes is not None:
            self.engine.outcomes.add_stream(name)  # holds expiry back until it delivers

    def release(self, partitions: frozenset[Partition]) -> None:
        self.flush()
        for topic, partition in partitions:
            self.engine.drop_stream(stream_name(topic, partition))
            if self.engine.outcomes is not None:
                self.engine.outcomes.drop_stream(stream_name(topic, partition))
        if not self.engine.streams:
            # Nothing held (a standby now): the next restore takes the checkpoint's
            # tier history, floors and counters whole, not this member's stale ones.
            self._adopted_shared = False

    # -- helpers -------------------------------------------------------------------------

    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        counts = self.engine.counts
        return dict(counts.accepted_by_model), dict(counts.rejected)

    def _report_counts(self, before: tuple[dict[str, int], dict[str, int]]) -> None:
        if self._metrics is None:
            return
        accepted, rejected = before
        counts = self.engine.counts
        for model, total in counts.accepted_by_model.items():
            if total - accepted.get(model, 0):
                self._metrics.record_accepted(model, total - accepted.get(model, 0))
        for reason, total in counts.rejected.items():
            if total - rejected.get(reason, 0):
                self._metrics.record_rejected(reason, total - rejected.get(reason, 0))

    def _emit(self, verdicts: Sequence[WindowVerdict]) -> None:
        for verdict in verdicts:
            for observer in self._observers:
                observer.observe(verdict)
        # Each window's final labels are a log event (after a crash, the last one per
        # window counts); its realised performance goes to the observers that take it.
        for window, performance in self.engine.take_final_labels():
            log.info("window_labels_final", **window.summary())
            if performance is not None:
                log.info("window_performance_final", **performance_fields(performance))
                if self._metrics is not None:
                    record_performance(self._metrics.performance, performance)
                for observer in self._observers:
                    if isinstance(observer, FinalLabelsObserver):
                        observer.observe_performance(performance)


def _record_locator(topic: str, partition: int, records: Sequence[SourceRecord]) -> SourceLocator:
    """Where payload i of a partition's run came from, for the dead-letter sink."""

    def locate(i: int) -> dict[str, str | int]:
        return {"topic": topic, "partition": partition, "offset": records[i].offset}

    return locate


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
