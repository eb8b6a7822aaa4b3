"""The daemon with each Kafka client library against a bare consumer of that library, one run.

    uv run python -m bench.client_throughput                    # full run, updates docs
    uv run python -m bench.client_throughput --events 200000 --repeats 1 --no-docs

One broker (the test harness's, same pinned jars) on 127.0.0.1, one 3-partition
topic holding `--events` synthetic prediction events (bench.daemon_throughput's
events). Per repeat, interleaved so a busy machine slows all alike:

1. `driftwarden run` with `kafka.client: librdkafka`, defaults otherwise
   (`decode_workers: auto`), a fresh group: the rate between the first and the
   last /metrics scrape taken while consuming (bench.daemon_throughput's method);
2. a bare confluent-kafka consumer (child process): group subscribe, raw bytes,
   the daemon's librdkafka settings (`monitor/kafka/rdkafka_config.py`: manual
   commits, read_committed, range assignor, `fetch.queue.backoff.ms` 10),
   `consume(num_messages=max_poll_records)`; timed from its first record to its
   last, nothing else done;
3. the same bare consumer with librdkafka's own `fetch.queue.backoff.ms` (1 s),
   the consumer a user writes without tuning it, which the issue measured;
4. `driftwarden run` with `kafka.client: kafka-python`, the same way;
5. a bare kafka-python consumer with the daemon's client settings
   (bench.daemon_throughput's reader).

With `--profile` the librdkafka daemon runs once more under cProfile
(decode_workers: 0, so the whole path is in one process) and the top functions by
own time are printed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.daemon_throughput import (
    MAX_POLL_RECORDS,
    Daemon,
    bare_rate,
    consuming_span,
    loaded_broker,
    machine,
    span_rate,
    write_config,
)
from bench.docs import DOCS, update_section

SECTION = "## Kafka client libraries (issue 17)"
TARGET_RATIO = 0.5


def daemon_rate(
    work: Path,
    bootstrap: str,
    baseline: Path,
    topic: str,
    n: int,
    *,
    client: str,
    run: int,
    decode_workers: int | str = "auto",
    profile: Path | None = None,
) -> float:
    group = f"bench-{client}-{decode_workers}-{run}-{os.getpid()}"
    path = write_config(work, bootstrap, topic, group, baseline, decode_workers=decode_workers)
    config = json.loads(path.read_text())
    config["kafka"]["client"] = client
    path.write_text(json.dumps(config, indent=1))
    log = work / f"{group}.log"
    if profile is None:
        daemon = Daemon(path, log)
    else:
        daemon = Daemon.__new__(Daemon)
        daemon.log = log
        daemon.port = 0
        with log.open("ab") as out:
            daemon.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    str(profile),
                    "-m",
                    "driftwarden.monitor.cli",
                    "run",
                    "--config",
                    str(path),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    try:
        return span_rate(consuming_span(daemon, n))
    finally:
        daemon.stop()


def confluent_rate(
    bootstrap: str, topic: str, n: int, run: int, *, library_backoff: bool = False
) -> float:
    """A bare confluent-kafka consumer's rate; `library_backoff`: with librdkafka's own
    `fetch.queue.backoff.ms` instead of the daemon's."""
    group = f"bench-bare-librdkafka-{int(library_backoff)}-{run}-{os.getpid()}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.client_throughput",
            "--bare-confluent",
            bootstrap,
            topic,
            group,
            str(n),
            "library-backoff" if library_backoff else "daemon-settings",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["rate"])


def bare_confluent(bootstrap: str, topic: str, group: str, n: int, library_backoff: bool) -> int:
    """The child side of `confluent_rate`: read n records with the daemon's librdkafka
    settings (or librdkafka's own fetch backoff), print the rate as JSON."""
    from confluent_kafka import Consumer

    from driftwarden.monitor.config import KafkaSettings
    from driftwarden.monitor.kafka.client import KafkaClientConfig
    from driftwarden.monitor.kafka.rdkafka_config import consumer_config

    settings = KafkaSettings(
        client="librdkafka", bootstrap_servers=[bootstrap], topics=[topic], group_id=group
    )
    config = consumer_config(KafkaClientConfig.from_settings(settings))
    if library_backoff:
        del config["fetch.queue.backoff.ms"]
    consumer = Consumer(config)
    consumer.subscribe([topic])
    seen = 0
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + 600
    while seen < n and time.monotonic() < deadline:
        messages = consumer.consume(num_messages=MAX_POLL_RECORDS, timeout=0.5)
        seen += sum(1 for m in messages if m.error() is None)
        if first is None and seen:
            first = (time.monotonic(), seen)
    elapsed = time.monotonic() - first[0] if first else float("nan")
    consumer.close()
    rate = (seen - first[1]) / elapsed if first else 0.0
    print(json.dumps({"records": seen, "seconds": elapsed, "rate": rate}))
    return 0


OTHER = (
    "other: libraries' own Python code and what it calls (mostly once, importing: scipy "
    "parses its docstrings; then numpy's and prometheus-client's wrappers)"
)


