"""A generated replay report of any size, through the real report code, in seconds.

The page's budget is stated for 1,000 windows x 20 columns. Replaying that many
windows evaluates every one with scipy (a minute on a busy machine; the benchmark
`bench/html_page.py` does exactly that); the page only needs the report. So here
the verdicts are made directly, from counts drawn from the baseline's own bins
(a shift on `f00`, a new `c0` category and, on the outputs, a tilt from window
`drift_at` on) with PSI computed by the real detector, and written by the real
`ReportBuilder` and `write_report`: the report has exactly the shape and size a
replay writes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from bench.wide_report import MODEL_ID, OUTPUTS, START, table
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.schema import Schema
from driftwarden.detectors.counts import Histogram
from driftwarden.detectors.psi import psi
from driftwarden.monitor.config import Settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.replay.report import ReportBuilder, write_report
from driftwarden.monitor.replay.runner import ReplayResult
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import ColumnStatistics, ColumnVerdict, WindowVerdict

EVENTS = 200
DRIFTED = ("f00", "c0", "score", "label")


def generated_report(
    path: Path, *, windows: int = 1_000, drift_at: int = 600, seed: int = 7
) -> Path:
    """Write a report of `windows` windows of the 20-column `wide` model to `path`."""
    baseline = build_baseline(
        MODEL_ID,
        table(5_000, seed=1),
        Schema(outputs=OUTPUTS),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="test",
    )
    engine = Engine([baseline], Settings(), wall_clock=None)
    layout = engine.layouts[MODEL_ID]
    rng = np.random.default_rng(seed)
    previous = Tier.NONE
    with tempfile.TemporaryFile() as spool:
        builder = ReportBuilder(spool)
        for i in range(windows):
            columns = []
            for slot in layout.columns:
                shares = slot.reference / slot.reference.sum()
                if i >= drift_at and slot.name in DRIFTED:
                    shares = np.roll(shares, 1) * 0.7 + shares * 0.3
                counts = rng.multinomial(EVENTS, shares)
                known = slot.known_slots
                value = psi(Histogram.of(slot.reference[known]), Histogram.of(counts[known]))
                tier = Tier.CRITICAL if value.statistic >= 0.25 else Tier.NONE
                columns.append(
                    ColumnVerdict(
                        column=slot.name,
                        role=slot.role,
                        kind=slot.kind,
                        tier=tier,
                        condition=tier,
                        statistics=ColumnStatistics(
                            n_current=EVENTS,
                            n_reference=int(slot.reference.sum()),
                            missing=0,
                            type_errors=0,
                            psi=value.statistic,
                            drift_p_value_adjusted=float(np.exp(-value.statistic * EVENTS)),
                            missing_rate=float(rng.random() * 0.01),
                            out_of_range_rate=0.0 if slot.kind == "numeric" else None,
                            new_category_rate=None if slot.kind == "numeric" else 0.0,
                        ),
                        counts=tuple(counts.tolist()),
                    )
                )
            model_tier = max(c.tier for c in columns)
            start = START + i * 60.0
            builder.add(
                WindowVerdict(
                    model_id=MODEL_ID,
                    baseline_version=1,
                    window_index=i,
                    window_start=start,
                    window_end=start + 60.0,
                    events=EVENTS,
                    tier=model_tier,
                    previous_tier=previous,
                    columns=tuple(columns),
                    traffic_affected=0.0,
                    outputs_moved=False,
                    min_samples=EVENTS // 2,
                )
            )
            previous = model_tier
        header = builder.header(
            engine, ReplayResult(), alerts=[], config_source=None, driftwarden_version="test"
        )
        spool.seek(0)
        with path.open("wb") as out:
            write_report(out, header, spool)
    return path
