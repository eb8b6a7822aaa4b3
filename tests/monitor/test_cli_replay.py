"""`driftwarden replay`: bad input is never silently dropped, and its gate never passes
without evidence."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.monitor.cli import main
from driftwarden.monitor.ingest.dead_letter import read_dead_letters
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


def test_a_truncated_gzip_is_an_error_and_the_next_file_still_replays(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = setup["dir"] / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(setup["log"].read_bytes(), mtime=0)[:5000])
    later = write_lines(setup["dir"] / "later.jsonl", [event(1000 + i) for i in range(10)])
    code, report = replay(setup, str(broken), str(later))
    assert code == 2, "an input cut short is an error, after the rest was replayed"
    assert report["inputs"][0]["error"]
    assert report["inputs"][1]["lines"] == 10
    out, err = capsys.readouterr()
    assert "stopped at line" in out
    assert "broken.jsonl.gz could not be read past line" in err
    assert report["counts"]["reconciles"]


def test_no_baseline_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_lines(tmp_path / "x.jsonl", [event(1)])
    code = main(["replay", str(log)])
    assert code == 2
    assert "--baseline" in capsys.readouterr().err


def test_report_matches_its_documented_json_schema(setup: dict[str, Path]) -> None:
    import jsonschema

    schema = json.loads(Path("docs/replay-report.schema.json").read_text())
    _, report = replay(setup, str(setup["log"]))
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
    assert report["windows"], "the schema must be exercised on real windows"


# --- the CI gate and its exit codes ---------------------------------------------------


def gate(
    setup: dict[str, Path], *inputs: str, tier: str = "warning", config: Path | None = None
) -> tuple[int, str]:
    """A --fail-on run, --quiet as a CI job runs it: (exit code, driftwarden's own lines)."""
    code = main(
        [
            "replay",
            "--baseline",
            str(setup["baseline"]),
            "--config",
            str(config or setup["config"]),
            "--quiet",
            "--fail-on",
            tier,
            *inputs,
        ]
    )
    return code, ""


def own_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("driftwarden:")]


