"""The daemon's Prometheus metrics: exactly the set docs/metrics.md promises.

docs/metrics.md is a contract: the Helm chart's PrometheusRule and Grafana
dashboard are written against those names, types and labels, so nothing here
may be renamed or added without changing that page too.

Each `Metrics` owns its registry (no process-global state, so tests and a
replay run in the same process never collide). `_created` series, which
prometheus-client adds to counters and histograms, are filtered out of the
exposition here instead of through the library's process-wide switch: they
double the series count and nothing reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from driftwarden.monitor.telemetry.http_server import DROP_REASONS, DropReason
from driftwarden.monitor.telemetry.performance_metrics import (
    PERFORMANCE_METRIC_NAMES,
    PerformanceMetrics,
)

AlertOutcome = Literal["success", "retry", "failed", "dropped"]

STORAGE_COMPONENTS: Final = ("checkpoint", "alert_state")
"""Components whose storage faults are exported at 0 from the start (others appear on
their first report)."""

CHECKPOINT_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

METRIC_NAMES: Final = (
    "driftwarden_build_info",
    "driftwarden_events_consumed_total",
    "driftwarden_events_accepted_total",
    "driftwarden_events_rejected_total",
    "driftwarden_windows_closed_total",
    "driftwarden_column_statistic",
    "driftwarden_column_tier",
    "driftwarden_column_bin_share",
    "driftwarden_model_tier",
    "driftwarden_consumer_lag_messages",
    "driftwarden_watermark_delay_seconds",
    "driftwarden_checkpoint_duration_seconds",
    "driftwarden_last_checkpoint_timestamp_seconds",
    "driftwarden_alerts_sent_total",
    "driftwarden_alert_outbox_pending",
    "driftwarden_loop_iterations_total",
    "driftwarden_partitions_assigned",
    "driftwarden_storage_write_failures_total",
    "driftwarden_storage_fault",
    "driftwarden_storage_corrupt_total",
    "driftwarden_http_connections_dropped_total",
    "driftwarden_group_role",
    "driftwarden_merger_restarts_total",
    *PERFORMANCE_METRIC_NAMES,
)
"""Every name docs/metrics.md lists, as it appears in the exposition."""


class _WithoutCreated:
    """A read-only view of a registry that drops `*_created` samples."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        for metric in self._registry.collect():
            created = f"{metric.name}_created"
            samples = [s for s in metric.samples if s.name != created]
            if len(samples) == len(metric.samples):
                yield metric
                continue
            copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            copy.samples = samples
            yield copy


