"""bench.scale_out's bookkeeping: what it counts as merged, and how it reads an RSS series.

The benchmark's verdict (every event merged exactly once, RSS flat) rests on these two
pure parts; the run itself is in docs/benchmarks.md (`uv run python -m bench.scale_out`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.scale_out import MergedVerdicts, rss_summary


def _line(window: int, events: int, model: str = "m") -> bytes:
    return json.dumps({"model_id": model, "window_index": window, "events": events}).encode()


def test_merged_total_counts_each_window_once_with_its_last_record(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(_line(1, 10) + b"\n" + _line(2, 20) + b"\n")
    b.write_bytes(_line(2, 20) + b"\n")  # judged again by a new merger: the same window
    merged = MergedVerdicts([a, b, tmp_path / "missing.jsonl"], below=100)
    assert merged.total() == 30
    assert merged.records == 3
    assert merged.by_path == {a: 2, b: 1}


def test_merged_total_leaves_out_the_sentinels_window_and_a_line_still_being_written(
    tmp_path: Path,
) -> None:
    log = tmp_path / "verdicts.jsonl"
    log.write_bytes(_line(1, 10) + b"\n" + _line(5, 12) + b"\n" + _line(2, 7)[:9])
    merged = MergedVerdicts([log], below=5)
    assert merged.total() == 10
    with log.open("ab") as handle:
        handle.write(_line(2, 7)[9:] + b"\n")
    assert merged.total() == 17  # read on from where it stopped, the line now complete


def _samples(rss: list[float], events: int) -> list[dict[str, Any]]:
    step = events / (len(rss) - 1)
    return [{"consumed": [i * step], "rss_mib": [r]} for i, r in enumerate(rss)]


def test_rss_summary_reports_the_shares_the_maximum_and_the_slope_after_warm_up() -> None:
    # 11 samples over 1M events: warm-up to 300 MiB, then +10 MiB per 100k events.
    rss = [100.0, 300.0, *(300.0 + 10.0 * i for i in range(1, 10))]
    (summary,) = rss_summary(_samples(rss, 1_000_000), 1_000_000)
    assert summary["at"] == {"10%": 300.0, "50%": 340.0, "90%": 380.0, "100%": 390.0}
    assert summary["max"] == 390.0
    assert summary["slope"] == pytest.approx(100.0)  # MiB per million events


def test_rss_summary_of_a_flat_series_has_no_slope() -> None:
    (summary,) = rss_summary(_samples([50.0, *[200.0] * 10], 5_000_000), 5_000_000)
    assert summary["slope"] == pytest.approx(0.0)
