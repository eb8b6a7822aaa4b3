"""`driftwarden run` as a child process, plus the replay reference it is compared with.

The daemon integration tests (tests/integration/test_daemon_*.py) produce
synthetic prediction events in timestamp order, round-robin over the partitions
(so every partition is in event-time order and nothing is late, live or in
replay), write the same events to a JSONL file in produce order, and compare
the daemon's `verdict_log` with `driftwarden replay` of that file.

Every wait is bounded: a daemon that does not reach a state in time fails the
test with its own log attached.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.child import ChildProcess
from tests.support.kafka_broker import ROOT

WINDOW_SECONDS = 10.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a window boundary
WindowKey = tuple[str, int]
Window = dict[str, Any]


# --- inputs ------------------------------------------------------------------------------


def write_baseline(directory: Path) -> Path:
    """The calibration baseline (model `credit-risk`) as an artifact file in `directory`."""
    from bench.calibration import make_baseline
    from driftwarden.baselines.store import BaselineStore

    return BaselineStore(directory).write(make_baseline())


@dataclass(frozen=True)
class Stream:
    """Events as produced: payloads in produce order and the window keys they fill."""

    payloads: list[bytes]
    sentinel_windows: frozenset[int]

    def write_jsonl(self, path: Path) -> Path:
        with path.open("wb") as handle:
            for payload in self.payloads:
                handle.write(payload + b"\n")
        return path


def synthetic_stream(
    n: int,
    *,
    seed: int,
    rate_per_second: float,
    partitions: int = 3,
    drift_from: float | None = None,
) -> Stream:
    """`n` events from START, a mean-shift drift episode from `drift_from` (fraction of the
    span) on, and one sentinel event per partition three windows after the last event.

    The sentinels move every partition's watermark past the last data window, so
    the daemon closes all of them; their own window stays open live and is left
    out of every comparison.
    """
    from examples import synthetic

    drift = None
    drift_start_time = None
    if drift_from is not None:
        drift = synthetic.Drift(mean_shift={synthetic.NUMERIC_FEATURES[0]: 1.5})
        drift_start_time = START + drift_from * n / rate_per_second
    events = list(
        synthetic.events(
            n,
            seed=seed,
            start=START,
            rate_per_second=rate_per_second,
            drift=drift,
            drift_start_time=drift_start_time,
        )
    )
    payloads = [json.dumps(e).encode() for e in events]
    last = START + n / rate_per_second * 1.5 if not events else _epoch(events[-1]["timestamp"])
    sentinel_ts = (int(last // WINDOW_SECONDS) + 3) * WINDOW_SECONDS + 1.0
    template = events[0]
    payloads.extend(
        json.dumps(
            {**template, "request_id": f"sentinel-{p}", "timestamp": _iso(sentinel_ts)}
        ).encode()
        for p in range(partitions)
    )
    return Stream(payloads, frozenset({int(sentinel_ts // WINDOW_SECONDS)}))


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def produce(
    bootstrap: str,
    topic: str,
    payloads: Sequence[bytes],
    *,
    partitions: int = 3,
    start_index: int = 0,
    pace: float | None = None,
    progress: list[int] | None = None,
) -> None:
    """Payload i goes to partition (start_index + i) % partitions, in order.

    `pace` (records per second) spreads a produce over time, so a test can act
    while events are still flowing; `progress[0]` then tells how many were sent.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        batch_size=256 * 1024,
        bootstrap_timeout_ms=10_000,
        client_id="daemon-test-producer",
    )
    began = time.monotonic()
    try:
        for i, payload in enumerate(payloads):
            producer.send(topic, value=payload, partition=(start_index + i) % partitions)
            if pace is not None and i % 500 == 499:
                if progress is not None:
                    progress[0] = i + 1
                ahead = began + (i + 1) / pace - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush(timeout=120)
        if progress is not None:
            progress[0] = len(payloads)
    finally:
        producer.close(timeout=10)


# --- configuration -----------------------------------------------------------------------


def daemon_config(
    path: Path,
    *,
    bootstrap: str,
    topic: str,
    group: str,
    baseline: Path,
    work: Path,
    overrides: Mapping[str, Any] | None = None,
    client: str = "kafka-python",
) -> Path:
    """A config for the tests (written as JSON, which is YAML): small windows, fast group
    timeouts, directory checkpoints, a verdict log, alert state in `work`; `client` is
    `kafka.client` (the `kafka_client` fixture runs a test with each)."""
    config: dict[str, Any] = {
        "environment": "test",
        "baselines": [str(baseline)],
        "verdict_log": str(work / "verdicts.jsonl"),
        "policy": {
            "window": {"kind": "time", "size": f"{WINDOW_SECONDS:g}s", "allowed_lateness": "2s"},
            "significance": {"min_samples": 100, "min_reference": 1000},
        },
        "dead_letter": {"path": str(work / "dead-letter.jsonl")},
        "kafka": {
            "client": client,
            "bootstrap_servers": [bootstrap],
            "topics": [topic],
            "group_id": group,
            "session_timeout": "6s",
            "heartbeat_interval": "1s",
            "reconnect_backoff_max": "1s",
            "idle_partition_timeout": "60s",
        },
        "checkpoint": {
            "backend": "directory",
            "directory": str(work / "checkpoints"),
            "interval": "1s",
        },
        "metrics": {"enabled": True, "host": "127.0.0.1", "port": 0},
        "alerting": {"state_directory": str(work / "alert-state")},
        "logging": {"format": "json", "level": "info"},
        "shutdown": {"grace_period": "10s"},
    }
    _deep_merge(config, overrides or {})
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


