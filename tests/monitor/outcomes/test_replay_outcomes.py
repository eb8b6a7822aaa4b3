"""`driftwarden replay --outcomes`: outcome files joined, every outcome in the report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.monitor.cli import main
from driftwarden.monitor.ingest.dead_letter import read_dead_letters
from tests.monitor.factories import make_baseline, write_lines
from tests.monitor.outcomes.outcome_factories import DAY, HOUR, outcome, prediction

CONFIG = """
policy:
  window: {size: 1h, allowed_lateness: 0s}
  significance: {min_samples: 5}
outcomes:
  horizon: 2d
"""


def run_replay(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline()))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
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
            str(tmp_path / "dead.jsonl"),
            *args,
        ]
    )
    return code, json.loads(report.read_text())


def test_replay_joins_outcome_files_and_accounts_for_every_outcome(tmp_path: Path) -> None:
    predictions = write_lines(
        tmp_path / "p.jsonl", [prediction(f"r{i}", i * 60.0) for i in range(240)]
    )
    late = [outcome(f"r{i}", i * 60.0 + DAY) for i in range(0, 240, 2)]  # every other one
    first = write_lines(tmp_path / "o1.jsonl", late[:60])
    second = tmp_path / "o2.jsonl.gz"
    with gzip.open(second, "wb") as handle:
        handle.write(b"\n".join([*late[60:], late[0], outcome("ghost", DAY + HOUR), b"{x"]) + b"\n")
    code, report = run_replay(
        tmp_path, str(predictions), "--outcomes", str(first), "--outcomes", str(second)
    )
    assert code == 0
    counts = report["outcomes"]["counts"]
    assert counts["read"] == 123
    assert counts["joined"] == 120
    assert counts["rejected"] == {"duplicate": 1, "unknown_request": 1, "invalid_json": 1}
    assert counts["reconciles"]
    windows = report["outcomes"]["windows"]
    assert [(w["window"], w["n_predictions"], w["n_labelled"]) for w in windows] == [
        (0, 60, 30),
        (1, 60, 30),
        (2, 60, 30),
        (3, 60, 30),
    ]
    assert all(w["label_delay_p50"] >= DAY for w in windows)
    assert all(w["label_coverage"] == 0.5 for w in windows)
    assert all("match_rate" not in w for w in windows)  # realised metrics need --target
    reasons = sorted(r.reason for r in read_dead_letters(tmp_path / "dead.jsonl"))
    assert reasons == ["duplicate", "invalid_json", "unknown_request"]
    schema = json.loads(Path("docs/replay-report.schema.json").read_text())
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


def test_the_outcomes_section_alone_turns_the_join_on(tmp_path: Path) -> None:
    """Predictions that carry their outcome need no outcome file."""
    predictions = write_lines(tmp_path / "p.jsonl", [prediction("r", 1.0, outcome="approve")])
    code, report = run_replay(tmp_path, str(predictions))
    assert code == 0
    assert report["outcomes"]["counts"]["joined"] == 1
    assert report["outcomes"]["counts"]["predictions_stored"] == 1