def _part(path: str, name: str) -> str:
    """The part of the daemon a profiled function belongs to ("" for a C function)."""
    if name == "<built-in method builtins.compile>" or "importlib" in path or "<frozen" in path:
        return "imports, once (scipy and river at the first window evaluated; no bytecode cache)"
    if "'consume' of 'cimpl.Consumer'" in name:
        return "librdkafka `consume()`: fetching, C"
    if "confluent_kafka.cimpl.Message" in name or path.endswith("kafka/rdkafka_consumer.py"):
        return "runs per partition from messages (`monitor/kafka/rdkafka_consumer.py`)"
    if path == "~":
        return ""
    for folder, label in (
        ("/monitor/kafka/", "consumer loop, checkpoints, commits (`monitor/kafka/`)"),
        ("/monitor/service/", "runs into batches (`monitor/service/processor.py`)"),
        ("/monitor/ingest/", "JSON decoding into columns (`monitor/ingest/`)"),
        ("/monitor/windows/", "counting into windows (`monitor/windows/`)"),
        ("/monitor/", "closing windows, evaluating, verdicts, metrics (rest of `monitor/`)"),
        ("/detectors/", "closing windows, evaluating, verdicts, metrics (rest of `monitor/`)"),
    ):
        if folder in path:
            return label
    return OTHER


def profile_split(stats: Any, events: int) -> dict[str, float]:
    """Microseconds per event of each part of the daemon, by own time.

    A C function's time goes to the part of its caller (pstats keeps the time per
    caller), so numpy and msgspec land in the part that called them.
    """
    seconds: dict[str, float] = {}
    for (path, _, name), (_, _, tottime, _, callers) in stats.stats.items():
        part = _part(path, name)
        if part:
            seconds[part] = seconds.get(part, 0.0) + tottime
            continue
        for (c_path, _, c_name), (_, _, caller_tt, _) in callers.items():
            part = _part(c_path, c_name) or OTHER
            seconds[part] = seconds.get(part, 0.0) + caller_tt
    ordered = sorted(seconds.items(), key=lambda item: -item[1])
    return {label: round(s / events * 1e6, 2) for label, s in ordered if s / events >= 5e-9}


def _cells(rates: Sequence[float]) -> str:
    return f"{', '.join(f'{r:,.0f}' for r in rates)} | **{statistics.median(rates):,.0f}**"


def render(result: dict[str, Any]) -> str:
    rd, crd = result["daemon_librdkafka"], result["bare_librdkafka"]
    lib = result.get("bare_librdkafka_library_backoff") or []
    kp, ckp = result["daemon_kafka_python"], result["bare_kafka_python"]
    m = statistics.median
    ratio = m(rd) / m(crd)
    lines = [
        SECTION,
        "",
        f"- Command: `{result['command']}`",
        f"- Date (UTC): {result['date']}",
        f"- Machine: {result['machine']}; broker (Kafka 4.3.1, one KRaft node) and clients "
        "on the same host",
        f"- Libraries: confluent-kafka {result['confluent_kafka']} "
        f"(librdkafka {result['librdkafka']}), kafka-python {result['kafka_python']}",
        f"- Topic: 3 partitions, {result['events']:,} synthetic prediction events "
        f"(bench.daemon_throughput's), `max_poll_records` {MAX_POLL_RECORDS}, "
        f"{result['repeats']} interleaved repeats, medians",
        "",
        "| Consumer | events/s per repeat | median |",
        "|---|---|---|",
        f"| `driftwarden run`, `kafka.client: librdkafka` (defaults: decode worker, windows, "
        f"verdicts, checkpoints, commits) | {_cells(rd)} |",
        "| bare confluent-kafka consumer, the daemon's librdkafka settings, "
        f"`consume(num_messages={MAX_POLL_RECORDS})`, no processing | {_cells(crd)} |",
        *(
            [
                "| the same bare consumer with librdkafka's own `fetch.queue.backoff.ms` "
                f"(1 s) | {_cells(lib)} |"
            ]
            if lib
            else []
        ),
        f"| `driftwarden run`, `kafka.client: kafka-python` (defaults) | {_cells(kp)} |",
        f"| bare kafka-python consumer, the daemon's settings, no processing | {_cells(ckp)} |",
        "",
        f"Ratios of medians: daemon with librdkafka / bare confluent-kafka **{ratio:.2f}x** "
        f"(target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}); "
        f"daemon with librdkafka / daemon with kafka-python **{m(rd) / m(kp):.2f}x**; "
        f"daemon with kafka-python / bare kafka-python **{m(kp) / m(ckp):.2f}x**; "
        f"bare confluent-kafka / bare kafka-python **{m(crd) / m(ckp):.2f}x**"
        + (
            f"; daemon with librdkafka / bare confluent-kafka with librdkafka's own fetch "
            f"backoff **{m(rd) / m(lib):.2f}x**."
            if lib
            else "."
        ),
    ]
    profiled = result.get("profile_us_per_event") or {}
    if profiled:
        lines += [
            "",
            "### Where the time goes (librdkafka, one process)",
            "",
            "The daemon with `kafka.client: librdkafka` and `decode_workers: 0` (the whole "
            "path in one process) under cProfile, reading the same topic from the start: own "
            "time per event of each part, a C function's time counted in the part that called "
            "it. cProfile's cost per call inflates parts made of many small calls (the "
            "per-record ones) more than the batch-wise ones (decoding, counting), and its "
            "times are wall-clock: on a busy machine they include waiting for a CPU "
            "(`bench.client_cpu` measures CPU time).",
            "",
            "| part | µs per event |",
            "|---|---|",
            *(f"| {label} | {us:.2f} |" for label, us in profiled.items()),
        ]

        def part(prefix: str) -> float:
            return sum(us for label, us in profiled.items() if label.startswith(prefix))

        bare_us = 1e6 / m(crd)
        own = part("runs per") + part("JSON decoding") + part("counting") + part("closing")
        lines += [
            "",
            "Reading it: a bare confluent-kafka consumer spends "
            f"{bare_us:.1f} µs per record here (its median), almost all in librdkafka's C "
            "code. The daemon spends "
            f"{part('librdkafka'):.1f} µs per event in `consume()` (librdkafka building "
            "each message's object, and any wait for a fetch: cProfile counts wall time), "
            f"{part('runs per'):.1f} µs turning a poll's messages into one run per "
            "partition (no Python object per record), "
            f"{part('JSON decoding'):.1f} µs decoding JSON into columns (each run's values "
            "joined into one block of lines, `LineBlock.joined`, decoded with msgspec's "
            "`decode_lines`) and "
            f"{part('counting') + part('closing'):.1f} µs on windows "
            f"and verdicts: {own:.1f} µs of its own per event, {own / bare_us:.1f}x the bare "
            "consumer's whole cost per record. In one process that bounds the ratio near "
            f"{bare_us / (bare_us + own):.2f}x; cProfile inflates the per-record parts, so "
            "the bound is looser than this. By default the decoding and counting run in a "
            "forked worker (`decode_workers: auto` = 1 here) while the daemon fetches and "
            "frames runs, but on 2 cores that worker shares them with the daemon and the "
            "broker (`bench.client_cpu` measures the CPU per event of each).",
        ]
    return "\n".join(lines) + "\n"


