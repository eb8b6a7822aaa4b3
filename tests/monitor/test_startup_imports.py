"""Start-up imports what the command needs: a replay that evaluates no window never loads
scipy or river (about a second of imports; docs/benchmarks.md, "Start-up"), and they load
at the first window evaluated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "examples" / "baselines" / "credit-risk"
LOG = ROOT / "examples" / "logs" / "credit-risk-2026-01-05.jsonl.gz"

PROBE = """
import json, sys
from driftwarden.monitor.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "river"))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _replay(tmp_path: Path, log: Path) -> dict[str, object]:
    report = tmp_path / "report.json"
    command = [sys.executable, "-c", PROBE, "replay", "--baseline", str(BASELINE)]
    command += ["--report", str(report), str(log)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    probe: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return probe


def test_replay_of_an_empty_input_loads_neither_scipy_nor_river(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    probe = _replay(tmp_path, empty)
    assert probe == {"code": 0, "loaded": []}


def test_the_first_evaluated_window_loads_the_statistics(tmp_path: Path) -> None:
    loaded = _replay(tmp_path, LOG)["loaded"]
    assert isinstance(loaded, list)
    assert "scipy.special" in loaded
    assert "river.drift.page_hinkley" in loaded or "river.drift.adwin" in loaded
