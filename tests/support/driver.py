"""Start, watch and kill `count_driver` child processes; produce numbered records.

Every wait is bounded: a child that does not reach a state in time fails the
test with its own output attached, never hangs the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.support.child import ChildProcess
from tests.support.kafka_broker import ROOT


class DriverProcess(ChildProcess):
    """One `python -m tests.support.count_driver` child."""

    def __init__(self, work_dir: Path, name: str, args: Sequence[str]) -> None:
        self.name = name
        self.status_path = work_dir / f"{name}.status.json"
        self.log_path = work_dir / f"{name}.log"
        self.status_path.unlink(missing_ok=True)
        self.started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.count_driver",
                    *args,
                    "--status",
                    str(self.status_path),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def status(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.status_path.read_text(encoding="utf-8")))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def counted(self) -> int:
        return int(self.status().get("counted", 0))

    def wait_for(
        self, what: str, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status and predicate(status):
                return status
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.output()}"
                )
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: no {what} within {timeout}s:\n{self.output()}")


def produce_numbers(
    bootstrap: str, topic: str, count: int, *, partitions: int = 3, start: int = 0
) -> dict[int, tuple[int, int]]:
    """Values start..start+count-1 as ASCII, value i to partition i % partitions.

    Returns partition -> (records, sum of values) of what was written.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        batch_size=256 * 1024,
        bootstrap_timeout_ms=10_000,
        client_id="test-producer",
    )
    expected: dict[int, tuple[int, int]] = dict.fromkeys(range(partitions), (0, 0))
    try:
        for i in range(start, start + count):
            p = i % partitions
            producer.send(topic, value=str(i).encode(), partition=p)
            n, total = expected[p]
            expected[p] = (n + 1, total + i)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return expected


def merge_expected(*parts: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for part in parts:
        for p, (n, total) in part.items():
            n0, t0 = out.get(p, (0, 0))
            out[p] = (n0 + n, t0 + total)
    return out
