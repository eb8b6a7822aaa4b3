"""A seeded synthetic prediction stream with outcomes, for the window performance tests.

A logistic model (`tests.support.classifiers.LogisticWorld`) scores requests;
its baseline is built with `--target` from 5,000 reference rows. `Stream`
writes a prediction file (hourly windows) and an outcome file whose outcomes
come minutes to a day late, shuffled (out of order), with repeats, unknown
request ids and some past the horizon, and remembers which rows should join,
so a test can compute the expected metrics with scikit-learn on exactly those.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.cli import main
from tests.support.classifiers import LogisticWorld

MODEL = "credit-risk"
HOUR = 3600.0
DAY = 86400.0
HORIZON = 2 * DAY
CREATED = "2026-01-01T00:00:00Z"


def build_baseline(tmp_path: Path, *, rows: int = 5_000, seed: int = 4) -> Path:
    """A baseline with a performance section (target `defaulted`, positive class `bad`)."""
    rng = np.random.default_rng(seed)
    world = LogisticWorld()
    x, labels, scores = _sample(world, rng, rows)
    data = tmp_path / "train.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "score", "label", "defaulted"])
        for i in range(rows):
            writer.writerow(
                [
                    f"{x[i, 0]:.6f}",
                    f"{x[i, 1]:.6f}",
                    f"{scores[i]:.6f}",
                    _name(scores[i] >= 0.5),
                    _name(bool(labels[i])),
                ]
            )
    store = tmp_path / "store"
    command = ["baseline", "build", "--model", MODEL, "--data", str(data), "--output", str(store)]
    command += ["--outputs", "score,label", "--created-at", CREATED]
    assert main([*command, "--target", "defaulted", "--positive-class", "bad"]) == 0
    artifact = tmp_path / f"{MODEL}.baseline.json"
    artifact.write_bytes(encode_artifact(load_baseline(store / MODEL)))
    return artifact


def _name(bad: bool) -> str:
    return "bad" if bad else "good"


def _sample(
    world: LogisticWorld, rng: np.random.Generator, n: int, *, flip: float = 0.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Features, labels and scores as `LogisticWorld` draws them (features kept)."""
    x = rng.normal(size=(n, 2))
    logit = x @ np.asarray(world.weights) + world.bias
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    if flip:
        labels = np.where(rng.random(n) < flip, 1 - labels, labels)
    scores = np.round(1.0 / (1.0 + np.exp(-logit)), 6)
    return x, labels, scores


@dataclass
class Stream:
    """Predictions and outcomes written to files, and what each window should count."""

    predictions: list[bytes] = field(default_factory=list)
    outcomes: list[bytes] = field(default_factory=list)
    joined: dict[int, list[tuple[int, int, float]]] = field(default_factory=dict)
    """Per window: (true class, predicted class, score) of every outcome that should join."""
    expected_rejected: dict[str, int] = field(default_factory=dict)
    spans: dict[int, tuple[slice, slice]] = field(default_factory=dict)
    """Per window: its slice of `predictions` and of `outcomes`."""

    def window_payloads(self, window: int) -> tuple[list[bytes], list[bytes]]:
        predictions, outcomes = self.spans[window]
        return self.predictions[predictions], self.outcomes[outcomes]

    def add_window(
        self,
        rng: np.random.Generator,
        window: int,
        n: int,
        *,
        flip: float = 0.0,
        messy: bool = True,
        labelled_share: float = 1.0,
    ) -> None:
        x, labels, scores = _sample(LogisticWorld(), rng, n, flip=flip)
        start = window * HOUR
        times = start + np.sort(rng.uniform(0, HOUR - 1, size=n))
        rows = self.joined.setdefault(window, [])
        first = (len(self.predictions), len(self.outcomes))
        for i in range(n):
            rid = f"w{window}-r{i}"
            self.predictions.append(_prediction(rid, float(times[i]), x[i], float(scores[i])))
            truth = _name(bool(labels[i]))
            if (messy and i % 50 == 7) or i >= labelled_share * n:  # never labelled
                continue
            if messy and i % 97 == 11:  # after the horizon: outcome_too_late
                self.outcomes.append(_outcome(rid, float(times[i]) + HORIZON + HOUR, truth))
                self._reject("outcome_too_late")
                continue
            delay = float(rng.uniform(60.0, DAY))  # minutes to a day
            self.outcomes.append(_outcome(rid, float(times[i]) + delay, truth))
            rows.append((int(labels[i]), int(scores[i] >= 0.5), float(scores[i])))
            if messy and i % 41 == 3:  # delivered twice: the first counts
                self.outcomes.append(_outcome(rid, float(times[i]) + delay + 5.0, truth))
                self._reject("duplicate")
        if messy:
            self.outcomes.append(_outcome(f"ghost-{window}", start + HOUR / 2, "bad"))
            self._reject("unknown_request")
        self.spans[window] = (
            slice(first[0], len(self.predictions)),
            slice(first[1], len(self.outcomes)),
        )

    def _reject(self, reason: str) -> None:
        self.expected_rejected[reason] = self.expected_rejected.get(reason, 0) + 1

    def write(self, tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path]:
        """The outcome file in time order, shuffled within runs of 500 lines (out of
        order by hours, as a real feed is, never by a whole horizon)."""
        predictions = tmp_path / "predictions.jsonl"
        predictions.write_bytes(b"\n".join(self.predictions) + b"\n")
        ordered = sorted(self.outcomes, key=lambda o: float(json.loads(o)["timestamp"]))
        shuffled: list[bytes] = []
        for start in range(0, len(ordered), 500):
            run = ordered[start : start + 500]
            shuffled.extend(run[i] for i in rng.permutation(len(run)))
        outcomes = tmp_path / "outcomes.jsonl"
        outcomes.write_bytes(b"\n".join(shuffled) + b"\n")
        return predictions, outcomes


def _prediction(rid: str, ts: float, x: npt.NDArray[np.float64], score: float) -> bytes:
    body: dict[str, Any] = {
        "model_id": MODEL,
        "request_id": rid,
        "timestamp": ts,
        "features": {"x1": float(x[0]), "x2": float(x[1])},
        "prediction": {"score": score, "label": _name(score >= 0.5)},
    }
    return json.dumps(body).encode()


def _outcome(rid: str, ts: float, value: str) -> bytes:
    return json.dumps(
        {"model_id": MODEL, "request_id": rid, "timestamp": ts, "outcome": value}
    ).encode()


CONFIG = """
policy:
  window: {size: 1h, allowed_lateness: 0s}
  significance: {min_samples: 100}
outcomes:
  horizon: 2d
  min_coverage: 0.99
"""


def replay_report(
    tmp_path: Path,
    baseline: Path,
    predictions: Path,
    outcomes: Path | None,
    *,
    extra_config: str = "",
    extra_args: tuple[str, ...] = (),
    exit_code: int = 0,
) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG + extra_config)
    report = tmp_path / "report.json"
    code = main(
        [
            "replay",
            "--baseline",
            str(baseline),
            "--config",
            str(config),
            "--report",
            str(report),
            "--dead-letter",
            str(tmp_path / "dead.jsonl"),
            str(predictions),
            *(() if outcomes is None else ("--outcomes", str(outcomes))),
            *extra_args,
        ]
    )
    assert code == exit_code
    doc: dict[str, Any] = json.loads(report.read_text())
    return doc
