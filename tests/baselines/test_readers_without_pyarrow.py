"""Without the optional pyarrow (the `parquet` extra), reading training data says which extra
to install, and the commands that never read training data keep working."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from driftwarden.baselines.errors import TrainingDataError
from driftwarden.monitor.cli import main

EXAMPLE_BASELINE = Path(__file__).parents[2] / "examples" / "baselines" / "credit-risk"


@pytest.fixture
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow as if not installed: `import pyarrow` raises ModuleNotFoundError."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.delitem(sys.modules, "driftwarden.baselines.readers", raising=False)


@pytest.mark.usefixtures("no_pyarrow")
def test_importing_the_readers_names_the_extra_to_install() -> None:
    with pytest.raises(TrainingDataError, match=r"pip install 'driftwarden\[parquet\]'"):
        importlib.import_module("driftwarden.baselines.readers")


@pytest.mark.usefixtures("no_pyarrow")
def test_baseline_build_fails_with_one_line_naming_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("amount\n1.0\n")
    code = main(
        ["baseline", "build", "--model", "m", "--output", str(tmp_path / "s"), "--data", str(data)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "driftwarden[parquet]" in err


@pytest.mark.usefixtures("no_pyarrow")
def test_baseline_show_needs_no_pyarrow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "show", str(EXAMPLE_BASELINE)]) == 0
    assert "credit-risk" in capsys.readouterr().out
