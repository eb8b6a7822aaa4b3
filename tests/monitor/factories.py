"""Small hand-built baselines and events, so engine tests do not depend on the builder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from driftwarden.baselines.artifact import Baseline, CategoricalColumn, NumericColumn
from driftwarden.monitor.config import Settings


def numeric(
    name: str, *, role: str = "feature", n: int = 10_000, missing: int = 0
) -> NumericColumn:
    """Uniform on [0, 10] in ten bins of 1: easy to reason about by hand."""
    counts = np.zeros(12, dtype=np.int64)
    counts[1:11] = n // 10
    return NumericColumn(
        name=name,
        role=role,  # type: ignore[arg-type]
        edges=np.arange(11, dtype=np.float64),
        counts=counts,
        n=n,
        missing=missing,
        minimum=0.0,
        maximum=10.0,
        mean=5.0,
        std=10 / np.sqrt(12),
        quantiles={"p50": 5.0},
    )


def categorical(
    name: str,
    cats: tuple[str, ...] = ("a", "b", "c"),
    *,
    role: str = "feature",
    n: int = 10_000,
    other: bool = True,
) -> CategoricalColumn:
    """Equal shares over the categories (and the "other" bucket when `other`)."""
    share = n // (len(cats) + int(other))
    counts = [share] * len(cats) + [n - share * len(cats)]
    return CategoricalColumn(
        name=name,
        role=role,  # type: ignore[arg-type]
        categories=cats,
        counts=np.array(counts, dtype=np.int64),
        known_other=("rare1", "rare2"),
        n=n,
        missing=0,
    )


def make_baseline(model_id: str = "m", version: int = 1) -> Baseline:
    return Baseline(
        model_id=model_id,
        version=version,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="test",
        row_count=10_000,
        columns=(
            numeric("x"),
            categorical("c"),
            numeric("score", role="output"),
            categorical("label", ("approve", "decline"), role="output", other=False),
        ),
    )


def settings_with(**overrides: Any) -> Settings:
    """Settings from a dict, through the same loader users go through."""
    return Settings(**overrides)


def event(
    ts: float | str,
    *,
    model: str = "m",
    x: object = 5.5,
    c: object = "a",
    score: object = 5.5,
    label: object = "approve",
    extra: dict[str, object] | None = None,
) -> bytes:
    features: dict[str, object] = {"x": x, "c": c}
    if extra:
        features.update(extra)
    body = {
        "model_id": model,
        "timestamp": ts,
        "request_id": "r",
        "features": features,
        "prediction": {"score": score, "label": label},
    }
    return json.dumps(body).encode()


def uniform_events(
    rng: np.random.Generator, n: int, t0: float, rate: float = 10.0, shift: float = 0.0
) -> list[bytes]:
    xs = np.clip(rng.uniform(0, 10, n) + shift, 0, 10)
    cats = rng.choice(["a", "b", "c", "rare1"], n)
    return [
        event(
            t0 + i / rate,
            x=float(x),
            c=str(c),
            score=float(x),
            label="approve" if x < 5 else "decline",
        )
        for i, (x, c) in enumerate(zip(xs, cats, strict=True))
    ]


def write_lines(path: Path, lines: Iterable[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class RecordingSink:
    """A dead-letter sink that keeps (payload, reason, source) of every rejection."""

    def __init__(self) -> None:
        self.items: list[tuple[bytes, str, dict[str, Any]]] = []

    def write(self, payload: bytes, reason: str, source: Any) -> None:
        self.items.append((payload, reason, dict(source)))

    def flush(self) -> None:
        pass
