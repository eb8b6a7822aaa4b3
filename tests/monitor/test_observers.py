"""The verdict observers: what a closed window leaves in the metrics."""

from __future__ import annotations

from driftwarden.monitor.service.observers import MetricsObserver
from driftwarden.monitor.telemetry.metrics import Metrics
from tests.monitor.test_processor import calm, processor, records


def test_metrics_observer_exports_statistics_and_tiers() -> None:
    metrics = Metrics("test")
    proc, _ = processor()
    proc.process(records(calm(1500), partitions=1))
    for verdict in proc.engine.close_all():
        MetricsObserver(metrics).observe(verdict)
    text = metrics.exposition().decode()
    assert 'driftwarden_column_statistic{column="x",model="m",statistic="psi"}' in text
    assert 'driftwarden_model_tier{model="m"}' in text


def test_metrics_observer_exports_the_last_windows_histogram_per_bin_index() -> None:
    metrics = Metrics("test")
    proc, _ = processor()
    proc.process(records(calm(1500), partitions=1))
    verdicts = proc.engine.close_all()
    for verdict in verdicts:
        MetricsObserver(metrics).observe(verdict)
    x = next(c for c in verdicts[-1].columns if c.column == "x")
    total = sum(x.counts)
    text = metrics.exposition().decode()
    for index, count in enumerate(x.counts):
        series = (
            f'driftwarden_column_bin_share{{bin="{index}",column="x",model="m",source="window"}}'
        )
        assert f"{series} {round(count / total, 6)!r}" in text
