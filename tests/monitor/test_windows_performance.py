"""monitor/windows/performance.py: a window's prediction-side and labelled performance state."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from driftwarden.baselines.model_outputs import read_outputs
from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.baselines.store import load_baseline
from driftwarden.detectors.performance import realised_metrics
from driftwarden.monitor.cli import main
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.windows.performance import (
    LabelledPerformance,
    decoded_classes,
    decoded_outputs,
)
from driftwarden.monitor.windows.window import WindowState
from tests.monitor.factories import settings_with
from tests.monitor.performance_stream import (
    MODEL,
    Stream,
    build_baseline,
    replay_report,
)

POLICY = {"window": {"size": "1h", "allowed_lateness": "0s"}, "significance": {"min_samples": 100}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baseline")
    build_baseline(path)
    return path


@pytest.fixture(scope="module")
def reference_of_store(store: Path) -> ReferencePerformance:
    perf = load_baseline(store / "store" / MODEL).performance
    assert perf is not None
    return perf


def _stream(seed: int, windows: int = 2, n: int = 1_000) -> Stream:
    rng = np.random.default_rng(seed)
    stream = Stream()
    for window in range(windows):
        stream.add_window(rng, window, n, messy=False)
    return stream


def _open_window(store: Path, payloads: list[bytes]) -> WindowState:
    engine = Engine([load_baseline(store / "store" / MODEL)], settings_with(policy=POLICY))
    engine.process(payloads, stream="s", close=False)
    (state,) = engine.streams["s"].windows[MODEL].values()
    return state


def test_every_prediction_is_counted_for_the_estimate_in_its_window(store: Path) -> None:
    stream = _stream(61, windows=1)
    state = _open_window(store, stream.window_payloads(0)[0])
    assert state.performance is not None
    assert state.performance.n_predicted == 1_000
    assert state.performance.n_labelled == 0  # labels come through the join


def test_the_prediction_state_survives_the_window_checkpoint_and_merges_exactly(
    store: Path,
) -> None:
    payloads = _stream(62, windows=1).window_payloads(0)[0]
    whole = _open_window(store, payloads)
    first, second = _open_window(store, payloads[:400]), _open_window(store, payloads[400:])
    merged = first.merge(second)
    restored = WindowState.from_bytes(merged.to_bytes())
    for state in (merged, restored):
        assert state.performance is not None
        assert whole.performance is not None
        assert state.performance.to_dict() == whole.performance.to_dict()


def test_a_prediction_outside_the_baseline_classes_is_not_counted_for_performance(
    store: Path,
) -> None:
    event = json.loads(_stream(63, windows=1).window_payloads(0)[0][0])
    event["prediction"] = {"score": None, "label": "maybe"}
    state = _open_window(store, [json.dumps(event).encode()])
    assert state.events == 1  # counted for drift
    assert state.performance is not None
    assert state.performance.n_predicted == 0


def test_decode_workers_count_the_same_performance_as_the_replay_alone(
    tmp_path: Path, store: Path
) -> None:
    stream = _stream(64, windows=3)
    predictions, outcomes = stream.write(tmp_path, np.random.default_rng(65))
    baseline = store / f"{MODEL}.baseline.json"
    alone = replay_report(tmp_path / "a", baseline, predictions, outcomes)
    workers = replay_report(
        tmp_path / "b", baseline, predictions, outcomes, extra_config="decode_workers: 2\n"
    )
    assert [w["performance"] for w in workers["windows"]] == [
        w["performance"] for w in alone["windows"]
    ]
    assert alone["windows"][0]["performance"]["estimated"]


def test_an_outcome_the_prediction_carries_counts_at_once(tmp_path: Path, store: Path) -> None:
    """Joined upstream: no outcome file, the pair is counted when the prediction is read."""
    stream = _stream(66, windows=1, n=500)
    carried = []
    truths = []
    for payload, joined in zip(stream.predictions, stream.joined[0], strict=True):
        event = json.loads(payload)
        event["outcome"] = "bad" if joined[0] else "good"
        truths.append(joined[0] == joined[1])
        carried.append(json.dumps(event).encode())
    predictions = tmp_path / "carried.jsonl"
    predictions.write_bytes(b"\n".join(carried) + b"\n")
    report = replay_report(tmp_path / "r", store / f"{MODEL}.baseline.json", predictions, None)
    performance = report["windows"][0]["performance"]
    assert performance["labels"]["n_labelled"] == 500
    assert performance["labels"]["label_delay_p95"] <= 1.0
    assert performance["realised"]["accuracy"] == sum(truths) / 500


def test_labelled_state_leaves_out_outcomes_that_are_no_class_and_round_trips(
    store: Path,
) -> None:
    reference = load_baseline(store / "store" / MODEL).performance
    assert reference is not None
    state = LabelledPerformance.empty(reference)
    state.add(
        reference,
        [{"score": 0.8, "label": "bad"}, {"score": 0.2, "label": "good"}, {"score": 0.4}],
        ["bad", "perhaps", "good"],
    )
    # The second's outcome is no class; the third lacks the predicted class the
    # baseline reads from `label`.
    assert state.n_labelled == 1
    assert state.unreadable == 2
    again = LabelledPerformance.from_raw(json.loads(json.dumps(state.to_raw())))
    assert again.to_raw() == state.to_raw()
    assert again.merge(state).n_labelled == 2


def test_a_regression_window_counts_errors_and_a_biased_model_is_a_finding(
    tmp_path: Path,
) -> None:
    """No estimate for regression (no scores); realised mae, rmse, mean_error when final."""
    rng = np.random.default_rng(71)
    x = rng.normal(size=3_000)
    data = tmp_path / "train.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "pred", "y"])
        for value, noise in zip(x, rng.normal(size=x.size) * 0.5, strict=True):
            writer.writerow([f"{value:.6f}", f"{2 * value:.6f}", f"{2 * value + noise:.6f}"])
    command = ["baseline", "build", "--model", "reg", "--data", str(data), "--output"]
    command += [str(tmp_path / "store"), "--outputs", "pred", "--target", "y"]
    assert main([*command, "--created-at", "2026-01-01T00:00:00Z"]) == 0
    baseline = load_baseline(tmp_path / "store" / "reg")
    settings = settings_with(policy=POLICY, outcomes={"horizon": "2d", "min_coverage": 0.99})
    store = PendingStore(None)
    engine = Engine([baseline], settings, wall_clock=None, outcome_store=store)
    predictions, outcomes, errors = [], [], []
    for i, value in enumerate(rng.normal(size=1_000)):
        bias = 0.6 if i >= 500 else 0.0  # the second window over-predicts
        ts = (i // 500) * 3600.0 + (i % 500) * 7.0
        truth = 2 * value + rng.normal() * 0.5
        event = {"model_id": "reg", "request_id": f"r{i}", "timestamp": ts}
        event |= {"features": {"x1": value}, "prediction": {"pred": 2 * value + bias}}
        predictions.append(json.dumps(event).encode())
        outcomes.append(
            json.dumps(
                {"model_id": "reg", "request_id": f"r{i}", "timestamp": ts + 60, "outcome": truth}
            ).encode()
        )
        errors.append(2 * value + bias - truth)
    closed = engine.process(predictions, stream="p")
    engine.process_outcomes(outcomes, stream="o")
    closed += engine.close_all()
    assert len(closed) == 2
    assert all(v.performance is not None and not v.performance.estimated for v in closed)
    finals = {p.window_index: p for _, p in engine.take_final_labels() if p is not None}
    store.close()
    assert sorted(finals) == [0, 1]
    for key in (0, 1):
        chunk = np.asarray(errors[key * 500 : (key + 1) * 500])
        realised = finals[key].realised
        assert realised["mae"] == pytest.approx(np.abs(chunk).mean(), rel=1e-12)
        assert realised["rmse"] == pytest.approx(np.sqrt((chunk**2).mean()), rel=1e-12)
        assert realised["mean_error"] == pytest.approx(chunk.mean(), rel=1e-12)
    assert not finals[0].findings
    assert {f.metric for f in finals[1].findings} >= {"mae", "mean_error"}
    assert finals[1].condition >= Tier.WARNING


def test_the_decoded_fast_path_reads_what_read_outputs_reads(store: Path) -> None:
    """Predicted classes from category codes and scores from numeric values equal the
    general reader's on the same decoded columns, unknown and missing values included."""
    baseline = load_baseline(store / "store" / MODEL)
    engine = Engine([baseline], settings_with(policy=POLICY))
    events = [json.loads(p) for p in _stream(67, windows=1, n=300).window_payloads(0)[0]]
    events[0]["prediction"]["label"] = "maybe"  # no class
    events[1]["prediction"].pop("label")  # missing
    events[2]["prediction"]["score"] = "high"  # mistyped score
    events[3]["prediction"].pop("score")
    decoded = engine.decoder.decode([json.dumps(e).encode() for e in events])
    (batch,) = decoded.models
    layout = engine.layouts[MODEL]
    perf = layout.baseline.performance
    assert perf is not None
    fast = decoded_classes(layout, perf, batch)
    assert fast is not None
    general = read_outputs(perf, decoded_outputs(layout, batch, (*perf.scores.values(), "label")))
    np.testing.assert_array_equal(fast[0], general.predicted)
    assert fast[1] is not None
    assert general.scores is not None
    np.testing.assert_array_equal(fast[1], general.scores)
    assert fast[0][:2].tolist() == [-1, -1]
    assert np.isnan(fast[1][2:4, 0]).all()


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.floats(0.0, 1.0), st.booleans(), st.booleans()), min_size=1, max_size=200
    ),
    cut=st.integers(0, 200),
)
def test_joined_pairs_in_any_batches_give_scikit_learns_count_metrics(
    reference_of_store: ReferencePerformance, rows: list[tuple[float, bool, bool]], cut: int
) -> None:
    """However the joined pairs are batched (and the batches merged), the counts are exact."""
    predictions = [{"score": s, "label": "bad" if p else "good"} for s, p, _ in rows]
    outcomes = ["bad" if t else "good" for _, _, t in rows]
    at = min(cut, len(rows))
    first = LabelledPerformance.empty(reference_of_store)
    first.add(reference_of_store, predictions[:at], outcomes[:at])
    second = LabelledPerformance.empty(reference_of_store)
    second.add(reference_of_store, predictions[at:], outcomes[at:])
    merged = first.merge(second)
    truth = [int(t) for _, _, t in rows]
    guess = [int(p) for _, p, _ in rows]
    metrics = realised_metrics(merged.state)
    assert metrics["accuracy"] == accuracy_score(truth, guess)
    assert metrics["precision"] == pytest.approx(
        precision_score(truth, guess, zero_division=0), abs=1e-12
    )
    assert metrics["recall"] == pytest.approx(
        recall_score(truth, guess, zero_division=0), abs=1e-12
    )
    assert metrics["f1"] == pytest.approx(f1_score(truth, guess, zero_division=0), abs=1e-12)
