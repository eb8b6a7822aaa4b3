"""Window performance is checkpointed state: a crash anywhere gives the uninterrupted result.

The prediction-side state rides in the window checkpoint, the labelled state in
the join's, the tier tracks in the evaluator's; restoring a checkpoint and reading
again what came after it must give the same verdicts at close and the same realised
verdicts when final as a run that never crashed.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.artifact import Baseline
from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.outcomes.pending import PendingStore
from tests.monitor.factories import settings_with
from tests.monitor.performance_stream import MODEL, Stream, build_baseline

POLICY = {"window": {"size": "1h", "allowed_lateness": "0s"}, "significance": {"min_samples": 100}}
Batch = tuple[bool, list[bytes]]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    path = tmp_path_factory.mktemp("baseline")
    build_baseline(path)
    return load_baseline(path / "store" / MODEL)


def scenario(seed: int) -> list[Batch]:
    """Four windows (the last two with a concept drift), predictions and outcomes
    interleaved in time order, in random batch sizes."""
    rng = np.random.default_rng(seed)
    stream = Stream()
    for window in range(4):
        stream.add_window(rng, window, 400, flip=0.3 if window >= 2 else 0.0)
    timed = [(json.loads(p)["timestamp"], False, p) for p in stream.predictions]
    timed += [(json.loads(o)["timestamp"], True, o) for o in stream.outcomes]
    timed.sort(key=lambda item: item[0])
    pick = random.Random(seed)
    batches: list[Batch] = []
    i = 0
    while i < len(timed):
        n = pick.randint(1, 120)
        run = timed[i : i + n]
        for is_outcome in (False, True):
            part = [p for _, o, p in run if o == is_outcome]
            if part:
                batches.append((is_outcome, part))
        i += n
    return batches


def engine(baseline: Baseline, directory: Path | None) -> tuple[Engine, PendingStore]:
    store = PendingStore(directory)
    config = settings_with(policy=POLICY, outcomes={"horizon": "2d", "min_coverage": 0.9})
    return Engine([baseline], config, wall_clock=None, outcome_store=store), store


def apply(engine: Engine, batches: list[Batch], out: dict[str, Any]) -> None:
    for is_outcome, payloads in batches:
        if is_outcome:
            engine.process_outcomes(payloads, stream="o")
        else:
            for verdict in engine.process(payloads, stream="p"):
                assert verdict.performance is not None
                out["closed"][verdict.window_index] = verdict.performance.to_record()
        for _, final in engine.take_final_labels():
            assert final is not None
            out["final"][final.window_index] = final.to_record()


def finish(engine: Engine, out: dict[str, Any]) -> dict[str, Any]:
    for verdict in engine.close_all():
        assert verdict.performance is not None
        out["closed"][verdict.window_index] = verdict.performance.to_record()
    for _, final in engine.take_final_labels():
        assert final is not None
        out["final"][final.window_index] = final.to_record()
    return out


def uninterrupted(baseline: Baseline, seed: int) -> dict[str, Any]:
    first, store = engine(baseline, None)
    out: dict[str, Any] = {"closed": {}, "final": {}}
    apply(first, scenario(seed), out)
    result = finish(first, out)
    store.close()
    return result


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1), cut=st.floats(0.0, 1.0), crash=st.floats(0.0, 1.0))
def test_a_crash_after_any_checkpoint_gives_the_uninterrupted_performance(
    baseline: Baseline, seed: int, cut: float, crash: float
) -> None:
    batches = scenario(seed)
    at = int(cut * len(batches))
    dies = at + int(crash * (len(batches) - at))
    with tempfile.TemporaryDirectory() as tmp:
        out: dict[str, Any] = {"closed": {}, "final": {}}
        first, store = engine(baseline, Path(tmp))
        apply(first, batches[:at], out)
        checkpoint = first.snapshot()
        apply(first, batches[at:dies], out)  # verdicts emitted after the checkpoint,
        store.close()  # then kill -9: they are emitted again after the restore
        second, store = engine(baseline, Path(tmp))
        second.restore(checkpoint)
        apply(second, batches[at:], out)
        got = finish(second, out)
        store.close()
    expected = uninterrupted(baseline, seed)
    assert got == expected
    assert sorted(expected["final"]) == [0, 1, 2, 3]
    assert expected["final"][3]["condition"] == "critical"
