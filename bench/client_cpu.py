"""CPU time per event of the librdkafka daemon and of a bare confluent-kafka consumer, one run.

    uv run python -m bench.client_cpu --events 500000 --repeats 3

`bench.client_throughput` compares rates, which on a shared machine measure the
share of the CPUs each consumer got as much as its cost: with ten runnable jobs
on two cores, a consumer of two processes (the daemon and its decode worker)
and one of a single process get very different shares. This measures the cost
itself: the CPU seconds (user + system, every thread, the decode worker
included) spent between the first and the last progress reading, divided by the
records read between them. Same broker, topic and events as
`bench.client_throughput`; per repeat, interleaved:

1. `driftwarden run`, `kafka.client: librdkafka`, `decode_workers: auto`;
2. the same with `decode_workers: 0` (the whole path in one process);
3. the bare confluent-kafka consumer of `bench.client_throughput`, in a child
   process that reads its own CPU time (`time.process_time`).

On an otherwise idle machine the rate of a consumer that owns one core is
1 / (its CPU per event); a daemon whose decode worker runs on a second core is
bounded by its busier process instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.daemon_throughput import (
    MAX_POLL_RECORDS,
    Daemon,
    consuming_span,
    loaded_broker,
    write_config,
)

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the decode worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *map(int, children.read_text().split())] if children.exists() else [pid]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def daemon_cost(
    work: Path, bootstrap: str, baseline: Path, topic: str, n: int, *, workers: int | str, run: int
) -> tuple[float, float]:
    """(events/s, CPU µs per event) of the librdkafka daemon between two readings."""
    group = f"cpu-{workers}-{run}-{os.getpid()}"
    path = write_config(work, bootstrap, topic, group, baseline, decode_workers=workers)
    config = json.loads(path.read_text())
    config["kafka"]["client"] = "librdkafka"
    path.write_text(json.dumps(config, indent=1))
    daemon = Daemon(path, work / f"{group}.log")
    try:
        first, last = consuming_span(daemon, n, lambda: _cpu_seconds(daemon.proc.pid))
    finally:
        daemon.stop()
    events = last[1] - first[1]
    return events / (last[0] - first[0]), (last[2] - first[2]) / events * 1e6


def bare_cost(bootstrap: str, topic: str, n: int, run: int) -> tuple[float, float]:
    group = f"cpu-bare-{run}-{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.client_cpu", "--bare", bootstrap, topic, group, str(n)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["rate"]), float(result["cpu_us"])


def bare(bootstrap: str, topic: str, group: str, n: int) -> int:
    """The child of `bare_cost`: `bench.client_throughput`'s bare consumer, with its CPU."""
    from confluent_kafka import Consumer

    from driftwarden.monitor.config import KafkaSettings
    from driftwarden.monitor.kafka.client import KafkaClientConfig
    from driftwarden.monitor.kafka.rdkafka_config import consumer_config

    settings = KafkaSettings(
        client="librdkafka", bootstrap_servers=[bootstrap], topics=[topic], group_id=group
    )
    consumer = Consumer(consumer_config(KafkaClientConfig.from_settings(settings)))
    consumer.subscribe([topic])
    seen = 0
    first: tuple[float, float, int] | None = None
    deadline = time.monotonic() + 600
    while seen < n and time.monotonic() < deadline:
        messages = consumer.consume(num_messages=MAX_POLL_RECORDS, timeout=0.5)
        seen += sum(1 for m in messages if m.error() is None)
        if first is None and seen:
            first = (time.monotonic(), time.process_time(), seen)
    wall, cpu = time.monotonic(), time.process_time()
    consumer.close()
    if first is None:
        raise SystemExit("read nothing")
    events = seen - first[2]
    rate, cpu_us = events / (wall - first[0]), (cpu - first[1]) / events * 1e6
    print(json.dumps({"records": seen, "rate": rate, "cpu_us": cpu_us}))
    return 0


def _row(label: str, results: Sequence[tuple[float, float]]) -> str:
    rates = [r for r, _ in results]
    cpus = [c for _, c in results]
    return (
        f"| {label} | {', '.join(f'{c:.2f}' for c in cpus)} | **{statistics.median(cpus):.2f}** "
        f"| {', '.join(f'{r:,.0f}' for r in rates)} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--bare"]:
        bootstrap, topic, group, n = argv[1:5]
        return bare(bootstrap, topic, group, int(n))
    parser = argparse.ArgumentParser(prog="bench.client_cpu")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    results: dict[str, list[tuple[float, float]]] = {"auto": [], "0": [], "bare": []}
    loads = [os.getloadavg()]
    topic = "bench-clients"
    with (
        tempfile.TemporaryDirectory(prefix="dw-cpu-") as tmp,
        loaded_broker(Path(tmp), topic, args.events) as (broker, baseline),
    ):
        common = (Path(tmp), broker.bootstrap, baseline, topic, args.events)
        for run in range(args.repeats):
            results["auto"].append(daemon_cost(*common, workers="auto", run=run))
            results["0"].append(daemon_cost(*common, workers=0, run=run))
            results["bare"].append(bare_cost(broker.bootstrap, topic, args.events, run))
            print(f"repeat {run}: {[(k, v[-1]) for k, v in results.items()]}", file=sys.stderr)
    loads.append(os.getloadavg())
    print(f"load average (1, 5, 15 min) at start {loads[0]}, at end {loads[1]}")
    print("| consumer | CPU µs per event, per repeat | median | events/s per repeat |")
    print("|---|---|---|---|")
    print(_row("`driftwarden run`, librdkafka, `decode_workers: auto` (1)", results["auto"]))
    print(_row("`driftwarden run`, librdkafka, `decode_workers: 0`", results["0"]))
    print(_row("bare confluent-kafka consumer", results["bare"]))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
