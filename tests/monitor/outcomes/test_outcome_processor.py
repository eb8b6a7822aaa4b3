"""The daemon's processor routes outcome-topic records to the join, never to the windows."""

from __future__ import annotations

from pathlib import Path

import msgspec

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.service.processor import EngineProcessor
from tests.monitor.factories import make_baseline, settings_with
from tests.monitor.outcomes.outcome_factories import HOUR, WINDOW, outcome, prediction


def processor(directory: Path) -> tuple[EngineProcessor, PendingStore]:
    settings = settings_with(
        policy=dict(WINDOW),
        outcomes={"horizon": "2d"},
        kafka={"topics": ["p"], "outcome_topics": ["o"]},
    )
    store = PendingStore(directory)
    engine = Engine([make_baseline()], settings, wall_clock=None, outcome_store=store)
    return EngineProcessor(engine), store


def test_outcome_partitions_feed_the_join_and_hold_no_prediction_watermark(
    tmp_path: Path,
) -> None:
    proc, store = processor(tmp_path)
    proc.restore(frozenset({("p", 0), ("o", 0)}), None)
    assert set(proc.engine.streams) == {"p:0"}
    assert proc.engine.outcomes is not None
    assert set(proc.engine.outcomes.streams) == {"o:0"}
    proc.process(
        [
            Record("p", 0, 0, timestamp=0, value=prediction("r1", 10.0)),
            Record("o", 0, 0, timestamp=0, value=outcome("r1", HOUR)),
        ]
    )
    assert proc.engine.counts.read == 1  # the outcome is not a prediction event
    assert proc.engine.outcomes.counts.joined == 1
    store.close()


def test_a_restore_brings_the_store_back_to_the_checkpoint(tmp_path: Path) -> None:
    proc, store = processor(tmp_path)
    proc.restore(frozenset({("p", 0), ("o", 0)}), None)
    proc.process([Record("p", 0, 0, timestamp=0, value=prediction("r1", 10.0))])
    state = proc.snapshot()
    proc.saved()
    proc.process([Record("o", 0, 0, timestamp=0, value=outcome("r1", HOUR))])
    proc.snapshot()  # committed, but its checkpoint never lands
    store.close()

    again, store = processor(tmp_path)
    again.restore(frozenset({("p", 0), ("o", 0)}), state)
    assert again.engine.outcomes is not None
    assert again.engine.outcomes.counts.joined == 0
    again.process([Record("o", 0, 0, timestamp=0, value=outcome("r1", HOUR))])
    assert again.engine.outcomes.counts.joined == 1  # joined once, not a duplicate
    assert msgspec.msgpack.decode(state)["outcomes"]["store_seq"] == 1
    store.close()
