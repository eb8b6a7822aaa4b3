"""Prediction events for the pod tests: a timeline of calm and drifting windows.

Event times lie in the past (January 2026), so the pod works through them as fast as it
reads and the test never waits for a wall-clock window. A timeline is a string, one
letter per window: `C` calm, `D` drifting (a mean shift of `amount`, the same drift as
the daemon tests). It is produced in phases split at window boundaries; everything in a
phase but its last window closes while that phase is consumed (the last window's events
move the watermark past the earlier ones), and the final phase ends with one sentinel
event per partition three windows later, which closes all data windows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a boundary of every window size used here
PARTITIONS = 3


def write_baseline(directory: Path, model_id: str) -> Path:
    """The calibration baseline (the generator's training distributions) as `model_id`."""
    from bench.calibration import TRAINING_ROWS
    from driftwarden.baselines.build import build_baseline
    from driftwarden.baselines.schema import Schema
    from driftwarden.baselines.store import BaselineStore
    from examples import synthetic

    baseline = build_baseline(
        model_id,
        synthetic.training_table(TRAINING_ROWS, 1),
        Schema(outputs=frozenset(synthetic.OUTPUTS)),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="pod-test",
    )
    return BaselineStore(directory).write(baseline)


@dataclass(frozen=True)
class Timeline:
    """Windows of `window_seconds` with `per_window` events each on average, per model."""

    windows: dict[str, str]  # model id -> e.g. "CCCDDD"
    window_seconds: float
    per_window: int
    seed: int = 7

    def events(self, model_id: str, first: int, last: int) -> list[tuple[float, bytes]]:
        """(event time, payload) of windows [first, last) of one model."""
        from examples import synthetic

        out: list[tuple[float, bytes]] = []
        rate = self.per_window / self.window_seconds
        shift = synthetic.Drift(mean_shift={synthetic.NUMERIC_FEATURES[0]: 1.5})
        for index in range(first, last):
            letter = self.windows[model_id][index]
            start = START + index * self.window_seconds
            for event in synthetic.events(
                self.per_window,
                seed=self.seed * 1000 + index,
                start=start,
                rate_per_second=rate,
                drift=shift if letter == "D" else None,
                model_id=model_id,
            ):
                event["request_id"] = f"{model_id}-{index}-{event['request_id']}"
                when = _epoch(event["timestamp"])
                if when < start + self.window_seconds:  # arrivals are random: keep the window
                    out.append((when, json.dumps(event).encode()))
        return out

    def phase(self, first: int, last: int, *, final: bool) -> list[bytes]:
        """Payloads of windows [first, last) of every model in time order, plus, when
        `final`, one sentinel per model and partition three windows after the last
        (each model's watermark moves with its own events)."""
        timed = [e for model in sorted(self.windows) for e in self.events(model, first, last)]
        timed.sort(key=lambda pair: pair[0])
        payloads = [payload for _, payload in timed]
        if final:
            sentinel_time = START + (last + 3) * self.window_seconds + 1.0
            for model in sorted(self.windows):
                template = json.loads(self.events(model, 0, 1)[0][1])
                payloads.extend(
                    json.dumps(
                        {
                            **template,
                            "timestamp": _iso(sentinel_time),
                            "request_id": f"sentinel-{model}-{p}",
                        }
                    ).encode()
                    for p in range(PARTITIONS)
                )
        return payloads


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
