"""The replay benchmark's inputs: a seeded event log, the reference table and its baseline.

Everything is generated from `examples/synthetic.py` (the credit-risk model: 12
features, 2 outputs) and cached under the git-ignored `.cache/bench/`, keyed by
the parameters that shape it, so a rerun skips generation. Files are written to
a temporary name and renamed into place, so an interrupted run never leaves a
half-written file that a later run would trust.

The stream arrives at 10,000 / 300 events per second: with driftwarden's default
5-minute tumbling time windows (no config file), a window holds 10,000 events on
average. From half-way on, the stream drifts (a 0.5-sigma mean shift on `amount`
and a new `country` "XX" at 5%), so the side-by-side verdicts have something to
disagree about.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.calibration import make_baseline
from driftwarden.baselines.artifact import Baseline
from driftwarden.baselines.store import BaselineStore, load_baseline
from examples import synthetic

CACHE = Path(".cache/bench")
WINDOW_SECONDS = 300.0  # driftwarden's default time window (policy.window.size = 5m)
EVENTS_PER_WINDOW = 10_000
RATE = EVENTS_PER_WINDOW / WINDOW_SECONDS
START = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a window boundary
REFERENCE_ROWS = 100_000
REFERENCE_SEED = 1  # the seed bench.calibration.make_baseline uses
EVENT_SEED = 20_000  # never the reference's seed: live events are new draws
CHUNK = 250_000  # events generated per call of the generator
GENERATOR_VERSION = 1  # bump when the file layout or the drift below changes
DRIFT = synthetic.Drift(mean_shift={"amount": 0.5}, new_category={"country": ("XX", 0.05)})


@dataclass(frozen=True)
class EventLog:
    """One cached JSONL event file and how it was made."""

    events: int
    seed: int = EVENT_SEED
    drift_from: float = 0.5  # share of the stream (by time) before the drift starts

    @property
    def key(self) -> str:
        return (
            f"events-n{self.events}-seed{self.seed}-rate{RATE:.6g}-drift{self.drift_from:g}"
            f"-g{GENERATOR_VERSION}"
        )

    @property
    def path(self) -> Path:
        return CACHE / f"{self.key}.jsonl"

    @property
    def drift_start(self) -> float:
        """Epoch seconds from which events drift (a window boundary for the defaults)."""
        return START + self.events * self.drift_from / RATE

    def window_key(self, epoch: float) -> int:
        return int(np.floor(epoch / WINDOW_SECONDS))


def ensure_event_log(log: EventLog, *, echo: bool = True) -> tuple[Path, float | None]:
    """The log's path, generated first if missing; and the seconds generation took."""
    if log.path.exists():
        return log.path, None
    import time

    started = time.perf_counter()
    _write_atomic(log.path, _event_lines(log))
    seconds = time.perf_counter() - started
    if echo:
        size = log.path.stat().st_size
        print(f"generated {log.events:,} events ({size / 2**20:,.0f} MiB) in {seconds:.1f} s")
    return log.path, seconds


def _event_lines(log: EventLog) -> Iterator[bytes]:
    """JSON lines in chunks; each chunk starts one exponential gap after the last event."""
    encoder = msgspec.json.Encoder()
    start = START
    for index, first in enumerate(range(0, log.events, CHUNK)):
        count = min(CHUNK, log.events - first)
        rows = synthetic.events(
            count,
            seed=log.seed + index,
            start=start,
            rate_per_second=RATE,
            drift=DRIFT,
            drift_start_time=log.drift_start,
        )
        batch: list[bytes] = []
        last: dict[str, Any] = {}
        for i, row in enumerate(rows, start=first + 1):
            row["request_id"] = f"r-{i}"  # unique over the whole file, not per chunk
            batch.append(encoder.encode(row))
            if len(batch) == 8192:
                yield b"\n".join(batch) + b"\n"
                batch.clear()
            last = row
        if batch:
            yield b"\n".join(batch) + b"\n"
        gap = np.random.default_rng([log.seed, index]).exponential(1.0 / RATE)
        start = _epoch(last["timestamp"]) + float(gap)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        with tmp.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --- reference and baseline -------------------------------------------------------------


def reference_key() -> str:
    return f"reference-n{REFERENCE_ROWS}-seed{REFERENCE_SEED}-g{GENERATOR_VERSION}"


def ensure_baseline() -> tuple[Path, Baseline]:
    """The reference's baseline artifact (built in-process like bench.calibration)."""
    store = BaselineStore(CACHE / f"baselines-{reference_key()}")
    path = store.path_for(synthetic.MODEL_ID, 1)
    if not path.exists():
        store.write(make_baseline(seed=REFERENCE_SEED, rows=REFERENCE_ROWS))
    return path, load_baseline(path)


def ensure_reference_parquet() -> Path:
    """The same 100k reference rows as a Parquet table, for Evidently."""
    path = CACHE / f"{reference_key()}.parquet"
    if not path.exists():
        table = synthetic.training_table(REFERENCE_ROWS, REFERENCE_SEED)
        _write_parquet(path, {name: table[name].tolist() for name in synthetic.COLUMNS})
    return path


def _write_parquet(path: Path, columns: dict[str, list[Any]]) -> None:
    arrays = {}
    for name, values in columns.items():
        if name in synthetic.NUMERIC_FEATURES or name == "score":
            clean = [None if v is None or math.isnan(v) else float(v) for v in values]
            arrays[name] = pa.array(clean, type=pa.float64())
        else:
            arrays[name] = pa.array(values, type=pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    pq.write_table(pa.table(arrays), tmp)
    os.replace(tmp, path)


# --- windows as tables ------------------------------------------------------------------


class _Row(msgspec.Struct):
    timestamp: str
    features: dict[str, Any] = {}
    prediction: dict[str, Any] = {}


def sample_windows(log: EventLog, count: int) -> list[int]:
    """Window keys to compare with Evidently: half before the drift, half after."""
    first = log.window_key(START)
    drifted = log.window_key(log.drift_start)
    last = log.window_key(START + log.events / RATE) - 1  # the last window that is surely full
    before = list(range(first, drifted))[: count - count // 2]
    after = list(range(drifted, last))[: count // 2]
    return before + after


def ensure_window_tables(log: EventLog, keys: Sequence[int]) -> dict[int, Path]:
    """Each sampled window's events (read back from the JSONL file) as a Parquet table."""
    directory = CACHE / f"windows-{log.key}"
    paths = {k: directory / f"w{k}.parquet" for k in keys}
    missing = {k for k, p in paths.items() if not p.exists()}
    if not missing:
        return paths
    decode = msgspec.json.Decoder(_Row).decode
    rows: dict[int, list[_Row]] = {k: [] for k in missing}
    stop = max(missing)
    with log.path.open("rb") as handle:
        for line in handle:
            row = decode(line)
            key = log.window_key(_epoch(row.timestamp))
            if key in rows:
                rows[key].append(row)
            elif key > stop:
                break
    for key, members in rows.items():
        columns: dict[str, list[Any]] = {}
        for name in synthetic.FEATURES:
            columns[name] = [r.features.get(name) for r in members]
        for name in synthetic.OUTPUTS:
            columns[name] = [r.prediction.get(name) for r in members]
        _write_parquet(paths[key], columns)
    return paths
