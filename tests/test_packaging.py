"""The wheel, as a user gets it: built from this tree, installed into a fresh venv, it holds
one import package, `driftwarden`, whose CLI runs and whose types mypy reads.

The build maps the repository's top-level `monitor/`, `detectors/` and `baselines/` under
`driftwarden` (pyproject.toml); these tests catch a mapping that works in the editable
checkout but not in the wheel. One module-scoped venv serves every test (~10-30 s, from the
uv cache: the runtime dependencies are the locked ones, exported from uv.lock).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.components import require_component

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    bin: Path


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH and no active venv: the fresh venv must stand on its own."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    uv = os.environ.get("UV")
    if not uv:
        require_component("uv", "UV is not set; run the tests with `$UV run pytest`")
    work = tmp_path_factory.mktemp("wheel")
    _run([uv, "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)], cwd=ROOT)
    (wheel,) = (work / "dist").glob("driftwarden-*.whl")
    requirements = work / "requirements.txt"
    requirements.write_text(
        _run(
            [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"],
            cwd=ROOT,
        )
    )
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "--python", str(python), "-r", str(requirements), str(wheel)],
        cwd=work,
        env=_clean_env(),
    )
    return Installed(wheel=wheel, python=python, bin=venv / "bin")


def _wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (record,) = (n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        rows = csv.reader(io.StringIO(archive.read(record).decode()))
        return [row[0] for row in rows if row]


def test_the_wheel_installs_driftwarden_as_its_only_top_level_package(
    installed: Installed,
) -> None:
    files = _wheel_files(installed.wheel)
    top = {name.split("/")[0] for name in files if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"driftwarden"}
    assert not [name for name in files if name.endswith(".pth")]
    for part in ("monitor", "detectors", "baselines"):
        assert f"driftwarden/{part}/__init__.py" in files
    for module in ("api", "errors", "version"):
        assert f"driftwarden/{module}.py" in files


def test_the_wheel_ships_py_typed(installed: Installed) -> None:
    assert "driftwarden/py.typed" in _wheel_files(installed.wheel)


def test_the_wheel_ships_the_report_pages_script_and_styles(installed: Installed) -> None:
    """`driftwarden report --html` reads them as package resources."""
    files = _wheel_files(installed.wheel)
    assert {"driftwarden/monitor/page/page.js", "driftwarden/monitor/page/page.css"} <= set(files)


def test_import_driftwarden_gives_the_version_from_the_installed_wheel(
    installed: Installed, tmp_path: Path
) -> None:
    code = (
        "import driftwarden, driftwarden.monitor.cli as cli; "
        "print(driftwarden.__version__); print(cli.__file__)"
    )
    version, location = _run(
        [str(installed.python), "-c", code], cwd=tmp_path, env=_clean_env()
    ).split()
    assert version == installed.wheel.name.split("-")[1]
    assert Path(location).is_relative_to(installed.python.parents[1])


def test_the_console_script_runs_from_the_venv(installed: Installed, tmp_path: Path) -> None:
    out = _run([str(installed.bin / "driftwarden"), "--version"], cwd=tmp_path, env=_clean_env())
    assert out.strip() == f"driftwarden {installed.wheel.name.split('-')[1]}"


USES_THE_API = """\
import numpy as np

import driftwarden
from driftwarden.detectors import TestResult, psi


def tier_of(train: dict[str, np.ndarray], window: dict[str, np.ndarray]) -> {tier}:
    baseline = driftwarden.build_baseline(train, model_id="m", outputs=["score"])
    result: driftwarden.Comparison = driftwarden.compare(baseline, window)
    return result.tier


def statistic(result: TestResult) -> float:
    return result.statistic


def shift() -> float:
    return psi([50, 30, 20], [30, 30, 40]).statistic
"""


def test_mypy_strict_reads_the_installed_packages_types(
    installed: Installed, tmp_path: Path
) -> None:
    """A user's typed code against the installed wheel: the API and detectors are typed."""
    good = tmp_path / "good.py"
    good.write_text(USES_THE_API.format(tier="str"))
    bad = tmp_path / "bad.py"
    bad.write_text(USES_THE_API.format(tier="int"))
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    mypy += ["--python-executable", str(installed.python)]
    env = _clean_env()
    _run([*mypy, str(good)], cwd=tmp_path, env=env)
    wrong = subprocess.run(
        [*mypy, str(bad)], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert wrong.returncode == 1
    assert 'Incompatible return value type (got "str", expected "int")' in wrong.stdout


def test_the_library_api_runs_from_the_installed_wheel_without_pandas(
    installed: Installed, tmp_path: Path
) -> None:
    code = (
        "import sys, numpy as np, driftwarden\n"
        "rng = np.random.default_rng(1)\n"
        "b = driftwarden.build_baseline({'x': rng.normal(0, 1, 2000)})\n"
        "r = driftwarden.compare(b, {'x': rng.normal(3, 1, 500)})\n"
        "print(r.tier, r.drifting, 'pandas' in sys.modules)\n"
    )
    out = _run([str(installed.python), "-c", code], cwd=tmp_path, env=_clean_env())
    assert out.split() == ["critical", "['x']", "False"]