# --- the daemon child --------------------------------------------------------------------


class DaemonProcess(ChildProcess):
    """One `python -m driftwarden.monitor.cli run --config FILE` child, logging JSON to a file."""

    def __init__(self, config: Path, log_path: Path, name: str = "daemon") -> None:
        self.name = name
        self.config = config
        self.log_path = log_path
        self._offset = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "driftwarden.monitor.cli", "run", "--config", str(config)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def open_files(self) -> int:
        """File descriptors the daemon holds now (sockets included), from /proc."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def events(self) -> list[dict[str, Any]]:
        """This run's JSON log lines (other lines, e.g. tracebacks, are skipped)."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self._offset)
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    def find(self, event: str) -> dict[str, Any] | None:
        for line in self.events():
            if line.get("event") == event:
                return line
        return None

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                if predicate():
                    return
                raise AssertionError(
                    f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.output()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: no {what} within {timeout}s:\n{self.output()}")

    def wait_for_event(self, event: str, timeout: float) -> dict[str, Any]:
        self.wait_until(event, lambda: self.find(event) is not None, timeout)
        found = self.find(event)
        assert found is not None
        return found

    def metrics_port(self, timeout: float = 60) -> int:
        return int(self.wait_for_event("metrics_listening", timeout)["port"])

    def metrics(self) -> str:
        """The daemon's /metrics. The connection is closed even when the answer times out
        (urllib leaves that socket to the garbage collector: a ResourceWarning)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.metrics_port(), timeout=5)
        try:
            connection.request("GET", "/metrics")
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def stop(self, timeout: float = 30) -> int:
        self.terminate()
        return self.wait(timeout)


# --- verdicts ----------------------------------------------------------------------------


def read_verdicts(*paths: Path) -> dict[WindowKey, Window]:
    """Closed windows from verdict logs; the last line per (model_id, window_index) wins."""
    out: dict[WindowKey, Window] = {}
    for path in paths:
        if not path.exists():
            continue
        for record in verdict_lines(path):
            out[(record["model_id"], record["window_index"])] = record
    return out


def verdict_lines(path: Path) -> list[Window]:
    """The complete lines of a verdict log a running daemon may be appending to."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(x) for x in complete.splitlines() if x.strip()]


def replay_report(
    baseline: Path, config: Path, events: Path, report: Path, *options: str
) -> dict[str, Any]:
    """`driftwarden replay` of `events` as a user runs it (extra `options` before the
    file); its JSON report."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftwarden.monitor.cli",
            "replay",
            "--baseline",
            str(baseline),
            "--config",
            str(config),
            "--report",
            str(report),
            "--dead-letter",
            str(report.with_suffix(".dead-letter.jsonl")),
            "--quiet",
            *options,
            str(events),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"replay failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(report.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def replay_windows(
    baseline: Path, config: Path, events: Path, report: Path, *, exclude: Iterable[int] = ()
) -> dict[WindowKey, Window]:
    """`driftwarden replay` of `events`: the reference windows, without `exclude`d ones."""
    windows = replay_report(baseline, config, events, report)["windows"]
    skip = set(exclude)
    return {(w["model_id"], w["window_index"]): w for w in windows if w["window_index"] not in skip}


def counts(window: Window) -> dict[str, Any]:
    """The integer counts of a window: events, and per column n_current, missing, type_errors."""
    columns = {}
    for column in window["columns"]:
        stats = column["statistics"]
        columns[column["column"]] = (
            stats.get("n_current"),
            stats.get("missing"),
            stats.get("type_errors"),
        )
    return {"events": window["events"], "columns": columns}


def assert_counts_equal(
    live: Mapping[WindowKey, Window], reference: Mapping[WindowKey, Window]
) -> None:
    """Per window, exactly the replay's counts: nothing lost, nothing counted twice."""
    missing = sorted(set(reference) - set(live))
    extra = sorted(set(live) - set(reference))
    assert not missing, f"{len(missing)} windows never closed live: {missing[:5]}"
    assert not extra, f"{len(extra)} live windows the replay does not have: {extra[:5]}"
    wrong = [k for k in sorted(reference) if counts(live[k]) != counts(reference[k])]
    assert not wrong, (
        f"{len(wrong)} of {len(reference)} windows differ; first {wrong[0]}: "
        f"live {counts(live[wrong[0]])} vs replay {counts(reference[wrong[0]])}"
    )


def wait_for_windows(
    daemons: Sequence[DaemonProcess],
    verdict_logs: Sequence[Path],
    wanted: Iterable[WindowKey],
    timeout: float,
) -> None:
    """Until every wanted window has been logged by some member (bounded)."""
    wanted = set(wanted)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = set(read_verdicts(*verdict_logs))
        if wanted <= seen:
            return
        for d in daemons:
            if d.proc.poll() is not None:
                raise AssertionError(
                    f"{d.name} exited ({d.proc.returncode}) with "
                    f"{len(wanted - seen)} windows open:\n{d.output()}"
                )
        time.sleep(0.2)
    seen = set(read_verdicts(*verdict_logs))
    logs = "\n".join(d.output(30) for d in daemons)
    raise AssertionError(
        f"{len(wanted - seen)} of {len(wanted)} windows not closed within {timeout}s "
        f"(first {sorted(wanted - seen)[:3]}):\n{logs}"
    )