def calm_log(setup: dict[str, Path]) -> Path:
    rng = np.random.default_rng(7)
    return write_lines(setup["dir"] / "calm.jsonl", uniform_events(rng, 3000, t0=0.0))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no events read: the input"),
        (b"\n\n", "holds only blank lines"),
        (b"hello\nthis is a plain text file\n", "the input is not JSON lines"),
        (
            b"\n".join(event(i, model="fraud-v2") for i in range(200)),
            "the events name 'fraud-v2' but the baselines are for 'm'",
        ),
        (
            b"\n".join(event(i * 2.0) for i in range(300)),  # 30 events a 60 s window
            "m: 10 windows below min_samples 50 (30 events each); lower "
            "policy.significance.min_samples or use longer windows",
        ),
    ],
    ids=["empty", "blank", "text", "all-rejected", "all-below-min-samples"],
)
def test_the_gate_never_passes_without_evidence(
    setup: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    reason: str,
) -> None:
    monkeypatch.chdir(setup["dir"])
    log = setup["dir"] / "input.jsonl"
    log.write_bytes(content)
    code, _ = gate(setup, str(log))
    assert code == 3
    lines = own_lines(capsys.readouterr().err)
    assert len(lines) == 1, lines
    assert "--fail-on warning: no evidence: " in lines[0]
    assert reason in lines[0]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "absent.jsonl", "absent.jsonl: no such file; check the path"),
        (lambda d: d, "is a directory; pass the log files in it"),
        (
            lambda d: (d / "plain.jsonl.gz").write_bytes(event(1)) and d / "plain.jsonl.gz",
            "is not gzip data although its name ends in .gz",
        ),
        (
            lambda d: (
                (d / "packed.jsonl").write_bytes(gzip.compress(event(1))) and d / "packed.jsonl"
            ),
            "is gzip data but its name does not end in .gz; rename it",
        ),
    ],
    ids=["missing", "directory", "not-gzip", "gzip-without-gz"],
)
def test_an_input_that_cannot_be_read_is_an_error_before_anything_is_written(
    setup: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    make: Any,
    reason: str,
) -> None:
    bad = make(setup["dir"])
    report = setup["dir"] / "never.json"
    code = main(
        [
            "replay",
            "--baseline",
            str(setup["baseline"]),
            "--report",
            str(report),
            "--fail-on",
            "warning",
            str(setup["log"]),
            str(bad),
        ]
    )
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"driftwarden: error: input {bad}")
    assert reason in err
    assert not report.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_input_is_an_error(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    setup["log"].chmod(0)
    assert main(["replay", "--baseline", str(setup["baseline"]), str(setup["log"])]) == 2
    assert "cannot be read (Permission denied); check its permissions" in capsys.readouterr().err


def test_the_gate_passes_only_when_windows_were_evaluated_and_calm(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = gate(setup, str(calm_log(setup)), tier="info")
    assert code == 0
    assert own_lines(capsys.readouterr().err) == []


def test_a_tripped_gate_names_the_window_columns_and_tier(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = gate(setup, str(setup["log"]), tier="critical")
    assert code == 1
    (line,) = own_lines(capsys.readouterr().err)
    assert line.startswith("driftwarden: --fail-on critical: m window ")
    assert line.endswith("reached critical (score critical, x critical)")
    assert "1970-01-01T00:03:00Z to 1970-01-01T00:04:00Z" in line  # the first critical window


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    out = capsys.readouterr().out
    for code, meaning in [("0", "done"), ("1", "reached the tier"), ("2", "error"), ("3", "no")]:
        assert any(
            line.strip().startswith(code) and meaning in line for line in out.splitlines()
        ), (code, meaning)


def test_quiet_prints_nothing_for_a_calm_run_nor_for_a_drifting_one(
    setup: dict[str, Path],
) -> None:
    """In a process of its own, as a user runs it: the alert log lines of a drifting
    replay go to stderr unless --quiet silences them."""
    calm = calm_log(setup)
    for log, code in [(calm, 0), (setup["log"], 0)]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "driftwarden.monitor.cli",
                "replay",
                "--baseline",
                str(setup["baseline"]),
                "--config",
                str(setup["config"]),
                "--quiet",
                str(log),
            ],
            capture_output=True,
            cwd=setup["dir"],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (code, b"", b"")
    _, report = replay(setup, str(setup["log"]))
    assert report["alerts"], "the drifting run must have had alert log lines to hide"
    assert not (setup["dir"] / "dead-letter.jsonl").exists()


# --- what the summary says ------------------------------------------------------------


def test_the_summary_says_why_windows_were_not_evaluated(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(setup["dir"] / "thin.jsonl", [event(i * 2.0) for i in range(300)])
    code, report = replay(setup, str(log))
    assert code == 0, "without --fail-on, no evidence is said, not failed"
    out = capsys.readouterr().out
    assert (
        "! not evaluated: m: 10 windows below min_samples 50 (30 events each); lower "
        "policy.significance.min_samples or use longer windows (policy.window.size)"
    ) in out
    assert "no column drifted" not in out
    assert "no window was evaluated" in out
    (model,) = report["summary"]["by_model"]
    assert model == {
        "model_id": "m",
        "windows": 10,
        "windows_evaluated": 0,
        "min_samples": 50,
        "unevaluated_events": {"min": 30, "max": 30},
    }


def test_the_tier_prose_agrees_with_the_alerts(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A column is said to be critical from the window its tier became critical, which
    is when the critical alert fires: not from its first (info) window."""
    _, report = replay(setup, str(setup["log"]))
    out = capsys.readouterr().out
    x = next(d for d in report["summary"]["drifted_columns"] if d["column"] == "x")
    first = {}
    for window in report["windows"]:
        tier = next(c["tier"] for c in window["columns"] if c["column"] == "x")
        first.setdefault(tier, window["end"])
    assert x["max_tier"] == "critical"
    assert x["tier_since"]["critical"] == first["critical"]
    assert x["tier_since"]["info"] == first["info"] < first["critical"]
    critical_alert = next(
        a for a in report["alerts"] if any("[CRITICAL]" in b["title"] for b in a["alerts"])
    )
    assert critical_alert["created_at"] == first["critical"]
    hh = first["info"].partition("T")[2]
    assert f"critical from {first['critical']} (info from {hh})" in out


def test_replay_alerts_say_replay_not_production_unless_configured(
    setup: dict[str, Path],
) -> None:
    _, report = replay(setup, str(setup["log"]))
    titles = [b["title"] for a in report["alerts"] for b in a["alerts"]]
    assert titles
    assert all("(replay)" in t for t in titles)
    setup["config"].write_text(CONFIG + "environment: staging\n")
    _, report = replay(setup, str(setup["log"]), report="staging.json")
    titles = [b["title"] for a in report["alerts"] for b in a["alerts"]]
    assert titles
    assert all("(staging)" in t for t in titles)


def test_outputs_sent_as_a_baselines_features_are_named_with_the_fix(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The trap: training columns score and label built as features, then sent as outputs."""
    features_only = make_baseline()
    features_only = dataclasses.replace(
        features_only,
        columns=tuple(dataclasses.replace(c, role="feature") for c in features_only.columns),
    )
    setup["baseline"].write_bytes(encode_artifact(features_only))
    _, report = replay(setup, str(setup["log"]))
    (warning,) = report["summary"]["warnings"]
    assert warning == (
        "m: events carry 'label', 'score' under 'prediction' but baseline m@1 describes them "
        "as features, so every window counts them missing; rebuild the baseline with "
        "--outputs label,score"
    )
    assert f"! {warning}" in capsys.readouterr().out


# --- where rejected events go ---------------------------------------------------------


def test_rejected_events_go_beside_the_report_rewritten_each_run(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(setup["dir"])
    log = write_lines(setup["dir"] / "some-bad.jsonl", [*[event(i) for i in range(10)], b"{"])
    args = ["replay", "--baseline", str(setup["baseline"]), "--report", "out/r.json", str(log)]
    for _ in range(2):
        assert main(args) == 0
    letters = list(read_dead_letters(setup["dir"] / "out" / "r.dead-letter.jsonl"))
    assert [d.reason for d in letters] == ["invalid_json"], "rewritten, not appended"
    assert "rejected events written to out/r.dead-letter.jsonl" in capsys.readouterr().out
    assert not (setup["dir"] / "dead-letter.jsonl").exists()


def test_without_a_report_rejected_events_are_counted_and_the_summary_says_so(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(setup["dir"])
    log = write_lines(setup["dir"] / "some-bad.jsonl", [*[event(i) for i in range(10)], b"{"])
    assert main(["replay", "--baseline", str(setup["baseline"]), str(log)]) == 0
    assert "1 rejected event not kept: pass --dead-letter FILE" in capsys.readouterr().out
    assert list(setup["dir"].glob("*dead-letter*")) == []


def test_events_of_models_without_a_baseline_are_named_in_the_summary(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    other = [event(i, model="fraud-v2") for i in range(5)]
    log = write_lines(setup["dir"] / "mixed.jsonl", [*other, setup["log"].read_bytes().strip()])
    code, report = replay(setup, str(log))
    assert code == 0
    assert report["summary"]["unknown_models_seen"] == ["fraud-v2"]
    assert (
        "! 5 events name models without a baseline (seen: 'fraud-v2'); pass their baselines "
        "with --baseline to judge them too"
    ) in capsys.readouterr().out


def test_a_pipe_is_read_whole_not_peeked_at(setup: dict[str, Path]) -> None:
    """`replay <(zcat log.gz)` hands over a pipe: checking it must not eat its first bytes."""
    fifo = setup["dir"] / "pipe"
    os.mkfifo(fifo)
    data = setup["log"].read_bytes()

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    code, report = replay(setup, str(fifo))
    writer.join()
    assert code == 0
    assert report["counts"]["read"] == report["counts"]["accepted"] == 3000


def test_the_gate_wants_evidence_for_every_baseline_it_was_given(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    second = setup["dir"] / "m2.baseline.json"
    second.write_bytes(encode_artifact(make_baseline("m2")))
    code = main(
        [
            *("replay", "--baseline", str(setup["baseline"]), "--baseline", str(second)),
            *("--config", str(setup["config"]), "--quiet", "--fail-on", "critical"),
            str(calm_log(setup)),
        ]
    )
    assert code == 3
    (line,) = own_lines(capsys.readouterr().err)
    assert line.endswith(
        "no evidence: m2: none of the 3,000 accepted events is for this model; pass only the "
        "baselines of the models in these logs"
    )


def test_the_report_directory_is_made_and_an_unwritable_report_is_refused_up_front(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = replay(setup, str(setup["log"]), report="new/dir/report.json")
    assert code == 0
    assert report["windows"]
    blocker = setup["dir"] / "a-file"
    blocker.write_text("")
    capsys.readouterr()
    code = main(
        [
            *("replay", "--baseline", str(setup["baseline"])),
            *("--report", str(blocker / "report.json"), str(setup["log"])),
        ]
    )
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"driftwarden: error: --report {blocker / 'report.json'}: cannot write")


def test_a_window_too_small_to_judge_says_so_with_the_fix_in_its_record(
    setup: dict[str, Path],
) -> None:
    log = write_lines(setup["dir"] / "thin.jsonl", [event(i * 2.0) for i in range(60)])
    _, report = replay(setup, str(log))
    what = report["windows"][0]["what_happened"]
    assert what.endswith(
        "(30 events, baseline m@1): not evaluated, fewer events than min_samples 50; lower "
        "policy.significance.min_samples or use longer windows (policy.window.size)"
    )