Common = tuple[Path, str, Path, str, int]  # work, bootstrap, baseline, topic, events


def _repeat(common: Common, run: int, rates: dict[str, list[float]]) -> None:
    """One repeat of every consumer, interleaved, each appended to its list in `rates`."""
    _, bootstrap, _, topic, n = common
    rates["daemon_librdkafka"].append(daemon_rate(*common, client="librdkafka", run=run))
    rates["bare_librdkafka"].append(confluent_rate(bootstrap, topic, n, run))
    rates["bare_librdkafka_library_backoff"].append(
        confluent_rate(bootstrap, topic, n, run, library_backoff=True)
    )
    rates["daemon_kafka_python"].append(daemon_rate(*common, client="kafka-python", run=run))
    rates["bare_kafka_python"].append(bare_rate(bootstrap, topic, n, run, "read_committed"))
    print(
        f"repeat {run}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rates.items()),
        file=sys.stderr,
    )


def _profile(common: Common) -> dict[str, float]:
    """The librdkafka daemon once more, in one process under cProfile: µs per event by part."""
    import pstats

    profile = common[0] / "daemon.prof"
    daemon_rate(*common, client="librdkafka", run=99, decode_workers=0, profile=profile)
    stats = pstats.Stats(str(profile))
    stats.dump_stats(Path("bench/results") / "client_throughput-daemon.prof")
    stats.sort_stats("cumulative").print_stats(40)
    return profile_split(stats, common[4])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--bare-confluent"]:
        bootstrap, topic, group, n, which = argv[1:6]
        return bare_confluent(bootstrap, topic, group, int(n), which == "library-backoff")
    parser = argparse.ArgumentParser(prog="bench.client_throughput")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--render", type=Path, help="rewrite the docs from a saved result")
    args = parser.parse_args(argv)
    if args.render is not None:
        update_section(DOCS, SECTION, render(json.loads(args.render.read_text())))
        return 0

    import confluent_kafka
    import kafka

    rates: dict[str, list[float]] = {
        "daemon_librdkafka": [],
        "bare_librdkafka": [],
        "bare_librdkafka_library_backoff": [],
        "daemon_kafka_python": [],
        "bare_kafka_python": [],
    }
    topic = "bench-clients"
    with (
        tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp,
        loaded_broker(Path(tmp), topic, args.events) as (broker, baseline),
    ):
        common = (Path(tmp), broker.bootstrap, baseline, topic, args.events)
        for run in range(args.repeats):
            _repeat(common, run, rates)
        profiled = _profile(common) if args.profile else {}
    result: dict[str, Any] = {
        "command": " ".join(["uv run python -m bench.client_throughput", shlex.join(argv)]).strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "confluent_kafka": importlib.metadata.version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "kafka_python": kafka.__version__,
        "events": args.events,
        "repeats": args.repeats,
        **rates,
        "profile_us_per_event": profiled,
    }
    out = Path("bench/results") / f"client_throughput-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    section = render(result)
    print(section)
    if not args.no_docs:
        update_section(DOCS, SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
