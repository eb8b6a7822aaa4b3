"""After a restart the realised-performance gauges come back from the checkpoint.

A window's realised performance is published when its labels are final, which
may be hours of label delay after the restart: until then /metrics would show
no realised performance at all. The judge checkpoints the last final window's
gauges and the daemon republishes them when it restores (issue 14).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.service.processor import EngineProcessor
from driftwarden.monitor.telemetry.metrics import Metrics
from tests.monitor.factories import settings_with
from tests.monitor.performance_stream import MODEL, Stream, build_baseline

POLICY = {"window": {"size": "1h", "allowed_lateness": "0s"}, "significance": {"min_samples": 100}}
PARTITIONS = frozenset({("p", 0), ("o", 0)})
ACCURACY = re.compile(
    rb'driftwarden_performance\{kind="realised",metric="accuracy",model="credit-risk"\} (\S+)'
)
COVERAGE = re.compile(rb'driftwarden_label_coverage\{model="credit-risk"\} (\S+)')


@pytest.fixture(scope="module")
def stream() -> Stream:
    rng = np.random.default_rng(61)
    stream = Stream()
    for window in range(3):
        stream.add_window(rng, window, 1_000, messy=False)
    return stream


def _processor(work: Path, store: PendingStore) -> tuple[EngineProcessor, Metrics]:
    baseline = load_baseline(work / "store" / MODEL)
    settings = settings_with(
        policy=POLICY,
        outcomes={"horizon": "2d", "min_coverage": 0.99},
        kafka={"topics": ["p"], "outcome_topics": ["o"]},
    )
    engine = Engine([baseline], settings, wall_clock=None, outcome_store=store)
    metrics = Metrics("test")
    return EngineProcessor(engine, metrics=metrics), metrics


def _records(topic: str, payloads: list[bytes], first: int) -> list[Record]:
    return [Record(topic, 0, first + i, timestamp=0, value=p) for i, p in enumerate(payloads)]


def test_a_restart_republishes_the_last_final_windows_realised_gauges(
    tmp_path: Path, stream: Stream
) -> None:
    build_baseline(tmp_path)
    store = PendingStore(tmp_path / "pending")
    proc, metrics = _processor(tmp_path, store)
    proc.restore(PARTITIONS, None)
    offset = 0
    for window in range(3):
        predictions = stream.window_payloads(window)[0]
        proc.process(_records("p", predictions, offset))
        offset += len(predictions)
    proc.process(_records("o", stream.window_payloads(0)[1], 0))
    before = metrics.exposition()
    published = ACCURACY.search(before)
    assert published is not None, "window 0 is final: its realised accuracy is published"
    coverage = COVERAGE.search(before)
    assert coverage is not None
    state = proc.snapshot()
    proc.saved()
    store.close()

    store = PendingStore(tmp_path / "pending")
    again, fresh = _processor(tmp_path, store)
    assert ACCURACY.search(fresh.exposition()) is None  # nothing before the restore
    again.restore(PARTITIONS, state)
    after = fresh.exposition()
    restored = ACCURACY.search(after)
    assert restored is not None, "the gauges come back with the checkpoint"
    assert restored.group(1) == published.group(1)
    restored_coverage = COVERAGE.search(after)
    assert restored_coverage is not None
    assert restored_coverage.group(1) == coverage.group(1)
    store.close()


def test_a_restart_before_any_final_window_publishes_no_realised_gauge(
    tmp_path: Path, stream: Stream
) -> None:
    build_baseline(tmp_path)
    store = PendingStore(tmp_path / "pending")
    proc, _ = _processor(tmp_path, store)
    proc.restore(PARTITIONS, None)
    proc.process(_records("p", stream.window_payloads(0)[0], 0))
    state = proc.snapshot()
    proc.saved()
    store.close()

    store = PendingStore(tmp_path / "pending")
    again, fresh = _processor(tmp_path, store)
    again.restore(PARTITIONS, state)
    assert ACCURACY.search(fresh.exposition()) is None
    store.close()
