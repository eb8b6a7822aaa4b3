"""`driftwarden run` with its alert state on a full disk keeps consuming and recovers.

The alert state directory is a tiny tmpfs filled to the last byte. The daemon
must keep reading and windowing (read == every event produced), still deliver
the page from memory, report the failed writes (`alert_state_write_failed`),
and write the state once space returns (`alert_state_write_recovered`, an
`alerting-state.json` holding the open incident). Mounting needs root; without
it the test skips (fails in CI, like every missing component).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.monitor.alerting.alert_fakes import Answer, LocalServer
from tests.support.daemon import (
    DaemonProcess,
    daemon_config,
    produce,
    synthetic_stream,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker
from tests.support.tmpfs import mounted_tmpfs

pytestmark = pytest.mark.kafka


def fill(directory: Path) -> Path:
    """Write zeros until the filesystem is full, down to the last byte; returns the filler."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.mark.timeout(240)
def test_a_full_alert_state_disk_degrades_and_recovers_without_stopping_consumption(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    hook = LocalServer(Answer(status=200, body=b"ok"))
    try:
        with mounted_tmpfs(tmp_path / "alert-state", 256 * 1024) as state_dir:
            _run(
                kafka_broker=kafka_broker,
                topic=topic,
                group_id=group_id,
                tmp_path=tmp_path,
                state_dir=state_dir,
                hook=hook,
                note_timing=note_timing,
            )
    finally:
        hook.close()


def _run(
    *,
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    state_dir: Path,
    hook: LocalServer,
    note_timing: Callable[[str], None],
) -> None:
    filler = fill(state_dir)
    with pytest.raises(OSError, match="No space left"):
        (state_dir / "probe").write_bytes(b"x" * 8192)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(30_000, seed=11, rate_per_second=100.0, drift_from=0.3)
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={
            "decode_workers": 0,
            "policy": {"trend": {"enabled": False}},
            "alerting": {
                "state_directory": str(state_dir),
                "receivers": [{"name": "hook", "type": "webhook", "url": f"{hook.url}/hook"}],
                "route": {"receiver": "hook", "group_by": ["model"], "group_wait": "0s"},
            },
        },
    )
    produce(kafka_broker.bootstrap, topic, stream.payloads)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_for_event("alert_state_write_failed", timeout=90)
        daemon.wait_until("a page delivered from memory", lambda: bool(hook.requests), 60)
        failed = daemon.find("alert_state_write_failed")
        assert failed is not None
        assert failed["error"].startswith("ENOSPC"), failed
        assert daemon.proc.poll() is None, "the daemon died on a full disk"
        filler.unlink()  # space returns
        daemon.wait_for_event("alert_state_write_recovered", timeout=60)
        state = json.loads((state_dir / "alerting-state.json").read_bytes())
        assert state["lifecycle"]["incidents"], "the open incident was not written"
        read = 0.0
        deadline = time.monotonic() + 90
        while read < len(stream.payloads) and time.monotonic() < deadline:
            read = sum(
                float(line.rsplit(" ", 1)[1])
                for line in daemon.metrics().splitlines()
                if line.startswith("driftwarden_events_consumed_total{")
            )
            time.sleep(0.2)
        assert read == len(stream.payloads), f"consumed {read} of {len(stream.payloads)}"
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()
    failures = [e for e in daemon.events() if e.get("event") == "alert_state_write_failed"]
    stopped = daemon.find("daemon_stopped")
    assert stopped is not None
    assert stopped["counts"]["read"] == len(stream.payloads)
    note_timing(
        f"full alert-state disk: {len(failures)} failed writes logged, recovered, "
        f"{stopped['counts']['read']} events read, {len(hook.requests)} webhook posts"
    )
