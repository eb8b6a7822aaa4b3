"""Property: late, out-of-order, repeated, unknown and too-late outcomes, read in any
interleaving with the predictions, are each joined once or rejected with the right reason."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.monitor.outcomes.outcome_factories import (
    DAY,
    Recorder,
    outcome,
    outcome_engine,
    prediction,
)

HORIZON = 2 * DAY  # outcome_engine's


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 120), batches=st.integers(1, 12))
def test_every_outcome_is_joined_once_or_rejected_for_its_reason(
    seed: int, n: int, batches: int
) -> None:
    rng = random.Random(seed)
    predictions = [(f"r{i}", i * 600.0) for i in range(n)]
    outcomes: list[tuple[float, str, int]] = []  # (time, request id, copy)
    for rid, ts in predictions:
        if rng.random() < 0.2:
            continue
        delay = rng.choice([rng.uniform(1, 3600), rng.uniform(DAY, HORIZON), HORIZON + 600])
        outcomes.append((ts + delay, rid, 0))
        if rng.random() < 0.2:
            outcomes.append((ts + delay + rng.uniform(0, 60), rid, 1))
    ghosts = rng.randint(0, 3)
    outcomes += [(rng.uniform(0, n * 600.0), f"ghost{g}", 0) for g in range(ghosts)]
    outcomes.sort()
    # Each stream in its own order; the two interleaved at random.
    p_parts = _split([prediction(r, t) for r, t in predictions], batches, rng)
    o_parts = _split([outcome(r, t) for t, r, _ in outcomes], batches, rng)
    order = [True] * len(o_parts) + [False] * len(p_parts)
    rng.shuffle(order)
    sink = Recorder()
    engine, store = outcome_engine(None, sink=sink)
    for is_outcome in order:
        if is_outcome:
            engine.process_outcomes(o_parts.pop(0), stream="o")
        else:
            engine.process(p_parts.pop(0), stream="p")
    engine.close_all()
    store.close()
    assert engine.outcomes is not None
    counts = engine.outcomes.counts

    # The rules, one outcome at a time in stream order (docs/outcomes.md).
    times = dict(predictions)
    joined_ids: set[str] = set()
    expected = {"joined": 0, "duplicate": 0, "outcome_too_late": 0}
    for t, rid, _ in outcomes:
        if rid not in times:
            continue
        if rid in joined_ids:
            expected["duplicate"] += 1
        elif t - times[rid] > HORIZON:
            expected["outcome_too_late"] += 1
        else:
            expected["joined"] += 1
            joined_ids.add(rid)
    joined = expected["joined"]
    assert counts.read == len(outcomes)
    assert counts.joined == joined
    # A repeat of a too-late outcome that waited for its prediction is a `duplicate`;
    # read after the prediction it is `outcome_too_late` again: either way rejected once.
    assert counts.rejected["duplicate"] + counts.rejected["outcome_too_late"] == (
        expected["duplicate"] + expected["outcome_too_late"]
    )
    assert counts.rejected["duplicate"] >= expected["duplicate"]
    assert counts.rejected["unknown_request"] == ghosts
    assert counts.waiting == 0
    assert counts.reconciles()
    assert len(sink.items) == counts.rejected_total
    labelled = sum(w.n_labelled for w in engine.outcomes.take_final())
    assert labelled == joined


def _split(items: list[bytes], parts: int, rng: random.Random) -> list[list[bytes]]:
    cuts = (
        sorted(rng.sample(range(1, len(items)), min(parts - 1, len(items) - 1)))
        if len(items) > 1
        else []
    )
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds) if b > a]
