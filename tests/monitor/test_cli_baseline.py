"""`driftwarden baseline build|show|list`, run in-process through `monitor.cli.main`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from driftwarden.baselines.artifact import decode_artifact
from driftwarden.monitor.cli import main
from examples.synthetic import write_training_csv

CREATED = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_training_csv(tmp_path_factory.mktemp("data") / "train.csv", 1_000, seed=11)


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
            "--outputs",
            "score,label",
            "--created-at",
            CREATED,
            *extra,
        ]
    )


def _modify_one_digit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b'"mean": ') + len(b'"mean": ')
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def test_build_writes_the_first_version_and_prints_path_and_summary(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _build(tmp_path, train_csv, "--label", "data_version=2026-01", "--label", "sha=abc")
    out = capsys.readouterr().out.splitlines()
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    assert code == 0
    assert out == [
        f"wrote {path}",
        f"credit-risk@1: 1,000 rows from 1 file, 12 features, 2 outputs, created {CREATED}",
    ]
    baseline = decode_artifact(path.read_bytes(), source=str(path))
    assert dict(baseline.labels) == {"data_version": "2026-01", "sha": "abc"}
    assert [c.name for c in baseline.outputs] == ["score", "label"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_building_again_writes_the_next_version(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _build(tmp_path, train_csv) == 0
    assert _build(tmp_path, train_csv, "--bins", "10", "--top-k", "5") == 0
    assert "credit-risk@2" in capsys.readouterr().out
    second = json.loads((tmp_path / "credit-risk" / "v0002.baseline.json").read_text())
    amount = next(c for c in second["body"]["columns"] if c["name"] == "amount")
    country = next(c for c in second["body"]["columns"] if c["name"] == "country")
    assert len(amount["edges"]) == 11
    assert len(country["categories"]) == 5


def test_an_explicit_version_that_exists_is_refused(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _build(tmp_path, train_csv, "--version", "3") == 0
    before = (tmp_path / "credit-risk" / "v0003.baseline.json").read_bytes()
    capsys.readouterr()
    assert _build(tmp_path, train_csv, "--version", "3", "--bins", "5") == 2
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error: baseline 'credit-risk@3' already exists")
    assert "immutable" in err
    assert "(v4)" in err
    assert (tmp_path / "credit-risk" / "v0003.baseline.json").read_bytes() == before


def test_the_same_build_time_gives_byte_identical_artifacts(
    tmp_path: Path, train_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    args = ["baseline", "build", "--model", "m", "--data", str(train_csv)]
    assert main([*args, "--output", str(tmp_path / "a")]) == 0
    assert main([*args, "--output", str(tmp_path / "b")]) == 0
    first = (tmp_path / "a" / "m" / "v0001.baseline.json").read_bytes()
    assert first == (tmp_path / "b" / "m" / "v0001.baseline.json").read_bytes()
    assert b'"created_at": "2026-01-01T00:00:00Z"' in first


def test_show_prints_provenance_and_one_row_per_column(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path, train_csv, "--label", "data_version=2026-01")
    capsys.readouterr()
    assert main(["baseline", "show", str(tmp_path / "credit-risk")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "baseline credit-risk@1"
    assert f"created      {CREATED}" in lines[1]
    assert "source       train.csv  1,000 rows  sha256 " in out
    assert "label        data_version=2026-01" in out
    header = next(line for line in lines if line.startswith("column"))
    assert header.split() == ["column", "kind", "role", "missing", "summary"]
    rows = {line.split()[0]: line for line in lines[lines.index(header) + 1 :]}
    assert len(rows) == 14
    assert rows["amount"].split()[1:3] == ["numeric", "feature"]
    assert "p50" in rows["amount"]
    assert "20 bins" in rows["amount"]
    assert rows["label"].split()[1:3] == ["categorical", "output"]
    assert "approve" in rows["label"]
    assert "%" in rows["country"]


def test_show_refuses_a_modified_artifact_naming_the_file_and_the_fix(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path, train_csv)
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    _modify_one_digit(path)
    capsys.readouterr()
    assert main(["baseline", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "hash mismatch" in err
    assert "driftwarden baseline build" in err


def test_show_refuses_a_truncated_artifact(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path, train_csv)
    path = tmp_path / "credit-risk" / "v0001.baseline.json"
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    capsys.readouterr()
    assert main(["baseline", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "truncated" in err


def test_show_of_a_missing_path_exits_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline", "show", str(tmp_path / "nope.baseline.json")]) == 2
    assert "driftwarden baseline build" in capsys.readouterr().err


def test_list_prints_models_and_versions(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path, train_csv, "--label", "data_version=2026-01")
    _build(tmp_path, train_csv)
    capsys.readouterr()
    assert main(["baseline", "list", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "credit-risk"
    assert lines[1].split() == ["v0001", CREATED, "1,000", "rows", "data_version=2026-01"]
    assert lines[2].split() == ["v0002", CREATED, "1,000", "rows"]


def test_list_flags_a_corrupt_artifact_and_exits_1(
    tmp_path: Path, train_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _build(tmp_path, train_csv)
    _modify_one_digit(tmp_path / "credit-risk" / "v0001.baseline.json")
    capsys.readouterr()
    assert main(["baseline", "list", str(tmp_path)]) == 1
    assert "v0001  UNREADABLE: baseline 'credit-risk@1'" in capsys.readouterr().out


def test_list_of_an_empty_or_missing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline", "list", str(tmp_path)]) == 0
    assert "no baselines" in capsys.readouterr().out
    assert main(["baseline", "list", str(tmp_path / "absent")]) == 2
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "oops"], "is not KEY=VALUE"),
        (["--label", "a=1", "--label", "a=2"], "given twice"),
        (["--outputs", "scroe"], "'scroe' but the training data has no such column"),
    ],
)
def test_bad_build_options_exit_2_with_one_line(
    tmp_path: Path,
    train_csv: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    assert _build(tmp_path, train_csv, *extra) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "credit-risk").exists() or not any((tmp_path / "credit-risk").iterdir())


def test_an_unknown_data_format_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "train.xlsx"
    data.write_bytes(b"")
    assert _build(tmp_path / "store", data) == 2
    assert "train.xlsx: unknown training data format" in capsys.readouterr().err


def test_baseline_without_an_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline"]) == 2
    assert "build" in capsys.readouterr().err


def test_argument_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            ["baseline", "build", "--model", "m", "--data", "x.csv", "--output", "o", "--bins", "0"]
        )
    assert exc.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
