"""Daemon throughput against a bare kafka-python consumer, and the daemon's RSS, in one run.

    uv run python -m bench.daemon_throughput                       # full run, updates docs
    uv run python -m bench.daemon_throughput --events 50000 --repeats 1 \
        --rss-seconds 30 --no-docs                                 # a quick smoke run

One Kafka broker (the test harness's `tests.support.kafka_broker`, same pinned
jars) on 127.0.0.1, one 3-partition topic holding `--events` synthetic
prediction events (~330 bytes of JSON each, timestamps in order, round-robin
over the partitions). Measured, interleaved per repeat so a busy machine slows
both alike:

1. `driftwarden run --config C` (`python -m driftwarden.monitor.cli run`, a child process, a
   fresh consumer group each repeat, 10 s windows, checkpoints every 10 s to a
   directory), with its defaults (`decode_workers: auto`) and once more with
   decoding in its own process (`decode_workers: 0`): /metrics is scraped every
   250 ms; the rate is the records consumed between the first and the last
   scrape taken while it was consuming, over that time. It includes decode,
   windowing, verdicts, checkpoints and offset commits.
2. A bare kafka-python consumer (child process): group subscribe, raw bytes,
   auto-commit off, the same `max_poll_records`; timed from its first record to
   its last. It reads and does nothing else.

Then the RSS part: a daemon consumes a stream produced while it runs (timestamps
advancing, so windows keep closing) for `--rss-seconds`; VmRSS of the daemon and
its decode worker is sampled from /proc with the records consumed so far.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.docs import DOCS, update_section

SECTION = "## Daemon (issue 4)"
TARGET_RATIO = 0.8
MAX_POLL_RECORDS = 5000  # the daemon's default kafka.max_poll_records
EVENT_RATE = 2000.0  # events per second of event time: 20,000 per 10 s window
WINDOW = "10s"
SCRAPE_INTERVAL = 0.25  # seconds between /metrics scrapes of the daemon under test


# --- events --------------------------------------------------------------------------------


def _templates(n: int) -> list[tuple[float, bytes]]:
    """`n` synthetic events as (offset in seconds, JSON body without its timestamp)."""
    from examples import synthetic

    out = []
    for event in synthetic.events(n, seed=4, start=0.0, rate_per_second=EVENT_RATE):
        stamp = event.pop("timestamp")
        offset = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        out.append((offset, json.dumps(event).encode()))
    return out


EVENTS_START = 1_700_000_000.0
"""2023-11-14: in the past, as a live stream's event times are (dated more than
`events.max_future_skew` after the wall clock they would all be rejected as `future`)."""


def payloads(templates: Sequence[tuple[float, bytes]], start: float) -> Iterator[bytes]:
    """Endless events with advancing epoch-second timestamps, template after template."""
    span = templates[-1][0] + 1.0 / EVENT_RATE
    cycle = 0
    while True:
        base = start + cycle * span
        for offset, body in templates:
            yield b'{"timestamp": ' + repr(round(base + offset, 3)).encode() + b", " + body[1:]
        cycle += 1


def produce(
    bootstrap: str,
    topic: str,
    source: Iterator[bytes],
    count: int,
    *,
    progress: list[int] | None = None,
    stop: threading.Event | None = None,
) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=50,
        batch_size=1024 * 1024,
        bootstrap_timeout_ms=10_000,
        client_id="bench-producer",
    )
    sent = 0
    try:
        for sent, payload in enumerate(source, start=1):
            producer.send(topic, value=payload, partition=sent % 3)
            if progress is not None and sent % 1000 == 0:
                progress[0] = sent
            if sent >= count or (stop is not None and stop.is_set()):
                break
        producer.flush(timeout=300)
    finally:
        producer.close(timeout=30)
    if progress is not None:
        progress[0] = sent
    return sent


@contextlib.contextmanager
def loaded_broker(work: Path, topic: str, events: int) -> Iterator[tuple[Any, Path]]:
    """A started broker (the test harness's) whose 3-partition `topic` holds `events`
    synthetic events, and a baseline for them: (broker, baseline path)."""
    from bench.calibration import make_baseline
    from driftwarden.baselines.store import BaselineStore
    from tests.support.kafka_broker import KafkaBroker, ensure_libs

    ensure_libs()
    baseline = BaselineStore(work / "baselines").write(make_baseline())
    broker = KafkaBroker(work / "broker")
    broker.start()
    try:
        broker.create_topic(topic, partitions=3)
        began = time.monotonic()
        produce(
            broker.bootstrap,
            topic,
            payloads(_templates(min(events, 100_000)), EVENTS_START),
            events,
        )
        print(f"produced {events} in {time.monotonic() - began:.1f}s", file=sys.stderr)
        yield broker, baseline
    finally:
        broker.stop()


# --- the daemon ----------------------------------------------------------------------------


def write_config(
    work: Path,
    bootstrap: str,
    topic: str,
    group: str,
    baseline: Path,
    *,
    decode_workers: int | str = "auto",
) -> Path:
    config = {
        "environment": "bench",
        "decode_workers": decode_workers,
        "baselines": [str(baseline)],
        "policy": {"window": {"kind": "time", "size": WINDOW, "allowed_lateness": "2s"}},
        "dead_letter": {"path": str(work / "dead-letter.jsonl")},
        "kafka": {
            "bootstrap_servers": [bootstrap],
            "topics": [topic],
            "group_id": group,
            "max_poll_records": MAX_POLL_RECORDS,
            "session_timeout": "10s",
            "heartbeat_interval": "2s",
        },
        "checkpoint": {
            "backend": "directory",
            "directory": str(work / f"checkpoints-{group}"),
            "interval": "10s",
        },
        "metrics": {"enabled": True, "host": "127.0.0.1", "port": 0},
        "alerting": {"state_directory": str(work / f"alerts-{group}")},
        "logging": {"format": "json", "level": "info"},  # metrics_listening names the port
        "shutdown": {"grace_period": "20s"},
    }
    path = work / f"{group}.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "driftwarden.monitor.cli", "run", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.port = 0

    def _find_port(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if '"metrics_listening"' in line:
                    port = int(json.loads(line)["port"])
                    if self._answers(port):
                        return port
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("daemon did not report its metrics port")

    @staticmethod
    def _answers(port: int) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
        except OSError:
            return False
        return True

    def consumed(self) -> float:
        if not self.port:
            self.port = self._find_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("driftwarden_events_consumed_total{")
        )

    def rss_mib(self) -> float:
        """VmRSS of the daemon plus its child processes (the decode worker).

        Pages a forked worker still shares with the daemon count twice: an
        overstatement, on the safe side of a memory budget.
        """
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        pids = [pid, *map(int, children.read_text().split())] if children.exists() else [pid]
        return sum(_vm_rss_mib(p) for p in pids)

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)


def _vm_rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Setup:
    work: Path
    bootstrap: str
    baseline: Path

    def daemon(self, topic: str, group: str, decode_workers: int | str = "auto") -> Daemon:
        # One log per daemon: the metrics port is read from its own file.
        config = write_config(
            self.work, self.bootstrap, topic, group, self.baseline, decode_workers=decode_workers
        )
        return Daemon(config, self.work / f"{group}.log")


Reading = tuple[float, float, float]  # (monotonic time, records consumed, extra reading)


def consuming_span(
    daemon: Daemon, n: int, extra: Callable[[], float] = lambda: 0.0
) -> tuple[Reading, Reading]:
    """The first and the last scrape taken while the daemon consumed its n records.

    Both ends are scrapes with exact counts, so the scrape interval adds no
    rounding at either end; scraping every `SCRAPE_INTERVAL` (each scrape costs
    the daemon ~3.5 ms of CPU) keeps the observer's share of the daemon's CPU
    near 1%. `extra` is read beside each scrape (the daemon's CPU seconds, say).
    """
    first: Reading | None = None
    last: Reading | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        seen = daemon.consumed()
        reading = (time.monotonic(), seen, extra())
        if seen >= n:
            if first is None or last is None or last[0] == first[0]:
                raise RuntimeError("too few scrapes while consuming; use more --events")
            return first, last
        if seen > 0:
            first = first or reading
            last = reading
        time.sleep(SCRAPE_INTERVAL)
    raise RuntimeError("daemon did not consume every record within 600s")


def span_rate(span: tuple[Reading, Reading]) -> float:
    first, last = span
    return (last[1] - first[1]) / (last[0] - first[0])


def daemon_rate(
    setup: Setup, topic: str, n: int, run: int, decode_workers: int | str = "auto"
) -> float:
    """Records per second between the first and the last scrape taken while consuming."""
    group = f"bench-daemon-{decode_workers}-{run}-{os.getpid()}"
    daemon = setup.daemon(topic, group, decode_workers)
    try:
        return span_rate(consuming_span(daemon, n))
    finally:
        daemon.stop()


def bare_rate(bootstrap: str, topic: str, n: int, run: int, isolation: str) -> float:
    group = f"bench-bare-{isolation}-{run}-{os.getpid()}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.daemon_throughput",
            "--bare-consumer",
            bootstrap,
            topic,
            group,
            str(n),
            isolation,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["rate"])


def bare_consumer(bootstrap: str, topic: str, group: str, n: int, isolation: str) -> int:
    """The child side of `bare_rate`: read n records, print the rate as JSON.

    `isolation` is the daemon's (`read_committed`, its default: records of aborted
    transactions are never counted) for the like-for-like reader, or kafka-python's
    default `read_uncommitted`.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=MAX_POLL_RECORDS,
        isolation_level=isolation,
        bootstrap_timeout_ms=10_000,
    )
    seen = 0
    first: tuple[float, int] | None = None  # like the daemon's: time and count at first sight
    deadline = time.monotonic() + 600
    while seen < n and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            seen += len(batch)
        if first is None and seen:
            first = (time.monotonic(), seen)
    elapsed = time.monotonic() - first[0] if first else float("nan")
    consumer.close(autocommit=False)
    rate = (seen - first[1]) / elapsed if first else 0.0
    print(json.dumps({"records": seen, "seconds": elapsed, "rate": rate}))
    return 0


