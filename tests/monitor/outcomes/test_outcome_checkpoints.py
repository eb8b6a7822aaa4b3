"""The store is checkpointed state: a crash anywhere neither joins twice nor loses a join."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.outcomes.pending import PendingStore
from tests.monitor.outcomes.outcome_factories import (
    DAY,
    HOUR,
    Recorder,
    outcome,
    outcome_engine,
    prediction,
)

Batch = tuple[bool, list[bytes]]  # (outcome stream?, payloads)


def scenario(seed: int) -> list[Batch]:
    """Predictions and late, repeated, unknown and too-late outcomes, interleaved."""
    rng = random.Random(seed)
    predictions = [
        prediction(f"r{i}", i * 120.0, label=rng.choice(["approve", "decline"])) for i in range(300)
    ]
    outcomes = []
    for i in range(300):
        delay = rng.choice([60.0, HOUR, DAY, 3 * DAY])
        outcomes.append(outcome(f"r{i}", i * 120.0 + delay, rng.choice(["approve", "decline"])))
        if rng.random() < 0.1:
            outcomes.append(outcome(f"r{i}", i * 120.0 + delay + 5))
        if rng.random() < 0.05:
            outcomes.append(outcome(f"ghost{i}", i * 120.0 + delay))
    outcomes.sort(key=lambda b: float(b.split(b'"timestamp": ')[1].split(b",")[0]))
    batches: list[Batch] = []
    p = o = 0
    while p < len(predictions) or o < len(outcomes):
        if o >= len(outcomes) or (p < len(predictions) and rng.random() < 0.5):
            n = rng.randint(1, 40)
            batches.append((False, predictions[p : p + n]))
            p += n
        else:
            n = rng.randint(1, 40)
            batches.append((True, outcomes[o : o + n]))
            o += n
    return batches


def apply(engine: Engine, batches: list[Batch]) -> None:
    for is_outcome, payloads in batches:
        if is_outcome:
            engine.process_outcomes(payloads, stream="o")
        else:
            engine.process(payloads, stream="p")


def result(engine: Engine, sink: Recorder) -> dict[str, Any]:
    engine.close_all()
    assert engine.outcomes is not None
    windows = {
        w.window: (w.n_predictions, w.n_labelled, w.delays.tolist())
        for w in engine.outcomes.take_final()
    }
    return {
        "counts": engine.outcomes.counts.to_dict(),
        "windows": windows,
        "dead_letters": sorted((p, r) for p, r, _ in sink.items),
    }


def uninterrupted(seed: int) -> dict[str, Any]:
    sink = Recorder()
    engine, store = outcome_engine(None, sink=sink)
    apply(engine, scenario(seed))
    out = result(engine, sink)
    store.close()
    return out


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 3),
    cut=st.floats(0.0, 1.0),
    crash=st.floats(0.0, 1.0),
    lost_save=st.booleans(),
)
def test_a_crash_after_any_checkpoint_gives_the_uninterrupted_result(
    seed: int, cut: float, crash: float, lost_save: bool
) -> None:
    """Restore the checkpoint at `cut`, read again what came after it: the same joins,
    counts and dead letters as a run that never crashed (dead letters of the lost
    stretch are written twice, as at-least-once sinks are)."""
    batches = scenario(seed)
    at = int(cut * len(batches))
    dies = at + int(crash * (len(batches) - at))
    with tempfile.TemporaryDirectory() as tmp:
        sink = Recorder()
        first, store = outcome_engine(Path(tmp), sink=sink)
        apply(first, batches[:at])
        checkpoint = first.snapshot()
        assert first.outcomes is not None
        apply(first, batches[at:dies])
        if lost_save:
            first.snapshot()  # committed in the store, but its checkpoint never landed
        store.close()  # kill -9: the open epoch is never committed
        second, store = outcome_engine(Path(tmp), sink=sink)
        second.restore(checkpoint)
        apply(second, batches[at:])
        got = result(second, sink)
        store.close()
    expected = uninterrupted(seed)
    assert got["counts"] == expected["counts"]
    assert got["windows"] == expected["windows"]
    assert set(got["dead_letters"]) == set(expected["dead_letters"])


def test_a_store_behind_its_checkpoint_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path / "a")
    engine.process([prediction("r1", 10.0)], stream="p")
    checkpoint = engine.snapshot()
    store.close()
    other, store = outcome_engine(tmp_path / "b")  # a new, empty store
    with pytest.raises(
        CheckpointError, match="restore the store's volume, or delete the checkpoint"
    ):
        other.restore(checkpoint)
    store.close()


def test_a_store_cannot_go_back_before_a_saved_checkpoint(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process([prediction("r1", 10.0)], stream="p")
    old = engine.snapshot()
    engine.process([prediction("r2", 20.0)], stream="p")
    new = engine.snapshot()
    assert engine.outcomes is not None
    engine.outcomes.saved(msgspec_outcomes(new))
    engine.snapshot()
    with pytest.raises(CheckpointError, match="can no longer go back"):
        engine.restore(old)
    store.close()


def test_saved_checkpoints_forget_the_undo_rows(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process([prediction(f"r{i}", float(i)) for i in range(50)], stream="p")
    assert store.count("undo") == 0  # a new row carries its epoch instead
    engine.process_outcomes([outcome(f"r{i}", 100.0 + i) for i in range(20)], stream="o")
    snap = engine.snapshot()
    assert store.count("undo") == 20  # each join keeps the row as it was
    assert engine.outcomes is not None
    engine.outcomes.saved(msgspec_outcomes(snap))
    engine.snapshot()
    assert store.count("undo") == 0
    assert store.count("pending") == 50
    store.close()


def msgspec_outcomes(snapshot: bytes) -> dict[str, Any]:
    doc = msgspec.msgpack.decode(snapshot)
    return doc["outcomes"]  # type: ignore[no-any-return]


def test_a_temporary_store_leaves_nothing_behind() -> None:
    store = PendingStore(None)
    directory = store.directory
    store.close()
    assert not directory.exists()


def test_a_start_without_a_checkpoint_empties_a_store_left_behind(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process([prediction("r1", 10.0)], stream="p")
    snap = engine.snapshot()
    assert engine.outcomes is not None
    engine.outcomes.saved(msgspec_outcomes(snap))
    engine.snapshot()
    store.close()
    fresh, store = outcome_engine(tmp_path)
    assert fresh.outcomes is not None
    fresh.outcomes.restore(None)
    assert store.count("pending") == 0
    assert store.seq == 0
    store.close()
