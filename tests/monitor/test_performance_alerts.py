"""Late realised performance reaches alerting once, through the next closing window.

A window's realised performance is judged when its labels are final, days
after the window closed; the model's realised tier track then joins the tier
of every window verdict at close until it clears (docs/verdicts.md, section 5),
so the alert opens once and is not paged again per late label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.alerting.pipeline import replay_pipeline
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.verdicts.narrative import what_happened
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from tests.monitor.factories import settings_with
from tests.monitor.performance_stream import MODEL, Stream, build_baseline

POLICY = {"window": {"size": "1h", "allowed_lateness": "0s"}, "significance": {"min_samples": 100}}


@pytest.fixture(scope="module")
def stream() -> Stream:
    rng = np.random.default_rng(51)
    stream = Stream()
    for window in range(2):
        stream.add_window(rng, window, 2_000, messy=False)
    for window in range(2, 8):
        stream.add_window(rng, window, 2_000, flip=0.2, messy=False)
    return stream


def _engine(tmp_path: Path) -> Engine:
    build_baseline(tmp_path)
    baseline = load_baseline(tmp_path / "store" / MODEL)
    settings = settings_with(
        policy=POLICY,
        outcomes={"horizon": "2d", "min_coverage": 0.99},
    )
    return Engine(
        [baseline], settings, wall_clock=None, outcome_store=PendingStore(tmp_path / "store.db")
    )


def test_realised_drop_reaches_the_next_window_verdicts_and_pages_once(
    tmp_path: Path, stream: Stream
) -> None:
    engine = _engine(tmp_path)
    pipeline = replay_pipeline(engine.settings)
    verdicts: list[WindowVerdict] = []
    titles: list[str] = []

    def close(predictions: list[bytes]) -> None:
        for verdict in engine.process(predictions, stream="p"):
            verdicts.append(verdict)
            for note in pipeline.observe(verdict):
                titles.extend(a.title for a in note.alerts)

    for window in range(5):  # windows 0..3 close; their outcomes come a day later
        close(stream.window_payloads(window)[0])
    assert [v.window_index for v in verdicts] == [0, 1, 2, 3]
    assert all(v.tier == Tier.NONE for v in verdicts), "concept drift: scores look the same"
    for window in range(4):
        engine.process_outcomes(stream.window_payloads(window)[1], stream="o")
    finals = [p for _, p in engine.take_final_labels() if p is not None]
    assert [p.window_index for p in finals] == [0, 1, 2, 3]
    assert [p.condition for p in finals] == [Tier.NONE, Tier.NONE, Tier.CRITICAL, Tier.CRITICAL]
    assert finals[-1].tier == Tier.CRITICAL  # sustained over two final windows
    assert engine.take_final_labels() == []  # judged once

    for window in range(5, 8):  # windows 4..6 close with the realised tier in them
        close(stream.window_payloads(window)[0])
    later = verdicts[4:]
    assert [v.window_index for v in later] == [4, 5, 6]
    assert all(v.tier == Tier.CRITICAL for v in later)
    performance = later[0].performance
    assert performance is not None
    assert "realised performance of window 3 (labels final): accuracy fell from" in (
        performance.what_happened
    )
    assert "performance (critical)" in what_happened(later[0])
    firing = [t for t in titles if t.startswith("[CRITICAL]")]
    assert firing, titles
    assert all("performance dropped" in t for t in firing)
    assert len(firing) == 1, f"one page for the incident, not one per window: {titles}"
    pipeline.close()
