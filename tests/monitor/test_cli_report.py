"""`driftwarden report REPORT --html FILE` and `replay --html FILE`: the page of a report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.monitor.cli import main
from tests.monitor.factories import make_baseline, uniform_events, write_lines

CONFIG = """
policy:
  window: {size: 60s, allowed_lateness: 10s}
  significance: {min_samples: 50}
"""


@pytest.fixture
def replayed(tmp_path: Path) -> dict[str, Path]:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline()))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    rng = np.random.default_rng(4)
    events = uniform_events(rng, 600, t0=0.0) + uniform_events(rng, 600, t0=150.0, shift=4.0)
    log = write_lines(tmp_path / "log.jsonl", events)
    report, page = tmp_path / "report.json", tmp_path / "out" / "replay.html"
    args = ["replay", "--baseline", str(baseline), "--config", str(config)]
    code = main([*args, "--report", str(report), "--html", str(page), "--quiet", str(log)])
    assert code == 0
    return {"report": report, "page": page, "dir": tmp_path}


def test_replay_html_writes_the_page_beside_the_report(replayed: dict[str, Path]) -> None:
    page = replayed["page"].read_text()
    assert page.startswith("<!doctype html>")
    assert 'id="report-data"' in page


def test_report_command_draws_the_same_page_as_the_replay(
    replayed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    again = replayed["dir"] / "again.html"
    assert main(["report", str(replayed["report"]), "--html", str(again)]) == 0
    assert again.read_bytes() == replayed["page"].read_bytes()
    assert f"page written to {again}" in capsys.readouterr().out


def test_replay_html_without_report_still_writes_the_page(replayed: dict[str, Path]) -> None:
    folder = replayed["dir"]
    page = folder / "only.html"
    code = main(
        [
            "replay",
            "--baseline",
            str(folder / "m.baseline.json"),
            "--config",
            str(folder / "config.yaml"),
            "--html",
            str(page),
            "--quiet",
            str(folder / "log.jsonl"),
        ]
    )
    assert code == 0
    assert page.read_bytes() == replayed["page"].read_bytes()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("not json", "is not JSON"),
        ('{"a": 1}', "is not a driftwarden replay report"),
        ('{"schema": "driftwarden.replay-report/1"}', "has no histograms"),
    ],
)
def test_report_command_refuses_what_it_cannot_draw_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    source = tmp_path / "r.json"
    if content is not None:
        source.write_text(content)
    assert main(["report", str(source), "--html", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"driftwarden: error: report {source}: {problem}")
    assert "\n" not in err
    assert not (tmp_path / "p.html").exists()


def test_html_into_an_unwritable_place_is_refused_before_the_replay(
    replayed: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = replayed["dir"]
    code = main(
        [
            "replay",
            "--baseline",
            str(folder / "m.baseline.json"),
            "--html",
            str(folder),  # a directory
            str(folder / "log.jsonl"),
        ]
    )
    assert code == 2
    assert f"--html {folder}: cannot write it (it is a directory)" in capsys.readouterr().err
    assert json.loads(replayed["report"].read_text())["histograms"]
