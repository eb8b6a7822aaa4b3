"""`driftwarden replay`: prediction logs through the live engine, offline."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from driftwarden.baselines.artifact import Baseline
from driftwarden.baselines.signing import read_key_file
from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.alerting import AlertPipeline, replay_pipeline
from driftwarden.monitor.alerting.render import document
from driftwarden.monitor.config import OutcomeSettings, Settings, load_settings
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.errors import ConfigError, SourceError
from driftwarden.monitor.ingest.dead_letter import JsonlDeadLetterSink
from driftwarden.monitor.ingest.decode_pool import DecodePool, replay_workers
from driftwarden.monitor.ingest.event_survey import EventSurvey
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.replay.report import (
    FinalLabels,
    ReportBuilder,
    evidence_gaps,
    performance_reaching,
    summary_text,
    write_report,
)
from driftwarden.monitor.replay.runner import DEFAULT_BATCH, replay
from driftwarden.monitor.telemetry.logs import configure_logging
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from driftwarden.monitor.version import package_version
from driftwarden.monitor.windows.windowing import WindowCounts

log = structlog.get_logger(__name__)

REPLAY_ENVIRONMENT = "replay"  # the alerts' environment label unless the config sets one
EXIT_OK = 0
EXIT_GATE = 1  # --fail-on: a window reached the tier
EXIT_ERROR = 2  # usage, configuration, baseline or an input that cannot be read
EXIT_NO_EVIDENCE = 3  # --fail-on: no window was evaluated, so the gate cannot pass

EXIT_CODES = f"""exit status:
  {EXIT_OK}  done; with --fail-on: windows were evaluated and none reached the tier
  {EXIT_GATE}  --fail-on: a window reached the tier (the window, columns and tier are printed)
  {EXIT_ERROR}  error: usage, configuration, baseline, or an input that cannot be read
     (missing, a directory, unreadable, not gzip, or cut short)
  {EXIT_NO_EVIDENCE}  --fail-on: no evidence, a baseline's model has no evaluated window (no
     events, all rejected, or every window below policy.significance.min_samples);
     the reason and its fix are printed"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay JSONL / JSONL.gz prediction logs against baselines",
        description="Read prediction logs (JSONL, .gz, or - for stdin) through exactly the\n"
        "decode -> window -> verdict path of the live daemon, print a summary and\n"
        "optionally write a JSON report. Works without a config file: each baseline\n"
        "names its model and the documented defaults apply.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", help="log files in time order; - reads stdin")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        type=Path,
        help="baseline artifact file or model directory (repeatable; default: config baselines)",
    )
    parser.add_argument(
        "--outcomes",
        action="append",
        default=[],
        metavar="FILE",
        help="outcome events (JSONL or .gz) to join to the predictions by model_id and "
        "request_id, read after them (repeatable; the config's outcomes section applies, "
        "else its defaults)",
    )
    parser.add_argument("--config", type=Path, help="YAML configuration (optional)")
    parser.add_argument(
        "--verify-key-file",
        type=Path,
        metavar="FILE",
        help="refuse baselines not signed with the key in FILE "
        "(default: baseline_verify_key_file of the config)",
    )
    _add_output_options(parser)
    parser.set_defaults(func=run)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """Where the replay writes, and what it does with the result."""
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--html", type=Path, help="write the report's HTML page here (charts)")
    parser.add_argument(
        "--dead-letter",
        type=Path,
        help="append rejected events to this JSONL file (default: dead_letter.path if the "
        "config sets it, else REPORT.dead-letter.jsonl beside --report, rewritten each run; "
        "without either, rejected events are only counted)",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fail-on",
        choices=["info", "warning", "critical"],
        help="gate for CI jobs: exit 1 if any window reaches this model tier, 3 if no window "
        "was evaluated; 0 only when windows were evaluated and none reached it",
    )
    parser.add_argument(
        "--send-alerts",
        action="store_true",
        help="deliver alerts to every configured receiver (default: only log and file "
        "receivers deliver; the report lists what the others would have received)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing but errors (and, with --fail-on, why it failed)",
    )


def run(args: argparse.Namespace) -> int:
    check_inputs([*args.files, *args.outcomes])  # before anything is built, written or claimed
    for option, target in (("--report", args.report), ("--html", args.html)):
        if target is not None:
            check_writable(target, option)
    settings = _settings(args)
    baselines = _baselines(args, settings)
    dead_letter, _ = _dead_letter_path(args, settings)
    header, builder = _replay(args, settings, baselines)
    if not args.quiet:
        print(summary_text(header, dead_letter=str(dead_letter) if dead_letter else None))
        if args.report:
            print(f"report written to {args.report}")
        if args.html:
            print(f"page written to {args.html}")
    return _verdict(args, header, builder)


def _settings(args: argparse.Namespace) -> Settings:
    """The configuration (defaults without --config), with logging set up from it."""
    settings = load_settings(args.config)
    log_settings = settings.logging
    if args.quiet:  # the log receiver's alert lines and warnings too
        log_settings = log_settings.model_copy(update={"level": "error"})
    configure_logging(log_settings)  # to stderr: stdout carries the summary
    if "environment" not in settings.model_fields_set:
        # An offline replay is not production: its alerts say so unless configured.
        settings = settings.model_copy(update={"environment": REPLAY_ENVIRONMENT})
    return settings


