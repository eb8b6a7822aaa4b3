"""Start-up imports what the command needs (docs/benchmarks.md, "Start-up"): a replay that
evaluates no window never loads scipy or river (about a second of imports), and they load at
the first window evaluated; a replay that sends no alert never loads httpx (an HTTP receiver
loads it), and one without --html never loads the page module; pydantic-settings loads only
when a DRIFTWARDEN_* variable is set, which it then reads; decode workers fork at the first
batch read, so an empty input forks none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from driftwarden.monitor.ingest.decode_pool import replay_workers

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "examples" / "baselines" / "credit-risk"
LOG = ROOT / "examples" / "logs" / "credit-risk-2026-01-05.jsonl.gz"

PROBE = """
import json, os, sys
from driftwarden.monitor.cli import main
forks = []
fork = os.fork
os.fork = lambda: forks.append(1) or fork()
code = main(sys.argv[1:])
deferred = ("scipy", "river", "httpx", "sqlite3")
deferred += ("driftwarden.monitor.page", "driftwarden.monitor.outcomes")
deferred += ("pydantic_settings", "dotenv", "multiprocessing")
loaded = sorted(m for m in sys.modules if m.startswith(deferred))
print(json.dumps({"code": code, "loaded": loaded, "forks": len(forks)}))
"""


def _replay(
    tmp_path: Path, log: Path, *options: str, env: dict[str, str] | None = None
) -> dict[str, object]:
    report = tmp_path / "report.json"
    command = [sys.executable, "-c", PROBE, "replay", "--baseline", str(BASELINE)]
    command += ["--report", str(report), *options, str(log)]
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("DRIFTWARDEN_")}
    environ.update(env or {})
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env=environ
    )
    assert result.returncode == 0, result.stderr
    probe: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return probe


def test_replay_of_an_empty_input_loads_no_statistics_http_client_page_or_settings_sources(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    probe = _replay(tmp_path, empty)
    assert probe == {"code": 0, "loaded": [], "forks": 0}  # no decode worker either


def test_a_replay_with_events_forks_its_decode_workers_at_the_first_batch(
    tmp_path: Path,
) -> None:
    assert _replay(tmp_path, LOG)["forks"] == replay_workers("auto")


def test_a_driftwarden_variable_loads_pydantic_settings_and_is_applied(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    probe = _replay(tmp_path, empty, env={"DRIFTWARDEN_POLICY__WINDOW__SIZE": "10m"})
    assert probe["code"] == 0
    assert "pydantic_settings" in probe["loaded"]  # type: ignore[operator]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["baselines"][0]["window"]["size"] == 600.0


def test_the_first_evaluated_window_loads_the_statistics(tmp_path: Path) -> None:
    loaded = _replay(tmp_path, LOG)["loaded"]
    assert isinstance(loaded, list)
    assert "scipy.special" in loaded
    assert "river.drift.page_hinkley" in loaded or "river.drift.adwin" in loaded


def test_a_replay_that_alerts_through_local_receivers_only_never_loads_httpx(
    tmp_path: Path,
) -> None:
    """The bundled example raises alerts; without --send-alerts only log and file deliver."""
    loaded = _replay(tmp_path, LOG, "--html", str(tmp_path / "page.html"))["loaded"]
    assert isinstance(loaded, list)
    assert not [m for m in loaded if m.startswith("httpx")]
    assert "driftwarden.monitor.page.render" in loaded


def test_building_an_http_receiver_loads_httpx() -> None:
    probe = """
import sys
from driftwarden.monitor.alerting.receivers import build_receiver
from driftwarden.monitor.config import DeliverySettings, WebhookReceiver
before = "httpx" in sys.modules
config = WebhookReceiver(name="hook", type="webhook", url="http://127.0.0.1:9/hook")
build_receiver(config, delivery=DeliverySettings()).close()
print(before, "httpx" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