# --- RSS over a long stream ----------------------------------------------------------------


def rss_run(
    setup: Setup, templates: Sequence[tuple[float, bytes]], seconds: float, admin: Any
) -> list[dict[str, float]]:
    topic = "bench-rss"
    admin.create_topic(topic, partitions=3)
    progress = [0]
    stop = threading.Event()
    source = payloads(templates, start=EVENTS_START)
    producer = threading.Thread(
        target=produce,
        args=(setup.bootstrap, topic, source, 10**9),
        kwargs={"progress": progress, "stop": stop},
        daemon=True,
    )
    daemon = setup.daemon(topic, f"bench-rss-{os.getpid()}")
    samples: list[dict[str, float]] = []
    began = time.monotonic()
    try:
        daemon.consumed()  # up and listening
        producer.start()
        while time.monotonic() - began < seconds:
            time.sleep(5.0)
            samples.append(
                {
                    "seconds": round(time.monotonic() - began, 1),
                    "produced": progress[0],
                    "consumed": daemon.consumed(),
                    "rss_mib": round(daemon.rss_mib(), 1),
                }
            )
            print(json.dumps(samples[-1]), file=sys.stderr)
        stop.set()
        producer.join(timeout=120)
    finally:
        stop.set()
        daemon.stop()
    return samples


