"""Builders for the outcome tests: an engine with the join on, and outcome events."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.outcomes.pending import PendingStore
from tests.monitor.factories import make_baseline, settings_with

HOUR = 3600.0
DAY = 86400.0
WINDOW = {"window": {"size": "1h", "allowed_lateness": "0s"}, "significance": {"min_samples": 5}}


class Recorder:
    """A dead-letter sink that keeps what it is given."""

    def __init__(self) -> None:
        self.items: list[tuple[bytes, str, dict[str, Any]]] = []

    def write(self, payload: bytes, reason: str, source: Mapping[str, str | int]) -> None:
        self.items.append((payload, reason, dict(source)))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.items]


def outcome_engine(
    directory: Path | None,
    *,
    sink: Recorder | None = None,
    outcomes: Mapping[str, Any] | None = None,
    policy: Mapping[str, Any] = WINDOW,
) -> tuple[Engine, PendingStore]:
    settings = settings_with(policy=dict(policy), outcomes={"horizon": "2d", **(outcomes or {})})
    store = PendingStore(directory)
    return (
        Engine([make_baseline()], settings, reject_sink=sink, wall_clock=None, outcome_store=store),
        store,
    )


def prediction(
    rid: str | int | None,
    ts: float,
    *,
    label: str = "approve",
    score: float = 0.3,
    outcome: object = None,
) -> bytes:
    body: dict[str, Any] = {
        "model_id": "m",
        "timestamp": ts,
        "features": {"x": 1.0, "c": "a"},
        "prediction": {"score": score, "label": label},
    }
    if rid is not None:
        body["request_id"] = rid
    if outcome is not None:
        body["outcome"] = outcome
    return json.dumps(body).encode()


def outcome(rid: object, ts: float, value: object = "approve", model: str = "m") -> bytes:
    return json.dumps(
        {"model_id": model, "request_id": rid, "timestamp": ts, "outcome": value}
    ).encode()


def labelled(engine: Engine) -> dict[int, tuple[int, int]]:
    """(n_predictions, n_labelled) per window: the open ones and those already final."""
    assert engine.outcomes is not None
    return {k: (w.n_predictions, w.n_labelled) for (_, k), w in engine.outcomes.windows.items()}


def feed(engine: Engine, payloads: Sequence[bytes], *, outcomes: bool, stream: str = "s") -> None:
    if outcomes:
        engine.process_outcomes(payloads, stream=stream)
    else:
        engine.process(payloads, stream=stream)
