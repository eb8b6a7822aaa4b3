"""`driftwarden run --config FILE`: the long-running Kafka consumer."""

from __future__ import annotations

import argparse
import gc
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from driftwarden.baselines.signing import read_key_file
from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.config import load_settings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.service.daemon import Daemon
from driftwarden.monitor.telemetry.logs import configure_logging

log = structlog.get_logger(__name__)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="consume prediction logs from Kafka and alert on drift",
        description="Run the daemon: consume the configured topics, keep per-window state with "
        "exact at-least-once checkpoints, evaluate closed windows against the baselines, expose "
        "/metrics, /healthz and /readyz, and alert. SIGTERM or SIGINT stop it gracefully.",
    )
    parser.add_argument("--config", type=Path, required=True, help="YAML configuration")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(settings.logging)
    if not settings.baselines:
        raise ConfigError(
            f"{args.config}: no baselines configured; list the artifact files or model "
            "directories under 'baselines:'"
        )
    key_file = settings.baseline_verify_key_file
    key = read_key_file(key_file) if key_file is not None else None
    baselines = [load_baseline(p, key=key) for p in settings.baselines]
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    daemon = Daemon(settings, baselines)
    # Everything built so far (modules, baselines, layouts) lives as long as the
    # process: out of the collector's sight, full collections stop re-walking it.
    # They are triggered by each poll's records surviving young collections while
    # they are counted; measured, they cost ~1.6 us per event before this.
    gc.freeze()
    log.info("daemon_starting", **daemon.describe())
    daemon.run(stop)
    return 0