def _baselines(args: argparse.Namespace, settings: Settings) -> list[Baseline]:
    """Every baseline of --baseline (else the config's), loaded and verified."""
    paths = args.baseline or settings.baselines
    if not paths:
        raise ConfigError(
            "no baseline given; pass --baseline PATH (a file written by 'driftwarden "
            "baseline build') or list them under 'baselines:' in the config"
        )
    key_file = args.verify_key_file or settings.baseline_verify_key_file
    key = read_key_file(key_file) if key_file is not None else None
    return [load_baseline(Path(p), key=key) for p in paths]


def _replay(
    args: argparse.Namespace, settings: Settings, baselines: list[Baseline]
) -> tuple[dict[str, Any], ReportBuilder]:
    """Replay the inputs through the engine and alerting; the report's header and records."""
    dead_letter, fresh = _dead_letter_path(args, settings)
    if args.outcomes and settings.outcomes is None:
        settings = _with_outcomes(settings)
    with contextlib.ExitStack() as stack:
        engine = _engine(stack, baselines, settings)
        survey = EventSurvey(engine.layouts, settings.events)
        start_pool = _pool_starter(stack, engine, replay_workers(settings.decode_workers))
        sink = _dead_letter_sink(stack, dead_letter, fresh=fresh, settings=settings)
        engine.reject_sink = sink
        pipeline = replay_pipeline(settings, real_receivers=args.send_alerts)
        stack.callback(pipeline.close)
        # Window records wait on disk, not in memory: a replay of months stays flat.
        wanted = args.report or args.html
        spool = stack.enter_context(tempfile.TemporaryFile()) if wanted else None
        builder = ReportBuilder(spool)
        alerts: list[dict[str, Any]] = []

        def on_verdict(verdict: WindowVerdict) -> None:
            builder.add(verdict)
            alerts.extend(document(n) for n in pipeline.observe(verdict))

        result = replay(
            engine,
            args.files,
            batch_size=args.batch_size,
            on_verdict=on_verdict,
            start_pool=start_pool,
            survey=survey,
            outcomes=args.outcomes,
        )
        if sink is not None:
            sink.flush()
        finals = _alert_final_labels(engine, pipeline, alerts)
        pipeline.drain(deadline=time.time() + (30.0 if args.send_alerts else 5.0))
        header = builder.header(
            engine,
            result,
            alerts=alerts,
            config_source=str(args.config) if args.config else None,
            driftwarden_version=package_version(),
            warnings=[m.message() for m in survey.misplaced],
            unknown_models=survey.unknown_models,
            finals=finals,
        )
        if spool is not None:
            _write_outputs(args, header, spool)
    return header, builder


def _write_outputs(args: argparse.Namespace, header: dict[str, Any], spool: BinaryIO) -> None:
    """The --report document and the --html page, from the spooled window records."""
    if args.report:
        spool.seek(0)
        with args.report.open("wb") as out:
            write_report(out, header, spool)
    if args.html:
        # Imported here: the page's assets and charts load only when --html asks.
        from driftwarden.monitor.page.render import write_page  # noqa: PLC0415

        spool.seek(0)
        write_page(args.html, header, (json.loads(line) for line in spool))


def _alert_final_labels(
    engine: Engine, pipeline: AlertPipeline, alerts: list[dict[str, Any]]
) -> list[FinalLabels]:
    """Issue 14: windows whose labels became final alert as in the daemon (the
    realised-performance and label-coverage incidents); the report shows them next."""
    finals = engine.take_final_labels()
    for _, performance in finals:
        if performance is not None:
            alerts.extend(document(n) for n in pipeline.observe_performance(performance))
    return finals


def _dead_letter_sink(
    stack: contextlib.ExitStack, path: Path | None, *, fresh: bool, settings: Settings
) -> JsonlDeadLetterSink | None:
    if path is None:
        return None
    if fresh:
        path.unlink(missing_ok=True)  # it belongs to this run's report
    return stack.enter_context(
        JsonlDeadLetterSink(path, max_payload_bytes=settings.dead_letter.max_payload_bytes)
    )


def _verdict(args: argparse.Namespace, report: dict[str, Any], builder: ReportBuilder) -> int:
    """The exit status (see `EXIT_CODES`), with its one-line reason on stderr."""
    cut = [i for i in report["inputs"] if i["error"]]
    if cut:
        item = cut[0]
        raise SourceError(
            f"input {item['path']} could not be read past line {item['lines']:,} "
            f"({item['error']}); the rest of it was not replayed: fetch or compress the file "
            f"again and rerun"
        )
    if not args.fail_on:
        return EXIT_OK
    tier = Tier.parse(args.fail_on)
    gaps = evidence_gaps(report)
    if gaps:
        print(
            f"driftwarden: --fail-on {args.fail_on}: no evidence: {'; '.join(gaps)}",
            file=sys.stderr,
        )
        return EXIT_NO_EVIDENCE
    reached = builder.first_reaching(tier)
    if reached is not None:
        print(f"driftwarden: --fail-on {args.fail_on}: {reached.text()}", file=sys.stderr)
        return EXIT_GATE
    performance = performance_reaching(report, tier)  # issue 14: realised, judged at the end
    if performance is not None:
        print(f"driftwarden: --fail-on {args.fail_on}: {performance}", file=sys.stderr)
        return EXIT_GATE
    return EXIT_OK


