"""The join: every outcome joined to its prediction's window once, or accounted for."""

from __future__ import annotations

from pathlib import Path

from tests.monitor.outcomes.outcome_factories import (
    DAY,
    HOUR,
    Recorder,
    labelled,
    outcome,
    outcome_engine,
    prediction,
)


def test_an_outcome_days_late_joins_the_window_of_its_prediction(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process([prediction("r1", 0.5 * HOUR), prediction("r2", 1.5 * HOUR)], stream="p")
    engine.process_outcomes([outcome("r1", 1.2 * DAY)], stream="o")
    assert labelled(engine) == {0: (1, 1), 1: (1, 0)}
    assert engine.outcomes is not None
    assert engine.outcomes.counts.joined == 1
    store.close()


def test_every_kind_of_outcome_is_accounted_for_and_dead_lettered(tmp_path: Path) -> None:
    sink = Recorder()
    engine, store = outcome_engine(tmp_path, sink=sink)
    engine.process([prediction(f"r{i}", i * 60.0) for i in range(10)], stream="p")
    outcomes = [
        outcome("r0", HOUR),  # joined
        outcome("r0", 2 * HOUR),  # duplicate of a joined one
        outcome("r1", 3 * DAY),  # after the 2d horizon
        outcome("nobody", 2 * HOUR),  # waits, then unknown
        outcome("r2", HOUR, {"a": 1}),  # bad outcome
        outcome("r3", HOUR, None),  # no outcome
        b"{not json",
        outcome(None, HOUR),  # no request id: unknown too
        outcome("r4", HOUR, model="other"),  # unknown model
        outcome("r5", "yesterday"),  # bad timestamp
    ]
    engine.process_outcomes(outcomes, stream="o")
    assert engine.outcomes is not None
    counts = engine.outcomes.counts
    assert counts.read == 10
    assert counts.joined == 1
    assert counts.waiting == 1
    assert counts.reconciles()
    engine.close_all()
    assert counts.waiting == 0
    assert counts.reconciles()
    assert dict(counts.rejected) == {
        "duplicate": 1,
        "outcome_too_late": 1,
        "unknown_request": 2,
        "bad_outcome": 2,
        "invalid_json": 1,
        "unknown_model": 1,
        "bad_timestamp": 1,
    }
    assert sorted(sink.reasons()) == sorted(
        reason for reason, n in counts.rejected.items() for _ in range(n)
    )
    store.close()


def test_an_outcome_read_before_its_prediction_waits_and_joins(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process_outcomes([outcome("r1", 2 * HOUR, "decline")], stream="o")
    assert engine.outcomes is not None
    assert engine.outcomes.counts.waiting == 1
    engine.process([prediction("r1", HOUR + 5)], stream="p")
    assert engine.outcomes.counts.waiting == 0
    assert engine.outcomes.counts.joined == 1
    assert labelled(engine) == {1: (1, 1)}
    store.close()


def test_a_waiting_outcome_is_unknown_once_its_prediction_can_no_longer_be_accepted(
    tmp_path: Path,
) -> None:
    sink = Recorder()
    engine, store = outcome_engine(tmp_path, sink=sink)
    engine.process_outcomes([outcome("ghost", 30.0)], stream="o")
    engine.process([prediction("r1", 10.0)], stream="p")
    assert sink.reasons() == []
    engine.process([prediction("r2", 2 * HOUR)], stream="p")  # closes the first hour
    assert sink.reasons() == ["unknown_request"]
    assert sink.items[0][0] == outcome("ghost", 30.0)
    store.close()


def test_a_repeated_outcome_counts_once_whether_joined_or_waiting(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process_outcomes(
        [outcome("r1", HOUR), outcome("r1", HOUR), outcome("r1", 2 * HOUR, "decline")],
        stream="o",
    )
    engine.process([prediction("r1", 10.0)], stream="p")
    engine.process_outcomes([outcome("r1", HOUR)], stream="o")
    assert engine.outcomes is not None
    counts = engine.outcomes.counts
    assert (counts.joined, counts.rejected["duplicate"]) == (1, 3)
    assert labelled(engine) == {0: (1, 1)}
    store.close()


def test_an_outcome_the_prediction_carries_joins_at_once(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path)
    engine.process(
        [prediction("r1", 10.0, outcome="approve"), prediction("r2", 20.0, outcome=[1])],
        stream="p",
    )
    engine.process_outcomes([outcome("r1", HOUR)], stream="o")
    assert engine.outcomes is not None
    counts = engine.outcomes.counts
    assert (counts.read, counts.joined) == (3, 1)
    assert dict(counts.rejected) == {"bad_outcome": 1, "duplicate": 1}
    assert counts.reconciles()
    store.close()


def test_predictions_expire_when_the_outcome_streams_pass_the_horizon(tmp_path: Path) -> None:
    sink = Recorder()
    engine, store = outcome_engine(tmp_path, sink=sink)
    engine.process([prediction("r1", 10.0), prediction("r2", 3 * DAY)], stream="p")
    engine.process_outcomes([outcome("r2", 3 * DAY + 60)], stream="o")  # expires r1
    assert engine.outcomes is not None
    assert store.count("pending") == 1
    final = engine.outcomes.take_final()
    assert [(w.window, w.final, w.n_labelled) for w in final] == [(0, "horizon", 0)]
    engine.process_outcomes([outcome("r1", HOUR)], stream="o")  # its prediction is gone
    assert sink.reasons() == ["outcome_too_late"]
    store.close()


def test_a_window_is_final_by_coverage_once_it_closed(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path, outcomes={"min_coverage": 0.5})
    engine.process([prediction("a", 10.0), prediction("b", 20.0)], stream="p")
    engine.process_outcomes([outcome("a", 30.0)], stream="o")
    assert engine.outcomes is not None
    assert engine.outcomes.take_final() == []  # its window is still open
    engine.process([prediction("c", 2 * HOUR)], stream="p")
    final = engine.outcomes.take_final()
    assert [(w.window, w.final, w.label_coverage) for w in final] == [(0, "coverage", 0.5)]
    store.close()


def test_sampling_keeps_the_same_request_ids_for_predictions_and_outcomes(tmp_path: Path) -> None:
    engine, store = outcome_engine(tmp_path, outcomes={"sample": 0.25})
    n = 2000
    engine.process([prediction(f"r{i}", float(i)) for i in range(n)], stream="p")
    engine.process_outcomes([outcome(f"r{i}", n + float(i)) for i in range(n)], stream="o")
    engine.close_all()
    assert engine.outcomes is not None
    counts = engine.outcomes.counts
    assert counts.joined == counts.predictions_stored
    assert counts.joined + counts.sampled_out == n
    assert 0.2 * n < counts.joined < 0.3 * n
    assert counts.reconciles()
    store.close()