class Metrics:
    """The daemon's metrics and the only way to change them.

    Methods are safe to call from any thread (prometheus-client locks each
    value). Label values must come from configuration (models, columns,
    receivers, topics, partitions, rejection reasons), never from event data.
    """

    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._register_flow(r, version)
        self._register_progress(r)
        self._register_health(r)
        self.performance = PerformanceMetrics(r)  # issue 14: telemetry/performance_metrics.py
        self._view = _WithoutCreated(r)

    def _register_flow(self, r: CollectorRegistry, version: str) -> None:
        """Events in, windows closed, and the statistics and tiers they produced."""
        self._build = Info(
            "driftwarden_build", "Build of the running daemon; always 1.", registry=r
        )
        self._build.info({"version": version})
        self._consumed = Counter(
            "driftwarden_events_consumed", "Records read from Kafka.", ["topic"], registry=r
        )
        self._accepted = Counter(
            "driftwarden_events_accepted", "Events counted in a window.", ["model"], registry=r
        )
        self._rejected = Counter(
            "driftwarden_events_rejected",
            "Events rejected (also sent to the dead-letter sink).",
            ["reason"],
            registry=r,
        )
        self._windows = Counter(
            "driftwarden_windows_closed", "Windows closed and evaluated.", ["model"], registry=r
        )
        self._statistic = Gauge(
            "driftwarden_column_statistic",
            "Latest value of a statistic per column, from the last closed window.",
            ["model", "column", "statistic"],
            registry=r,
        )
        self._column_tier = Gauge(
            "driftwarden_column_tier",
            "Column tier: 0 none, 1 info, 2 warning, 3 critical.",
            ["model", "column"],
            registry=r,
        )
        # The window histogram beside the baseline's, per bin *index* (bins are frozen in the
        # baseline, so the label set is columns x bins x 2; never a category value).
        self._bin_share = Gauge(
            "driftwarden_column_bin_share",
            "Share of a column's values per baseline bin: the baseline's and the last window's.",
            ["model", "column", "bin", "source"],
            registry=r,
        )
        self._model_tier = Gauge(
            "driftwarden_model_tier", "Highest column tier of the model.", ["model"], registry=r
        )

    def _register_progress(self, r: CollectorRegistry) -> None:
        """Lag, watermark, checkpoints, alerts and the loop: is the daemon keeping up."""
        self._lag = Gauge(
            "driftwarden_consumer_lag_messages",
            "End offset minus position, per assigned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self._watermark_delay = Gauge(
            "driftwarden_watermark_delay_seconds",
            "Wall clock minus the event-time watermark.",
            ["model"],
            registry=r,
        )
        self._checkpoint_duration = Histogram(
            "driftwarden_checkpoint_duration_seconds",
            "Write plus commit time of one checkpoint.",
            buckets=CHECKPOINT_BUCKETS,
            registry=r,
        )
        self._last_checkpoint = Gauge(
            "driftwarden_last_checkpoint_timestamp_seconds",
            "Unix time of the last successful checkpoint.",
            registry=r,
        )
        self._alerts = Counter(
            "driftwarden_alerts_sent",
            "Alert deliveries by receiver and outcome.",
            ["receiver", "outcome"],
            registry=r,
        )
        self._outbox = Gauge(
            "driftwarden_alert_outbox_pending",
            "Notifications waiting for delivery.",
            ["receiver"],
            registry=r,
        )
        self._iterations = Counter(
            "driftwarden_loop_iterations", "Main-loop turns (liveness).", registry=r
        )
        self._assigned = Gauge(
            "driftwarden_partitions_assigned", "Partitions this member owns.", registry=r
        )

    def _register_health(self, r: CollectorRegistry) -> None:
        """Storage faults, dropped connections and the group role, exported at 0 from start."""
        self._storage_failures = Counter(
            "driftwarden_storage_write_failures",
            "Failed storage writes (checkpoints, alert state), each retried later.",
            ["component"],
            registry=r,
        )
        self._storage_fault = Gauge(
            "driftwarden_storage_fault",
            "1 from a component's first failed write until its next successful one.",
            ["component"],
            registry=r,
        )
        self._storage_corrupt = Counter(
            "driftwarden_storage_corrupt",
            "Stored pieces that could not be read and were set aside (the piece starts empty).",
            ["component"],
            registry=r,
        )
        self._http_dropped = Counter(
            "driftwarden_http_connections_dropped",
            "Connections to /metrics, /healthz, /readyz closed by a server bound.",
            ["reason"],
            registry=r,
        )
        for component in STORAGE_COMPONENTS:
            self._storage_failures.labels(component=component)
            self._storage_fault.labels(component=component)
            self._storage_corrupt.labels(component=component)
        for reason in DROP_REASONS:
            self._http_dropped.labels(reason=reason)
        self._role = Gauge(
            "driftwarden_group_role",
            "1 for this member's role in its consumer group (active or standby), else 0.",
            ["role"],
            registry=r,
        )
        for role in ("active", "standby"):
            self._role.labels(role=role)
        self._merger_restarts = Counter(
            "driftwarden_merger_restarts",
            "Merger loops replaced by the watchdog (group.mode partitioned), by reason.",
            ["reason"],
            registry=r,
        )
        self._merger_restarts.labels(reason="stalled")

    def prime(
        self,
        *,
        topics: Iterable[str],
        models: Iterable[str],
        reasons: Iterable[str],
        receivers: Iterable[str],
    ) -> None:
        """Export every known label set at 0 before anything happens.

        `increase()` and `rate()` need two samples: a counter that first appears
        at 5 would hide those 5 events from the alert rules and the dashboard.
        All label values come from configuration, so the series stay bounded.
        """
        for topic in topics:
            self._consumed.labels(topic=topic)
        for model in models:
            self._accepted.labels(model=model)
            self._windows.labels(model=model)
        for reason in reasons:
            self._rejected.labels(reason=reason)
        for receiver in receivers:
            for outcome in ("success", "retry", "failed", "dropped"):
                self._alerts.labels(receiver=receiver, outcome=outcome)
            self._outbox.labels(receiver=receiver)

    # --- consumption -----------------------------------------------------------------

    def record_consumed(self, topic: str, count: int = 1) -> None:
        self._consumed.labels(topic=topic).inc(count)

    def set_consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        self._lag.labels(topic=topic, partition=str(partition)).set(max(0, lag))

    def forget_partitions(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop the lag series of partitions this member no longer owns."""
        for topic, partition in partitions:
            try:
                self._lag.remove(topic, str(partition))
            except KeyError:
                continue

    def set_partitions_assigned(self, count: int) -> None:
        self._assigned.set(count)

    def record_merger_restart(self, reason: str) -> None:
        self._merger_restarts.labels(reason=reason).inc()

    def set_group_role(self, role: str | None) -> None:
        """`active`, `standby`, or None (not in the group): one series is 1, or none."""
        for name in ("active", "standby"):
            self._role.labels(role=name).set(1 if name == role else 0)

    def record_loop_iteration(self) -> None:
        self._iterations.inc()

    def observe_checkpoint(self, duration_seconds: float, finished_at: float) -> None:
        """One successful checkpoint: how long save + commit took, and when it finished."""
        self._checkpoint_duration.observe(duration_seconds)
        self._last_checkpoint.set(finished_at)

    # --- storage and the HTTP surface -------------------------------------------------

    def record_storage_write_failure(self, component: str) -> None:
        self._storage_failures.labels(component=component).inc()

    def set_storage_fault(self, component: str, faulted: bool) -> None:
        self._storage_fault.labels(component=component).set(1 if faulted else 0)

    def record_storage_corrupt(self, component: str) -> None:
        self._storage_corrupt.labels(component=component).inc()

    def record_http_connection_dropped(self, reason: DropReason) -> None:
        self._http_dropped.labels(reason=reason).inc()

    # --- the engine ------------------------------------------------------------------

    def record_accepted(self, model: str, count: int = 1) -> None:
        self._accepted.labels(model=model).inc(count)

    def record_rejected(self, reason: str, count: int = 1) -> None:
        self._rejected.labels(reason=reason).inc(count)

    def record_window_closed(self, model: str) -> None:
        self._windows.labels(model=model).inc()

    def set_column_statistic(self, model: str, column: str, statistic: str, value: float) -> None:
        self._statistic.labels(model=model, column=column, statistic=statistic).set(value)

    def set_column_tier(self, model: str, column: str, tier: int) -> None:
        self._column_tier.labels(model=model, column=column).set(int(tier))

    def set_bin_shares(
        self,
        model: str,
        column: str,
        source: Literal["baseline", "window"],
        shares: Sequence[float],
    ) -> None:
        """Each bin's share (`bin` is the slot index of the baseline's layout)."""
        for index, share in enumerate(shares):
            self._bin_share.labels(model=model, column=column, bin=str(index), source=source).set(
                share
            )

    def set_model_tier(self, model: str, tier: int) -> None:
        self._model_tier.labels(model=model).set(int(tier))

    def set_watermark_delay(self, model: str, seconds: float) -> None:
        self._watermark_delay.labels(model=model).set(seconds)

    # --- alerting --------------------------------------------------------------------

    def record_alert(self, receiver: str, outcome: AlertOutcome) -> None:
        if outcome not in ("success", "retry", "failed", "dropped"):
            raise ValueError(
                f"alert outcome {outcome!r} is not one of success/retry/failed/dropped"
            )
        self._alerts.labels(receiver=receiver, outcome=outcome).inc()

    def set_outbox_pending(self, receiver: str, count: int) -> None:
        self._outbox.labels(receiver=receiver).set(count)

    # --- exposition ------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """Every metric without `_created` samples (the object is a prometheus Collector)."""
        yield from self._view.collect()

    def exposition(self) -> bytes:
        """The Prometheus text format (0.0.4) of every metric."""
        return generate_latest(self)