def check_inputs(paths: Sequence[str]) -> None:
    """Refuse, naming the file and the fix, an input that cannot be read at all."""
    for path in paths:
        if path == "-":
            continue
        where = Path(path)
        try:
            mode = where.stat().st_mode
            if stat.S_ISDIR(mode):
                raise SourceError(
                    f"input {path}: is a directory; pass the log files in it, "
                    f"e.g. {path}/*.jsonl.gz"
                )
            if not stat.S_ISREG(mode):
                continue  # a pipe (`<(zcat ...)`) or a device: a look ahead would consume it
            with where.open("rb") as handle:
                head = handle.read(2)
        except FileNotFoundError:
            raise SourceError(
                f"input {path}: no such file; check the path (replay reads .jsonl and "
                f".jsonl.gz files, or - for stdin)"
            ) from None
        except OSError as exc:
            raise SourceError(
                f"input {path}: cannot be read ({exc.strerror}); check its permissions"
            ) from None
        gzipped = head == _GZIP_MAGIC
        if path.endswith(".gz") and head and not gzipped:
            raise SourceError(
                f"input {path}: is not gzip data although its name ends in .gz; rename it "
                f"without .gz if it is plain JSON lines"
            )
        if gzipped and not path.endswith(".gz"):
            raise SourceError(
                f"input {path}: is gzip data but its name does not end in .gz; rename it "
                f"to {path}.gz"
            )


def check_writable(report: Path, option: str = "--report") -> None:
    """Make the report's directory, or refuse now rather than after the whole replay."""
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = exc.strerror
    else:
        if report.is_dir():
            problem = "it is a directory"
        elif not os.access(report if report.exists() else report.parent, os.W_OK):
            problem = "permission denied"
        else:
            return
    raise ConfigError(f"{option} {report}: cannot write it ({problem}); choose a writable path")


_GZIP_MAGIC = b"\x1f\x8b"


def _dead_letter_path(args: argparse.Namespace, settings: Settings) -> tuple[Path | None, bool]:
    """Where rejected events go, and whether the file is rewritten for this run.

    Never the working directory by surprise: an explicit --dead-letter or
    `dead_letter.path` appends, as the daemon's file does; otherwise the file
    sits beside the report and is rewritten with it, and with neither the
    rejected events are counted (by reason) in the summary and the report only.
    """
    if args.dead_letter is not None:
        return args.dead_letter, False
    configured = "dead_letter" in settings.model_fields_set and (
        "path" in settings.dead_letter.model_fields_set
    )
    if configured:
        return settings.dead_letter.path, False
    if args.report is not None:
        report: Path = args.report
        return report.with_name(f"{report.stem}.dead-letter.jsonl"), True
    return None, False


def _engine(stack: contextlib.ExitStack, baselines: list[Baseline], settings: Settings) -> Engine:
    """The engine, with a temporary outcome store when outcomes are joined (a replay
    starts from nothing)."""
    store = None
    if settings.outcomes is not None:
        from driftwarden.monitor.outcomes.pending import PendingStore  # noqa: PLC0415 - sqlite3

        store = PendingStore(None)
        stack.callback(store.close)
    return Engine(baselines, settings, outcome_store=store)


def _with_outcomes(settings: Settings) -> Settings:
    """`--outcomes` without an outcomes section: the section's defaults."""
    if settings.events.request_id is None:
        raise ConfigError(
            "--outcomes joins outcomes to predictions by request id but events.request_id "
            "is null: set it to the field path of the request id (e.g. request_id)"
        )
    return settings.model_copy(update={"outcomes": OutcomeSettings()})


def _pool_starter(
    stack: contextlib.ExitStack, engine: Engine, workers: int
) -> Callable[[], DecodePool[WindowCounts] | None]:
    """Starts the decode workers when the replay reads its first batch: an input without
    events forks none. That is before the first verdict, so before any alert is delivered,
    and this process still has no other thread to fork with."""

    def start() -> DecodePool[WindowCounts] | None:
        pool = _decode_pool(engine, workers)
        if pool is not None:
            stack.callback(pool.close)
        return pool

    return start


def _decode_pool(engine: Engine, workers: int) -> DecodePool[WindowCounts] | None:
    """Decode workers for the replay (`decode_workers`), or None to decode in-process."""
    if workers < 1:
        return None
    try:
        return start_decode_pool(engine, workers)
    except OSError as exc:  # cannot fork (a process limit): the same replay, in one process
        log.warning("decode_workers_unavailable", error=str(exc), fallback="in-process decoding")
        return None