# --- report --------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
        f"{mem:.0f} GiB RAM, Python {platform.python_version()}"
    )


def _auto_decode_workers() -> int:
    from driftwarden.monitor.ingest.decode_pool import decode_workers

    return decode_workers("auto")


def _cost_sentence(d: Sequence[float], b: Sequence[float], ip: Sequence[float]) -> str:
    """The daemon's own cost per event from the medians, in words that survive noise."""
    bare_us = 1e6 / statistics.median(b)
    in_process = (
        f" With decoding in-process it costs "
        f"{(1 / statistics.median(ip) - 1 / statistics.median(b)) * 1e6:.1f} µs per event."
        if ip
        else ""
    )
    extra = (1 / statistics.median(d) - 1 / statistics.median(b)) * 1e6
    if extra <= 0:
        return (
            f"Here the daemon's median is at or above the bare consumer's ({bare_us:.1f} µs per "
            "event): the spread between repeats is larger than the daemon's own work, which no "
            "longer shows in the medians." + in_process
        )
    return (
        f"From the medians the daemon's own work costs {extra:.1f} µs per event on top of the "
        f"consumer's {bare_us:.1f} µs." + in_process
    )


def render(result: dict[str, Any]) -> str:
    d, b = result["daemon_rates"], result["bare_rates"]
    u = result.get("bare_read_uncommitted_rates") or []
    ip = result.get("daemon_in_process_rates") or []
    ratio = result["ratio"]
    lines = [
        SECTION,
        "",
        f"- Command: `{result['command']}`",
        f"- Date (UTC): {result['date']}",
        f"- Machine: {result['machine']}; broker (Kafka {result['kafka']}, one KRaft node) "
        "and clients on the same host",
        f"- Topic: 3 partitions, {result['events']:,} synthetic prediction events "
        f"(~{result['payload_bytes']} bytes of JSON each), `max_poll_records` {MAX_POLL_RECORDS}, "
        f"{result['repeats']} interleaved repeats, medians",
        "",
        "| Consumer | events/s per repeat | median |",
        "|---|---|---|",
        f"| `driftwarden run`, defaults (decode, {WINDOW} windows, verdicts, checkpoints, "
        f"commits; `decode_workers: auto` = {result.get('decode_workers', '?')} worker here) | "
        f"{', '.join(f'{r:,.0f}' for r in d)} | **{statistics.median(d):,.0f}** |",
        *(
            [
                "| `driftwarden run` with `decode_workers: 0` (decoding in the daemon's own "
                "process) | "
                f"{', '.join(f'{r:,.0f}' for r in ip)} | **{statistics.median(ip):,.0f}** |"
            ]
            if ip
            else []
        ),
        "| bare kafka-python consumer, the daemon's client settings (group subscribe, raw bytes, "
        "`isolation_level=read_committed`, no processing) | "
        f"{', '.join(f'{r:,.0f}' for r in b)} | **{statistics.median(b):,.0f}** |",
        *(
            [
                "| bare kafka-python consumer, kafka-python defaults "
                "(`isolation_level=read_uncommitted`) | "
                f"{', '.join(f'{r:,.0f}' for r in u)} | **{statistics.median(u):,.0f}** |"
            ]
            if u
            else []
        ),
        "",
        f"Ratio daemon / bare consumer with the same client settings (medians): "
        f"**{ratio:.2f}x** (target >= {TARGET_RATIO}x: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})"
        + (
            f"; against the read_uncommitted reader: "
            f"**{statistics.median(d) / statistics.median(u):.2f}x**."
            if u
            else "."
        ),
        "",
        "Where the difference goes: both read the same records through the same kafka-python "
        "client, whose record parsing is most of the cost and runs in the consuming process. "
        "The daemon also decodes each event, assigns it to a window and adds it to the "
        "window's histograms (the replay path); by default a forked decode worker does the "
        "decoding and counting of one poll while the daemon fetches the next "
        "(`monitor/ingest/decode_pool.py`), with the broker on the same 2 cores. "
        + _cost_sentence(d, b, ip)
        + " The rates are noisy on a shared host (see the per-repeat spread); "
        "`bench/results/daemon_throughput-*.json` keeps every number.",
        "",
        f"### RSS over a long stream ({result['rss_seconds']:.0f} s)",
        "",
        "Events produced while the daemon runs (event time advancing, so windows keep closing); "
        "VmRSS of the daemon process and its decode worker (summed; pages they share count "
        "twice) every 5 s.",
        "",
        "| s | produced | consumed | RSS MiB |",
        "|---|---|---|---|",
    ]
    samples = result["rss_samples"]
    step = max(1, len(samples) // 10)  # every sample is in the JSON result file
    lines.extend(
        f"| {s['seconds']:.0f} | {s['produced']:,} | {s['consumed']:,.0f} | {s['rss_mib']:.1f} |"
        for s in [*samples[:-1:step], *samples[-1:]]
    )
    if samples:
        consumed = samples[-1]["consumed"]
        rss = [s["rss_mib"] for s in samples]
        half = [s["rss_mib"] for s in samples if s["consumed"] >= consumed / 2]
        lines += [
            "",
            f"{consumed:,.0f} events consumed in {result['rss_seconds']:.0f} s"
            + (
                ""
                if consumed >= 5_000_000
                else " (fewer than 5M: producing with kafka-python on this host is the limit)"
            )
            + f". RSS min / max "
            f"{min(rss):.1f} / {max(rss):.1f} MiB; over the second half of the stream "
            f"{min(half):.1f} / {max(half):.1f} MiB.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--bare-consumer"]:
        bootstrap, topic, group, n, isolation = argv[1:6]
        return bare_consumer(bootstrap, topic, group, int(n), isolation)
    parser = argparse.ArgumentParser(prog="bench.daemon_throughput")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rss-seconds", type=float, default=300.0)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)

    from bench.calibration import make_baseline
    from driftwarden.baselines.store import BaselineStore
    from tests.support.kafka_broker import KAFKA_VERSION, KafkaBroker, ensure_libs

    ensure_libs()
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        work = Path(tmp)
        baseline = BaselineStore(work / "baselines").write(make_baseline())
        broker = KafkaBroker(work / "broker")
        broker.start()
        setup = Setup(work, broker.bootstrap, baseline)
        try:
            topic = "bench-throughput"
            broker.create_topic(topic, partitions=3)
            templates = _templates(min(args.events, 100_000))
            began = time.monotonic()
            produce(broker.bootstrap, topic, payloads(templates, EVENTS_START), args.events)
            print(f"produced {args.events} in {time.monotonic() - began:.1f}s", file=sys.stderr)
            daemon_rates, in_process_rates, bare_rates, uncommitted_rates = [], [], [], []
            for run in range(args.repeats):
                daemon_rates.append(daemon_rate(setup, topic, args.events, run))
                in_process_rates.append(daemon_rate(setup, topic, args.events, run, 0))
                bare_rates.append(
                    bare_rate(broker.bootstrap, topic, args.events, run, "read_committed")
                )
                uncommitted_rates.append(
                    bare_rate(broker.bootstrap, topic, args.events, run, "read_uncommitted")
                )
                print(
                    f"repeat {run}: daemon {daemon_rates[-1]:,.0f}/s "
                    f"(in-process decoding {in_process_rates[-1]:,.0f}/s), "
                    f"bare {bare_rates[-1]:,.0f}/s"
                    f" (read_uncommitted {uncommitted_rates[-1]:,.0f}/s)",
                    file=sys.stderr,
                )
            samples = (
                rss_run(setup, templates, args.rss_seconds, broker) if args.rss_seconds > 0 else []
            )
        finally:
            broker.stop()
    result = {
        "command": " ".join(["uv run python -m bench.daemon_throughput", shlex.join(argv)]).strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "kafka": KAFKA_VERSION,
        "events": args.events,
        "payload_bytes": round(sum(len(b) for _, b in templates[:1000]) / 1000 + 30),
        "repeats": args.repeats,
        "daemon_rates": daemon_rates,
        "daemon_in_process_rates": in_process_rates,
        "decode_workers": _auto_decode_workers(),
        "bare_rates": bare_rates,
        "bare_read_uncommitted_rates": uncommitted_rates,
        "ratio_to_read_uncommitted": statistics.median(daemon_rates)
        / statistics.median(uncommitted_rates),
        "ratio": statistics.median(daemon_rates) / statistics.median(bare_rates),
        "rss_seconds": args.rss_seconds,
        "rss_samples": samples,
    }
    out = Path("bench/results") / f"daemon_throughput-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    section = render(result)
    print(section)
    if not args.no_docs:
        update_section(DOCS, SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
