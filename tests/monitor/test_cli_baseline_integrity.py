"""Bad, small, unsigned or edited baselines: exit 2 and one line on stderr, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftwarden.baselines.artifact import content_hash
from driftwarden.monitor.cli import main
from examples.synthetic import write_training_csv

CREATED = "2026-01-01T00:00:00Z"
Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("data")
    return {n: write_training_csv(root / f"train-{n}.csv", n, seed=5) for n in (40, 1_000)}


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "baseline.key"
    path.write_text("9f1c3a0e5b7d2f48a6c1e3b5d7f90a2c\n")
    return path


def _build(store: Path, data: Path, *extra: str) -> int:
    return main(
        [
            "baseline",
            "build",
            "--model",
            "credit-risk",
            "--data",
            str(data),
            "--output",
            str(store),
            "--created-at",
            CREATED,
            *extra,
        ]
    )


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the body and recompute the plain sha256: what an attacker without the key does."""
    document = json.loads(path.read_bytes())
    change(document["body"])
    document["content_sha256"] = content_hash(document["body"])
    path.chmod(0o644)
    path.write_text(json.dumps(document))


def _one_error_line(capsys: Capture) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("driftwarden: error: ")
    return lines[0]


def _replay(baseline: Path, tmp_path: Path, *extra: str) -> int:
    log = tmp_path / "events.jsonl"
    log.write_text("")
    dead = tmp_path / "dead-letter.jsonl"  # never the default ./dead-letter.jsonl
    return main(
        [
            *("replay", str(log), "--baseline", str(baseline)),
            *("--dead-letter", str(dead), "--quiet", *extra),
        ]
    )


def test_building_below_the_row_floor_is_refused_with_the_fix(
    tmp_path: Path, data: dict[int, Path], capsys: Capture
) -> None:
    assert _build(tmp_path, data[40]) == 2
    line = _one_error_line(capsys)
    assert "baseline 'credit-risk@1': 40 training rows, below the floor of 1,000" in line
    assert "pass --allow-few-rows" in line
    assert not (tmp_path / "credit-risk").exists()


def test_allow_few_rows_builds_with_a_loud_warning_and_the_artifact_loads(
    tmp_path: Path, data: dict[int, Path], capsys: Capture
) -> None:
    assert _build(tmp_path, data[40], "--allow-few-rows") == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: baseline 'credit-risk@1' is built from 40 rows")
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    assert json.loads(path.read_bytes())["body"]["few_rows_accepted"] is True
    assert main(["baseline", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "  rows         40 (below the floor of 1,000: built with --allow-few-rows)" in shown


def test_a_small_baseline_without_the_opt_in_is_refused_by_replay(
    tmp_path: Path, data: dict[int, Path], capsys: Capture
) -> None:
    _build(tmp_path, data[40], "--allow-few-rows")
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    _edit(path, lambda body: body.pop("few_rows_accepted"))
    capsys.readouterr()
    assert _replay(path, tmp_path) == 2
    assert "built from 40 training rows, below the floor of 1,000" in _one_error_line(capsys)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: b["columns"][0]["edges"].reverse(), "edges are not strictly increasing"),
        (lambda b: b["columns"][0]["counts"].append(0), "23 counts for 21 edges"),
        (lambda b: b["columns"][0].update(edges=[]), "'edges' is empty"),
        (lambda b: b["columns"].append(dict(b["columns"][0])), "the column is described twice"),
    ],
    ids=["reversed-edges", "counts-length", "empty-edges", "duplicate-column"],
)
def test_a_malformed_baseline_fails_replay_before_any_data_with_one_line(
    tmp_path: Path,
    data: dict[int, Path],
    capsys: Capture,
    change: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    _build(tmp_path, data[1_000])
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    _edit(path, change)
    capsys.readouterr()
    assert _replay(path, tmp_path) == 2
    line = _one_error_line(capsys)
    assert f"baseline 'credit-risk@1' ({path}) column 'amount': {problem}" in line
    assert "rebuild it with 'driftwarden baseline build'" in line


def test_nan_edges_are_one_line_not_a_traceback(
    tmp_path: Path, data: dict[int, Path], capsys: Capture
) -> None:
    _build(tmp_path, data[1_000])
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    text = path.read_text().replace('"edges": [', '"edges": [NaN, ', 1)
    path.chmod(0o644)
    path.write_text(text)
    capsys.readouterr()
    assert main(["baseline", "show", str(path)]) == 2
    assert "not valid JSON" in _one_error_line(capsys)


def test_signing_round_trip_through_build_show_and_replay(
    tmp_path: Path, data: dict[int, Path], key_file: Path, capsys: Capture
) -> None:
    assert _build(tmp_path, data[1_000], "--sign-key-file", str(key_file)) == 0
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    assert "hmac_sha256" in json.loads(path.read_bytes())
    assert main(["baseline", "show", str(path), "--verify-key-file", str(key_file)]) == 0
    assert _replay(path, tmp_path, "--verify-key-file", str(key_file)) == 0
    assert "9f1c3a0e" not in capsys.readouterr().out


def test_an_edited_signed_baseline_is_refused_by_replay_even_with_a_fresh_sha256(
    tmp_path: Path, data: dict[int, Path], key_file: Path, capsys: Capture
) -> None:
    _build(tmp_path, data[1_000], "--sign-key-file", str(key_file))
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    _edit(path, lambda b: b["columns"][0].update(mean=b["columns"][0]["mean"] + 1))
    capsys.readouterr()
    assert _replay(path, tmp_path) == 0  # without the key only the plain hash is checked
    assert _replay(path, tmp_path, "--verify-key-file", str(key_file)) == 2
    line = _one_error_line(capsys)
    assert "signature does not match the key in" in line
    assert "9f1c3a0e" not in line


def test_an_unsigned_baseline_is_refused_by_run_when_the_config_names_a_key(
    tmp_path: Path, data: dict[int, Path], key_file: Path, capsys: Capture
) -> None:
    _build(tmp_path, data[1_000])
    config = tmp_path / "config.yaml"
    config.write_text(
        f"baselines: [{tmp_path / 'credit-risk'}]\n"
        f"baseline_verify_key_file: {key_file}\n"
        "kafka: {bootstrap_servers: ['127.0.0.1:1'], bootstrap_timeout: 1s}\n"
        "metrics: {enabled: false}\n"
    )
    capsys.readouterr()
    assert main(["run", "--config", str(config)]) == 2
    line = _one_error_line(capsys)
    assert "is not signed, but a verify key is configured" in line
    assert "--sign-key-file" in line


def test_a_missing_sign_key_file_fails_the_build_before_reading_data(
    tmp_path: Path, data: dict[int, Path], capsys: Capture
) -> None:
    assert _build(tmp_path, data[1_000], "--sign-key-file", str(tmp_path / "absent")) == 2
    assert "baseline key file" in _one_error_line(capsys)
