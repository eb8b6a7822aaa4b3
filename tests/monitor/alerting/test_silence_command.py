"""`driftwarden silence add|list|expire` against a state directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftwarden.monitor.alerting.silences import SilenceStore
from driftwarden.monitor.alerting.store import DirectoryAlertStore
from driftwarden.monitor.cli import main


def test_add_list_expire_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["silence", "--state-dir", str(tmp_path)]
    assert (
        main(
            [
                *base,
                "add",
                "-m",
                'model="credit-risk"',
                "-m",
                'tier=~"warning|info"',
                "-d",
                "2h",
                "-c",
                "deploy in progress",
                "--author",
                "ana",
            ]
        )
        == 0
    )
    (silence,) = SilenceStore(DirectoryAlertStore(tmp_path)).all()
    assert silence.matchers == ('model="credit-risk"', 'tier=~"warning|info"')
    assert silence.ends_at - silence.starts_at == 7200
    capsys.readouterr()
    assert main([*base, "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "active"
    assert row["created_by"] == "ana"
    assert main([*base, "expire", silence.id[:8]]) == 0
    capsys.readouterr()
    assert main([*base, "list"]) == 0
    assert "no silences" in capsys.readouterr().out
    assert main([*base, "list", "--all"]) == 0
    assert "expired" in capsys.readouterr().out


def test_bad_matcher_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["silence", "--state-dir", str(tmp_path), "add", "-m", "model", "-d", "1h", "-c", "x"]
    )
    assert code == 2
    assert "matcher 'model' is not valid" in capsys.readouterr().err


def test_state_dir_comes_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"alerting:\n  state_directory: {tmp_path / 'state'}\n")
    assert (
        main(
            [
                "silence",
                "--config",
                str(config),
                "add",
                "-m",
                'model="m"',
                "--until",
                "2099-01-01T00:00:00Z",
                "-c",
                "x",
            ]
        )
        == 0
    )
    assert (tmp_path / "state" / "silences.json").exists()
