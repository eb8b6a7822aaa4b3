"""A wide replay for the HTML page: 20 columns x 1,000 windows, through the real CLI.

The page's budget (issue 15) is stated for 1,000 windows x 20 columns, so this
makes exactly that with the real path: a seeded training table of a made-up
model `wide` (14 numeric features, 4 categorical features, a numeric `score`
and a categorical `label` output), its baseline built and stored by the real
builder, JSON-lines events in 1,000 count windows, and `driftwarden replay
--report --html`. From window 600 on the stream drifts (a 0.6-sigma shift of
`f00`, a new `c0` category at 8%, `f01` missing 6% more often), so the strip
and the over-time charts have something to show.

The browser test (`tests/monitor/page/test_page_browser.py`) and the benchmark
(`bench/html_page.py`) both use it; the benchmark also hands the same rows to
Evidently.
"""

from __future__ import annotations

import gzip
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.store import BaselineStore

MODEL_ID = "wide"
NUMERIC = tuple(f"f{i:02d}" for i in range(14))
CATEGORICAL = ("c0", "c1", "c2", "c3")
OUTPUTS = ("score", "label")
CATEGORIES = {
    "c0": tuple(f"k{i}" for i in range(12)),
    "c1": ("web", "mobile", "branch", "partner"),
    "c2": ("a", "b", "c", "d", "e", "f", "g"),
    "c3": ("x", "y"),
}
LABELS = ("approve", "review", "decline")
REFERENCE_ROWS = 20_000
START = 1_767_571_200.0  # 2026-01-05T00:00:00Z
CONFIG = """\
policy:
  window: {kind: count, size: %d}
  significance: {min_samples: %d}
"""


@dataclass(frozen=True)
class WideRun:
    """What `make_inputs` wrote: the baseline directory, the events and the config."""

    baseline: Path
    events: Path
    config: Path
    windows: int
    window_events: int


def table(n: int, seed: int, *, drift_from: int | None = None) -> dict[str, npt.NDArray[Any]]:
    """`n` rows of the `wide` model; rows from index `drift_from` on are drifted."""
    rng = np.random.default_rng(seed)
    columns: dict[str, npt.NDArray[Any]] = {}
    for i, name in enumerate(NUMERIC):
        if i % 3 == 0:
            values = rng.normal(10.0 * i, 1.0 + i, n)
        elif i % 3 == 1:
            values = rng.lognormal(3.0, 0.6, n)
        else:
            values = rng.integers(0, 20 + i, n).astype(np.float64)
        columns[name] = values
    for name in CATEGORICAL:
        choices = CATEGORIES[name]
        weights = 1.0 / np.arange(1, len(choices) + 1)
        columns[name] = rng.choice(np.array(choices, dtype=object), n, p=weights / weights.sum())
    if drift_from is not None and drift_from < n:
        tail = slice(drift_from, n)
        columns["f00"][tail] += 0.6 * 1.0
        new = rng.random(n - drift_from) < 0.08
        columns["c0"][tail][new] = "k-new"
        missing = rng.random(n - drift_from) < 0.06
        columns["f01"][tail][missing] = np.nan
    signal = (columns["f00"] - 0.0) / 1.0 + 0.2 * (columns["c0"] == "k0")
    score = 1.0 / (1.0 + np.exp(-(signal + rng.normal(0.0, 0.5, n))))
    columns["score"] = score
    columns["label"] = np.array(LABELS, dtype=object)[np.digitize(score, [0.45, 0.6])]
    return columns


def make_inputs(
    folder: Path, *, windows: int = 1_000, window_events: int = 120, drift_at: int = 600
) -> WideRun:
    """Write the baseline, the events (JSONL.gz) and the config under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = table(REFERENCE_ROWS, seed=1)
    baseline = build_baseline(
        MODEL_ID,
        reference,
        Schema(outputs=OUTPUTS),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="bench",
    )
    shutil.rmtree(folder / "baselines", ignore_errors=True)  # versions are immutable
    store = BaselineStore(folder / "baselines")
    store.write(baseline)
    n = windows * window_events
    rows = table(n, seed=2, drift_from=drift_at * window_events)
    times = START + np.arange(n) * 0.5
    events = folder / "events.jsonl.gz"
    encoder = msgspec.json.Encoder()
    features = NUMERIC + CATEGORICAL
    lists = {name: _cells(rows[name]) for name in (*features, *OUTPUTS)}
    with gzip.open(events, "wb", compresslevel=1) as out:
        for k in range(n):
            event = {
                "model_id": MODEL_ID,
                "timestamp": float(times[k]),
                "features": {name: lists[name][k] for name in features},
                "prediction": {name: lists[name][k] for name in OUTPUTS},
            }
            out.write(encoder.encode(event) + b"\n")
    config = folder / "driftwarden.yaml"
    config.write_text(CONFIG % (window_events, window_events // 2))
    return WideRun(folder / "baselines" / MODEL_ID, events, config, windows, window_events)


def _cells(values: npt.NDArray[Any]) -> list[Any]:
    """JSON values: floats with NaN as null (missing), strings as they are."""
    if values.dtype.kind == "f":
        return [None if math.isnan(v) else float(v) for v in values.tolist()]
    return list(values.tolist())


def replay_command(run: WideRun, report: Path, page: Path) -> list[str]:
    """The `driftwarden replay` arguments that write the report and its page."""
    return [
        "replay",
        "--config",
        str(run.config),
        "--baseline",
        str(run.baseline),
        "--report",
        str(report),
        "--html",
        str(page),
        "--quiet",
        str(run.events),
    ]
