"""`driftwarden replay`: bad input never stops it and is never silently dropped."""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from baselines.artifact import encode_artifact
from monitor.cli import main
from monitor.dead_letter import read_dead_letters
from tests.monitor.factories import event, make_baseline, uniform_events, write_lines

CONFIG = """
policy:
  window: {size: 60s, allowed_lateness: 10s}
  significance: {min_samples: 50}
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline()))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    rng = np.random.default_rng(4)
    events = uniform_events(rng, 1500, t0=0.0) + uniform_events(rng, 1500, t0=150.0, shift=4.0)
    log = write_lines(tmp_path / "log.jsonl", events)
    return {"baseline": baseline, "config": config, "log": log, "dir": tmp_path}


def replay(setup: dict[str, Path], *inputs: str, report: str = "report.json") -> tuple[int, dict]:  # type: ignore[type-arg]
    out = setup["dir"] / report
    code = main(
        [
            "replay",
            "--baseline",
            str(setup["baseline"]),
            "--config",
            str(setup["config"]),
            "--report",
            str(out),
            "--dead-letter",
            str(setup["dir"] / "dead.jsonl"),
            *inputs,
        ]
    )
    return code, json.loads(out.read_text())


def test_summary_names_the_drifted_columns(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = replay(setup, str(setup["log"]))
    assert code == 0
    out = capsys.readouterr().out
    assert "3,000 events read" in out
    assert "drifted columns" in out
    assert " x " in out
    drifted = {d["column"] for d in report["summary"]["drifted_columns"]}
    assert "x" in drifted
    assert "c" not in drifted
    assert report["counts"]["reconciles"] is True
    assert report["alerts"], "a critical episode must produce alerts that would be sent"


def test_rerunning_gives_a_byte_identical_report(setup: dict[str, Path]) -> None:
    replay(setup, str(setup["log"]), report="a.json")
    replay(setup, str(setup["log"]), report="b.json")
    assert (setup["dir"] / "a.json").read_bytes() == (setup["dir"] / "b.json").read_bytes()


def test_gzip_and_stdin_inputs_give_the_same_report_as_plain_files(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = setup["log"].read_bytes()
    gz = setup["dir"] / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(data, mtime=0))
    _, plain = replay(setup, str(setup["log"]), report="plain.json")
    _, packed = replay(setup, str(gz), report="gz.json")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    _, piped = replay(setup, "-", report="stdin.json")
    for report in (plain, packed, piped):
        report.pop("inputs")
    assert plain == packed == piped


def test_fail_on_exits_1_when_a_window_reaches_the_tier(setup: dict[str, Path]) -> None:
    code = main(
        [
            "replay",
            "--baseline",
            str(setup["baseline"]),
            "--config",
            str(setup["config"]),
            "--quiet",
            "--dead-letter",
            str(setup["dir"] / "dead.jsonl"),  # not the default, ./dead-letter.jsonl
            "--fail-on",
            "critical",
            str(setup["log"]),
        ]
    )
    assert code == 1


def test_mixed_garbage_is_rejected_with_reasons_and_nothing_is_lost(setup: dict[str, Path]) -> None:
    good = [event(i * 0.1) for i in range(600)]
    garbage = [
        b'{"model_id": "m", "timestamp": 1, "features": {"x": 1',  # truncated JSON
        bytes(range(256)).replace(b"\n", b""),  # binary
        b"\x00\x01\x02\xff\xfe",
        event(2, x="12.5"),  # numeric as string: accepted, type error counted
        event(3, x=True, c=[17.5]),  # bool numeric, list categorical: type errors
        b'{"model_id": "m", "timestamp": 4, "features": {"x": NaN, "c": "a"}}',
        b'{"model_id": "m", "timestamp": 5, "features": {"x": 1e999}}',
        b'{"model_id": "m", "timestamp": 6, "features": {"x": ' + b"9" * 500 + b"}}",
        event(7, model="fraud-v2"),  # unknown model
        event(8, model=""),
        b'{"model_id": "m", "timestamp": "not a time"}',
        b"[]",
        b'{"model_id": "m", "timestamp": 9, "features": {"x": 1, "c": "'
        + b"z" * (10 << 20)
        + b'"}}',
    ]
    tail = [event(200 + i * 0.1) for i in range(600)]
    late = [event(0.5)]  # its window closed once the tail moved the watermark past 60 s
    lines = good + garbage + tail + late
    log = write_lines(setup["dir"] / "garbage.jsonl", lines)

    code, report = replay(setup, str(log))
    assert code == 0
    counts = report["counts"]
    assert counts["read"] == len(lines)
    assert counts["read"] == counts["accepted"] + counts["rejected_total"]
    assert counts["rejected"] == {
        "invalid_json": 3,
        "missing_model_id": 1,
        "not_an_object": 1,
        "too_large": 1,
        "unknown_model": 1,
        "bad_timestamp": 1,
        "late": 1,
    }
    letters = list(read_dead_letters(setup["dir"] / "dead.jsonl"))
    assert Counter(d.reason for d in letters) == Counter(counts["rejected"])
    assert all(
        d.source.get("file") == str(log) and isinstance(d.source.get("line"), int) for d in letters
    )
    huge = next(d for d in letters if d.reason == "too_large")
    assert huge.source["line"] == len(good) + 13
    first_window = report["windows"][0]
    x = first_window["columns"][0]["statistics"]
    assert x["type_errors"] == 5  # "12.5", true, NaN, 1e999, 10**500-ish
    c = first_window["columns"][1]["statistics"]
    assert c["type_errors"] == 1


def test_a_truncated_gzip_is_reported_and_the_next_file_still_replays(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = setup["dir"] / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(setup["log"].read_bytes(), mtime=0)[:5000])
    later = write_lines(setup["dir"] / "later.jsonl", [event(1000 + i) for i in range(10)])
    code, report = replay(setup, str(broken), str(later))
    assert code == 0
    assert report["inputs"][0]["error"]
    assert report["inputs"][1]["lines"] == 10
    assert "stopped at line" in capsys.readouterr().out
    assert report["counts"]["reconciles"]


def test_no_baseline_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(tmp_path / "x.jsonl")])
    assert code == 2
    assert "--baseline" in capsys.readouterr().err


def test_report_matches_its_documented_json_schema(setup: dict[str, Path]) -> None:
    import jsonschema

    schema = json.loads(Path("docs/replay-report.schema.json").read_text())
    _, report = replay(setup, str(setup["log"]))
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
    assert report["windows"], "the schema must be exercised on real windows"
