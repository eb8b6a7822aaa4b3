"""`driftwarden replay`: prediction logs through the live engine, offline."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from baselines.signing import read_key_file
from baselines.store import load_baseline
from monitor.alerting import replay_pipeline
from monitor.alerting.render import document
from monitor.config import load_settings
from monitor.dead_letter import JsonlDeadLetterSink
from monitor.decode_pool import DecodePool, replay_workers
from monitor.engine import Engine
from monitor.errors import ConfigError
from monitor.logs import configure_logging
from monitor.replay import DEFAULT_BATCH, replay
from monitor.report import ReportBuilder, summary_text, write_report
from monitor.tier import Tier
from monitor.verdict import WindowVerdict
from monitor.version import package_version

log = structlog.get_logger(__name__)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay JSONL / JSONL.gz prediction logs against baselines",
        description="Read prediction logs (JSONL, .gz, or - for stdin) through exactly the "
        "decode -> window -> verdict path of the live daemon, print a summary and "
        "optionally write a JSON report. Works without a config file: each baseline names "
        "its model and the documented defaults apply.",
    )
    parser.add_argument("files", nargs="+", help="log files in time order; - reads stdin")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        type=Path,
        help="baseline artifact file or model directory (repeatable; default: config baselines)",
    )
    parser.add_argument("--config", type=Path, help="YAML configuration (optional)")
    parser.add_argument(
        "--verify-key-file",
        type=Path,
        metavar="FILE",
        help="refuse baselines not signed with the key in FILE "
        "(default: baseline_verify_key_file of the config)",
    )
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument(
        "--dead-letter",
        type=Path,
        help="JSONL file for rejected events (default: dead_letter.path of the config)",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fail-on",
        choices=["info", "warning", "critical"],
        help="exit 1 if any window reaches this model tier (for CI jobs)",
    )
    parser.add_argument(
        "--send-alerts",
        action="store_true",
        help="deliver alerts to every configured receiver (default: only log and file "
        "receivers deliver; the report lists what the others would have received)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(settings.logging)  # to stderr: stdout carries the summary
    paths = args.baseline or settings.baselines
    if not paths:
        raise ConfigError(
            "no baseline given; pass --baseline PATH (a file written by 'driftwarden "
            "baseline build') or list them under 'baselines:' in the config"
        )
    key_file = args.verify_key_file or settings.baseline_verify_key_file
    key = read_key_file(key_file) if key_file is not None else None
    baselines = [load_baseline(Path(p), key=key) for p in paths]
    dead_letter = args.dead_letter or settings.dead_letter.path
    with contextlib.ExitStack() as stack:
        engine = Engine(baselines, settings)
        # Forked first, while this process has no threads (alert delivery starts some).
        pool = _decode_pool(engine, replay_workers(settings.decode_workers))
        if pool is not None:
            stack.callback(pool.close)
        sink = stack.enter_context(JsonlDeadLetterSink(dead_letter)) if dead_letter else None
        engine.reject_sink = sink
        pipeline = replay_pipeline(settings, real_receivers=args.send_alerts)
        stack.callback(pipeline.close)
        # Window records wait on disk, not in memory: a replay of months stays flat.
        spool = stack.enter_context(tempfile.TemporaryFile()) if args.report else None
        builder = ReportBuilder(spool)
        alerts: list[dict[str, Any]] = []

        def on_verdict(verdict: WindowVerdict) -> None:
            builder.add(verdict)
            alerts.extend(document(n) for n in pipeline.observe(verdict))

        result = replay(
            engine, args.files, batch_size=args.batch_size, on_verdict=on_verdict, pool=pool
        )
        if sink is not None:
            sink.flush()
        pipeline.drain(deadline=time.time() + (30.0 if args.send_alerts else 5.0))
        header = builder.header(
            engine,
            result,
            alerts=alerts,
            config_source=str(args.config) if args.config else None,
            driftwarden_version=package_version(),
        )
        if args.report and spool is not None:
            spool.seek(0)
            with args.report.open("wb") as out:
                write_report(out, header, spool)
    if not args.quiet:
        print(summary_text(header, dead_letter=str(dead_letter) if dead_letter else None))
        if args.report:
            print(f"report written to {args.report}")
    if args.fail_on and builder.max_tier >= Tier.parse(args.fail_on):
        return 1
    return 0


def _decode_pool(engine: Engine, workers: int) -> DecodePool | None:
    """Decode workers for the replay (`decode_workers`), or None to decode in-process."""
    if workers < 1:
        return None
    windows = {model: policy.window for model, policy in engine.policies.items()}
    try:
        return DecodePool(engine.layouts, engine.settings.events, windows=windows, workers=workers)
    except OSError as exc:  # cannot fork (a process limit): the same replay, in one process
        log.warning("decode_workers_unavailable", error=str(exc), fallback="in-process decoding")
        return None
