"""Replay with decode workers gives exactly what replay in one process gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.monitor.cli import main
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.replay.runner import replay
from driftwarden.monitor.verdicts.record import window_record
from tests.monitor.factories import (
    RecordingSink,
    event,
    make_baseline,
    settings_with,
    uniform_events,
    write_lines,
)

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 50}}


def log_lines() -> list[bytes]:
    """Calm, then shifted; with garbage, a late event, a blank line and an over-long line."""
    rng = np.random.default_rng(8)
    lines = uniform_events(rng, 3000, t0=0.0) + uniform_events(rng, 3000, t0=300.0, shift=3.0)
    lines.insert(2500, b"{broken")
    lines.insert(4000, event(1.0))  # late
    lines.insert(4100, b"")
    lines.insert(5000, b'{"model_id": "m", "timestamp": 1, "x": "' + b"z" * 3000 + b'"}')
    lines.insert(5500, event(550.0, c="never-seen", x="7"))
    return lines


def run_cli(tmp_path: Path, log: Path, workers: int) -> tuple[bytes, bytes]:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline()))
    config = tmp_path / f"config-{workers}.yaml"
    config.write_text(
        json.dumps(
            {"policy": POLICY, "decode_workers": workers, "events": {"max_event_bytes": 2000}}
        )
    )
    report, dead = tmp_path / f"report-{workers}.json", tmp_path / f"dead-{workers}.jsonl"
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
            str(dead),
            "--quiet",
            str(log),
        ]
    )
    assert code == 0
    text = json.loads(report.read_text())
    text.pop("config")  # the config file path: the one intended difference
    letters = [json.loads(line) for line in dead.read_bytes().splitlines()]
    for letter in letters:
        letter.pop("time")  # when it was written
    return json.dumps(text, sort_keys=True).encode(), json.dumps(letters).encode()


def test_the_cli_report_and_dead_letters_are_the_same_with_and_without_workers(
    tmp_path: Path,
) -> None:
    log = write_lines(tmp_path / "log.jsonl", log_lines())
    alone = run_cli(tmp_path, log, 0)
    assert run_cli(tmp_path, log, 2) == alone
    report = json.loads(alone[0])
    assert report["counts"]["rejected"] == {"invalid_json": 1, "late": 1, "too_large": 1}


def replayed(log: Path, *, workers: int, kill: bool = False) -> tuple[bytes, list[Any], list[Any]]:
    sink = RecordingSink()
    engine = Engine([make_baseline()], settings_with(policy=POLICY), reject_sink=sink)
    pool = None
    if workers:
        pool = start_decode_pool(engine, workers)
    try:
        if kill and pool is not None:
            for process in pool._processes:
                process.kill()
                process.join()
        result = replay(engine, [str(log)], batch_size=500, pool=pool)
    finally:
        if pool is not None:
            pool.close()
    return engine.snapshot(), [window_record(v) for v in result.verdicts], sink.items


def test_workers_that_die_lose_nothing_the_replay_decodes_in_process(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "log.jsonl", log_lines())
    alone = replayed(log, workers=0)
    assert replayed(log, workers=2) == alone
    assert replayed(log, workers=2, kill=True) == alone
