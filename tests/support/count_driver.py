"""Child process for the consumer-loop integration tests: the real loop, a counting processor.

    python -m tests.support.count_driver --bootstrap 127.0.0.1:PORT --topic T --group G \\
        --store directory --checkpoint-dir DIR [--exit-when-idle] [--status FILE] ...

It plays the daemon's part: installs SIGTERM/SIGINT handlers that set the stop
event, runs `ConsumerLoop` until stopped (or, with --exit-when-idle, until every
owned partition is caught up and quiet), and exits 0 after the graceful
shutdown. Tests SIGKILL it at random points to prove the checkpoints exact.
`--status` is rewritten (atomically) a few times a second with the counts so far.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import structlog

from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.kafka.checkpoint import (
    CheckpointStore,
    DirectoryCheckpointStore,
    KafkaTopicCheckpointStore,
)
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.consumer import ConsumerLoop
from tests.support.counting import CountingProcessor


class ReportingProcessor(CountingProcessor):
    """Counts, and publishes its counts to a status file for the test to watch."""

    def __init__(self, status: Path | None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.status = status
        self.last_write = 0.0
        self.assignments: list[list[str]] = []

    def restore(self, partitions: frozenset[tuple[str, int]], state: bytes | None) -> None:
        super().restore(partitions, state)
        self.assignments.append(sorted(f"{t}:{p}" for t, p in self.partitions))
        self.write_status(force=True)

    def release(self, partitions: frozenset[tuple[str, int]]) -> None:
        super().release(partitions)
        self.assignments.append(sorted(f"{t}:{p}" for t, p in self.partitions))
        self.write_status(force=True)

    def close_due(self, now: float, idle: frozenset[tuple[str, int]]) -> None:
        super().close_due(now, idle)
        self.write_status()

    def write_status(self, force: bool = False) -> None:
        if self.status is None:
            return
        now = time.monotonic()
        if not force and now - self.last_write < 0.1:
            return
        self.last_write = now
        body = {
            "pid": os.getpid(),
            "counted": sum(c.count for c in self.partitions.values()),
            "partitions": {f"{t}:{p}": c.count for (t, p), c in sorted(self.partitions.items())},
            "assignments": self.assignments,
        }
        tmp = self.status.with_suffix(".tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, self.status)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="count_driver")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--instance-id")
    parser.add_argument("--store", choices=["directory", "kafka"], default="directory")
    parser.add_argument("--checkpoint-dir", type=Path)
    parser.add_argument("--checkpoint-topic", default="driftwarden-checkpoints")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--session-timeout", type=float, default=6.0)
    parser.add_argument("--max-poll-records", type=int, default=500)
    parser.add_argument("--batch-delay", type=float, default=0.0)
    parser.add_argument("--idle-timeout", type=float, default=1.0)
    parser.add_argument("--exit-when-idle", action="store_true")
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--status", type=Path)
    parser.add_argument("--fingerprint", default="count-driver/1")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    kafka_log = os.environ.get("DW_DRIVER_KAFKA_LOG")  # e.g. DEBUG, to diagnose a test
    if kafka_log:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("kafka").setLevel(kafka_log)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    kafka = KafkaSettings(
        bootstrap_servers=[args.bootstrap],
        topics=[args.topic],
        group_id=args.group,
        client_id=f"count-driver-{os.getpid()}",
        group_instance_id=args.instance_id,
        session_timeout=args.session_timeout,
        heartbeat_interval=min(1.0, args.session_timeout / 3),
        max_poll_records=args.max_poll_records,
        poll_timeout=0.2,
        reconnect_backoff_max=1.0,
        request_timeout=10.0,
        bootstrap_timeout=20.0,
        idle_partition_timeout=args.idle_timeout,
        lag_probe_interval=1.0,
    )
    checkpoint = CheckpointSettings(
        backend=args.store,
        directory=args.checkpoint_dir or Path("/nonexistent"),
        topic=args.checkpoint_topic,
        interval=args.interval,
        timeout=15.0,
    )
    client = KafkaClientConfig.from_settings(kafka)
    store: CheckpointStore
    if args.store == "directory":
        store = DirectoryCheckpointStore.from_settings(checkpoint)
    else:
        store = KafkaTopicCheckpointStore(client, checkpoint)
    processor = ReportingProcessor(
        args.status,
        batch_delay=args.batch_delay,
        stop_when_idle=stop if args.exit_when_idle else None,
    )
    loop = ConsumerLoop(
        client=client,
        checkpoint=checkpoint,
        processor=processor,
        store=store,
        fingerprint=args.fingerprint,
    )
    try:
        loop.run(stop, grace_period=args.grace)
    finally:
        store.close()
    processor.write_status(force=True)
    print(
        json.dumps(
            {
                "stopped": True,
                "positions": {f"{t}:{p}": o for (t, p), o in loop.positions().items()},
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
