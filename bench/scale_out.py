"""Members of one consumer group in `group.mode: partitioned`: aggregate rate and RSS (issue 17).

    uv run python -m bench.scale_out                         # 1, 2, 3 members, updates docs
    uv run python -m bench.scale_out --rss                   # RSS of one member over 5M events
    uv run python -m bench.scale_out --events 200000 --repeats 1 --no-docs   # a smoke run

One broker (the test harness's, same pinned jars) on 127.0.0.1 and one
12-partition topic filled before any member starts with `--events` synthetic
prediction events (bench.daemon_throughput's, round-robin over the partitions so
each is in event-time order), then one sentinel per partition three windows
later, so every member's watermark passes the last data window and every window
closes. The topic is filled with confluent-kafka's producer, streaming from the
generator (nothing held in memory): kafka-python's producer is too slow on this
host for 5M events.

Throughput (default): per repeat, for each member count (the order rotates
between repeats so a machine getting busier does not favour one count), that
many `driftwarden run` members start at once in a fresh consumer group
(`group.mode: partitioned`, `checkpoint.backend: kafka`, their own partials and
checkpoint topics, 10 s windows, defaults otherwise: `decode_workers: auto`).
Timed from the first scrape of /metrics (every 250 ms, any member) that shows a
record consumed, to the moment the merged verdict logs (every member's, the last
record per window) count exactly `--events` events: the end is exact and
end-to-end (read, decode, count, publish partials, merge, evaluate); the start is
late by at most one scrape interval. A run whose merged counts are not exactly
`--events` is an error: nothing lost, nothing counted twice. CPU seconds of each
member (its process tree: the daemon and its decode worker) and of the broker
are read from /proc over the same interval.

RSS (`--rss`): one member (`--members 1,3` adds a run of three) reads the whole
topic (default 5,000,000 events); every second each member's VmRSS summed over
its process tree (pages a forked worker shares with its parent count twice: an
overstatement) and its records consumed are sampled. Reported: RSS at 10, 50, 90
and 100% of the events, the maximum, and the slope (MiB per million events, least
squares) after the first 20% (warm-up).

Results go to `bench/results/scale_out-*.json` and, unless `--no-docs`, to
docs/benchmarks.md (one section per mode).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.daemon_throughput import (
    EVENTS_START,
    SCRAPE_INTERVAL,
    Daemon,
    _templates,
    machine,
    payloads,
    write_config,
)
from bench.docs import DOCS, update_section

SECTION = "## Scale-out: members of one group (issue 17)"
RSS_SECTION = "## Scale-out: RSS per member (issue 17)"
PARTITIONS = 12
WINDOW_SECONDS = 10.0  # bench.daemon_throughput.WINDOW
TICKS = os.sysconf("SC_CLK_TCK")
RUN_TIMEOUT = 1200.0
STALL_SECONDS = 120.0  # every event read, nothing merged for this long: stalled (the
# merger watchdog replaces a stalled merger after 40 s here, 10 s sessions: a run it rescues
# is slow, not stalled)
RETRIES = 2  # fresh groups tried after a stalled one, per run


class StalledError(RuntimeError):
    """Every event was read but merging stopped: no member merges (see `Group.merger_events`)."""


# --- the topic -----------------------------------------------------------------------------


def fill(bootstrap: str, topic: str, n: int, templates: Sequence[tuple[float, bytes]]) -> int:
    """Produce n events round-robin over the partitions, then one sentinel per partition
    three windows after the last; returns the sentinels' window index."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,  # no reordering within a partition on retries
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
        }
    )
    last = EVENTS_START

    def send(payload: bytes, partition: int) -> None:
        while True:
            try:
                producer.produce(topic, payload, partition=partition)
                return
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.05)

    for i, payload in enumerate(itertools.islice(payloads(templates, EVENTS_START), n)):
        send(payload, i % PARTITIONS)
        if i % 10_000 == 0:
            producer.poll(0)
        if i == n - 1:
            last = float(json.loads(payload)["timestamp"])
    sentinel_start = (int(last // WINDOW_SECONDS) + 3) * WINDOW_SECONDS + 1.0
    for p, payload in enumerate(itertools.islice(payloads(templates, sentinel_start), PARTITIONS)):
        send(payload, p)
    if producer.flush(300) != 0:
        raise RuntimeError(f"producing to {topic}: records still unacknowledged after 300 s")
    return int(sentinel_start // WINDOW_SECONDS)


# --- /proc ---------------------------------------------------------------------------------


def process_trees(roots: Iterable[int]) -> dict[int, list[int]]:
    """Each root pid with its live descendants (the daemon's forked decode worker)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    trees = {}
    for root in roots:
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        trees[root] = tree
    return trees


def cpu_seconds(tree: Sequence[int]) -> float:
    """User + system CPU of the processes (and of their children already reaped)."""
    total = 0
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def rss_mib(tree: Sequence[int]) -> float:
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return total / 1024


# --- the members ---------------------------------------------------------------------------


@dataclass
class MergedVerdicts:
    """The members' verdict logs read incrementally: events per window, last record wins."""

    paths: list[Path]
    below: int  # windows at or after this index (the sentinels') are left out
    events: dict[tuple[str, int], int] = field(default_factory=dict)
    records: int = 0
    by_path: dict[Path, int] = field(default_factory=dict)  # records each log held
    _offsets: dict[Path, int] = field(default_factory=dict)

    def total(self) -> int:
        for path in self.paths:
            if not path.exists():
                continue
            with path.open("rb") as handle:
                handle.seek(self._offsets.get(path, 0))
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                record = json.loads(line)
                if record["window_index"] < self.below:
                    self.events[(record["model_id"], record["window_index"])] = record["events"]
                    self.records += 1
                    self.by_path[path] = self.by_path.get(path, 0) + 1
        return sum(self.events.values())


@dataclass
class Group:
    """`count` members of one fresh consumer group, started at once."""

    members: list[Daemon]
    verdicts: MergedVerdicts
    dirs: list[Path]

    def consumed(self) -> list[float]:
        return [m.consumed() for m in self.members]

    def trees(self) -> list[list[int]]:
        trees = process_trees(m.proc.pid for m in self.members)
        return [trees[m.proc.pid] for m in self.members]

    def merged_by(self) -> list[int]:
        """The members that logged verdicts, i.e. merged (the merger can move at a rebalance)."""
        return [
            i for i, d in enumerate(self.dirs) if self.verdicts.by_path.get(d / "verdicts.jsonl")
        ]

    def merger_events(self) -> dict[str, int]:
        """How often each merger lifecycle event (and the merge group's assignor's
        `topic_metadata_missing`) was logged, over all members."""
        seen: dict[str, int] = {}
        for member in self.members:
            for line in member.log.read_text(errors="replace").splitlines():
                if ('"merger_' in line or "topic_metadata_missing" in line) and line[:1] == "{":
                    event = str(json.loads(line).get("event"))
                    seen[event] = seen.get(event, 0) + 1
        return seen

    def keep_logs(self, why: str) -> Path:
        """Copy the members' logs to bench/results/<why>-*.log, for whoever looks into it."""
        kept = Path("bench/results")
        kept.mkdir(parents=True, exist_ok=True)
        for m, member in enumerate(self.members):
            shutil.copy(member.log, kept / f"{why}-{member.log.parent.parent.name}-{m}.log")
        return kept

    def watch(self, events: int, merged: int, state: list[float]) -> None:
        """Raise StalledError when every event was read and `merged` has not moved for
        STALL_SECONDS; `state` is [last merged, since when]."""
        for member in self.members:
            if member.proc.poll() is not None:
                tail = member.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"a member exited ({member.proc.returncode}):\n{tail}")
        now = time.monotonic()
        if merged != state[0]:
            state[:] = [merged, now]
        elif sum(self.consumed()) >= events + PARTITIONS and now - state[1] > STALL_SECONDS:
            kept = self.keep_logs("stalled")
            raise StalledError(
                f"{len(self.members)} members read every event but merged {merged} events "
                f"in {STALL_SECONDS:.0f} s; merger events logged: {self.merger_events()}; "
                f"logs kept in {kept}/stalled-*"
            )

    def stop(self) -> list[int]:
        for member in self.members:
            member.proc.terminate()
        codes = []
        for member in self.members:
            try:
                codes.append(member.proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                member.proc.kill()
                codes.append(member.proc.wait(timeout=10))
        return codes


@dataclass(frozen=True)
class Setup:
    work: Path
    bootstrap: str
    baseline: Path
    broker_pid: int
    topic: str
    events: int
    sentinel_window: int

    def group(self, name: str, count: int) -> Group:
        """`count` members of a fresh group `name`, each with its own config and files."""
        dirs, members = [], []
        for m in range(count):
            home = self.work / name / f"member-{m}"
            home.mkdir(parents=True)
            path = write_config(home, self.bootstrap, self.topic, name, self.baseline)
            config = json.loads(path.read_text())
            config["group"] = {"mode": "partitioned", "partials_topic": f"{name}-partials"}
            config["checkpoint"] = {
                "backend": "kafka",
                "topic": f"{name}-checkpoints",
                "interval": "10s",
            }
            config["verdict_log"] = str(home / "verdicts.jsonl")
            path.write_text(json.dumps(config, indent=1))
            dirs.append(home)
            members.append(Daemon(path, home / "daemon.log"))
        verdicts = MergedVerdicts([d / "verdicts.jsonl" for d in dirs], self.sentinel_window)
        return Group(members, verdicts, dirs)


# --- throughput ----------------------------------------------------------------------------


def timed_run(setup: Setup, count: int, run: int) -> dict[str, Any]:
    """`count` members read the topic; rate from first consumed to every event merged."""
    group = setup.group(f"scale-{count}-{run}-{os.getpid()}", count)
    try:
        for member in group.members:
            member.consumed()  # each one up and listening
        first: tuple[float, list[float], float] | None = None
        deadline = time.monotonic() + RUN_TIMEOUT
        progress = [0.0, time.monotonic()]
        while time.monotonic() < deadline:
            if first is None and sum(group.consumed()) > 0:
                first = (time.monotonic(), _cpu(group), _broker_cpu(setup))
            total = group.verdicts.total() if first is not None else 0
            group.watch(setup.events, total, progress)
            if total >= setup.events:
                end = (time.monotonic(), _cpu(group), _broker_cpu(setup))
                break
            time.sleep(SCRAPE_INTERVAL)
        else:
            raise RuntimeError(f"{count} members did not merge every event in {RUN_TIMEOUT} s")
        assert first is not None
        consumed = group.consumed()
        merged_by = group.merged_by()
        merger_events = group.merger_events()
        if merger_events.get("merger_restarted"):
            group.keep_logs("restarted")  # where the watchdog found the merger stuck
    finally:
        codes = group.stop()
    if total != setup.events:
        raise RuntimeError(f"{count} members: merged verdicts count {total}, not {setup.events}")
    seconds = end[0] - first[0]
    return {
        "members": count,
        "seconds": seconds,
        "rate": setup.events / seconds,
        "member_cpu": [b - a for a, b in zip(first[1], end[1], strict=True)],
        "broker_cpu": end[2] - first[2],
        "consumed": consumed,  # per member, re-reads after a rebalance included
        "windows": len(group.verdicts.events),
        "verdict_records": group.verdicts.records,
        "merged_by": merged_by,
        "merger_events": merger_events,  # restarts and metadata races, for the record
        "exit_codes": codes,
    }


def _cpu(group: Group) -> list[float]:
    return [cpu_seconds(tree) for tree in group.trees()]


def _broker_cpu(setup: Setup) -> float:
    return cpu_seconds([setup.broker_pid])


def retried(
    measure: Callable[..., dict[str, Any]], setup: Setup, count: int, run: int,
    stalls: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """`measure` in a fresh group, again (up to RETRIES times) when its merging stalls."""
    for attempt in range(RETRIES + 1):
        try:
            return measure(setup, count, run * 10 + attempt)
        except StalledError as exc:
            stalls.append({"members": count, "repeat": run, "attempt": attempt, "why": str(exc)})
            print(f"STALLED: {exc}", file=sys.stderr)
    raise RuntimeError(f"{count} members: merging stalled {RETRIES + 1} times in a row")


def throughput(
    setup: Setup, counts: Sequence[int], repeats: int, stalls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    runs = []
    for run in range(repeats):
        shift = run % len(counts)
        for count in [*counts[shift:], *counts[:shift]]:
            runs.append(retried(timed_run, setup, count, run, stalls))
            r = runs[-1]
            print(
                f"repeat {run}, {count} member(s): {r['rate']:,.0f} events/s in "
                f"{r['seconds']:.1f} s, member CPU {[round(c, 1) for c in r['member_cpu']]} s, "
                f"broker CPU {r['broker_cpu']:.1f} s, merged by {r['merged_by']}",
                file=sys.stderr,
            )
    return runs


# --- RSS -----------------------------------------------------------------------------------


def rss_run(setup: Setup, count: int, run: int = 0) -> dict[str, Any]:
    """`count` members read the whole topic; RSS and records consumed every second."""
    group = setup.group(f"rss-{count}-{run}-{os.getpid()}", count)
    progress = [0.0, time.monotonic()]
    samples: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        for member in group.members:
            member.consumed()
        while time.monotonic() - began < RUN_TIMEOUT:
            trees = group.trees()
            samples.append(
                {
                    "seconds": round(time.monotonic() - began, 1),
                    "consumed": group.consumed(),
                    "rss_mib": [round(rss_mib(t), 1) for t in trees],
                    "merged": group.verdicts.total(),
                }
            )
            if samples[-1]["merged"] >= setup.events:
                break
            group.watch(setup.events, samples[-1]["merged"], progress)
            if len(samples) % 15 == 0:
                print(json.dumps(samples[-1]), file=sys.stderr)
            time.sleep(1.0)
        else:
            raise RuntimeError(f"{count} members did not merge every event in {RUN_TIMEOUT} s")
    finally:
        codes = group.stop()
    return {"members": count, "samples": samples, "exit_codes": codes,
            "summary": rss_summary(samples, setup.events)}  # fmt: skip


def rss_summary(samples: Sequence[dict[str, Any]], events: int) -> list[dict[str, Any]]:
    """Per member: RSS at 10/50/90/100% of the group's events read, max, slope after 20%."""
    out = []
    for m in range(len(samples[0]["rss_mib"])):
        at = {}
        for share in (0.1, 0.5, 0.9, 1.0):
            hit = next((s for s in samples if sum(s["consumed"]) >= share * events), samples[-1])
            at[f"{share:.0%}"] = hit["rss_mib"][m]
        late = [
            (sum(s["consumed"]) / 1e6, s["rss_mib"][m])
            for s in samples
            if sum(s["consumed"]) >= 0.2 * events
        ]
        slope = statistics.linear_regression(*zip(*late, strict=True)).slope
        out.append({"at": at, "max": max(s["rss_mib"][m] for s in samples), "slope": slope})
    return out


# --- report --------------------------------------------------------------------------------


def _median(runs: Sequence[dict[str, Any]], count: int, key: str) -> float:
    return float(statistics.median(r[key] for r in runs if r["members"] == count))


def render_throughput(result: dict[str, Any]) -> str:
    runs, counts = result["runs"], result["counts"]
    one = _median(runs, counts[0], "rate")
    lines = [
        SECTION,
        "",
        f"- Command: `{result['command']}`",
        f"- Date (UTC): {result['date']}; commit {result['commit']}",
        f"- Machine: {result['machine']}; broker (Kafka {result['kafka']}, one KRaft node), "
        "every member and its decode worker on the same 2 cores, shared with other work",
        f"- Load average before: {result['load_before']}; after: {result['load_after']}",
        f"- Topic: {PARTITIONS} partitions, {result['events']:,} synthetic prediction events "
        f"(bench.daemon_throughput's), 10 s windows; {result['repeats']} repeats, member "
        "counts interleaved, medians; a fresh group (and partials and checkpoint topics) per run",
        "",
        "| members | events/s per repeat | median | x 1 member | member CPU s (each, median "
        "run) | member CPU µs per event | broker CPU s | CPU used / wall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for count in counts:
        mine = [r for r in runs if r["members"] == count]
        mid = sorted(mine, key=lambda r: r["rate"])[len(mine) // 2]
        cpu = sum(mid["member_cpu"])
        rates = ", ".join(f"{r['rate']:,.0f}" for r in mine)
        lines.append(
            f"| {count} | {rates} | "
            f"**{_median(runs, count, 'rate'):,.0f}** | "
            f"{_median(runs, count, 'rate') / one:.2f}x | "
            f"{', '.join(f'{c:.1f}' for c in mid['member_cpu'])} | "
            f"{cpu / result['events'] * 1e6:.1f} | {mid['broker_cpu']:.1f} | "
            f"{(cpu + mid['broker_cpu']) / mid['seconds']:.2f} cores |"
        )
    lines += [
        "",
        "Every run's merged verdicts counted exactly "
        f"{result['events']:,} events over {runs[0]['windows']} windows (nothing lost, nothing "
        "counted twice). Member CPU is the daemon's process tree (daemon and decode worker); "
        "the per-event column sums the members' CPU over the events; CPU used / wall adds the "
        "broker's. `bench/results/scale_out-*.json` keeps every run.",
        *_stall_lines(result),
    ]
    return "\n".join(lines) + "\n"


def _stall_lines(result: dict[str, Any]) -> list[str]:
    """Runs in which every event was read but merging stopped (retried in a fresh group)."""
    if not result["stalls"]:
        return []
    return [
        "",
        f"Merging stalled in {len(result['stalls'])} run(s), each retried in a fresh group "
        "(not in the table):",
        "",
        *(
            f"- {s['members']} member(s), repeat {s['repeat']}, attempt {s['attempt']}: {s['why']}"
            for s in result["stalls"]
        ),
    ]


def render_rss(result: dict[str, Any]) -> str:
    lines = [
        RSS_SECTION,
        "",
        f"- Command: `{result['command']}`",
        f"- Date (UTC): {result['date']}; commit {result['commit']}",
        f"- Machine: {result['machine']}; broker (Kafka {result['kafka']}) on the same host",
        f"- Load average before: {result['load_before']}; after: {result['load_after']}",
        f"- Topic: {PARTITIONS} partitions, {result['events']:,} events, 10 s windows "
        f"({result['events'] // 20_000} windows); `group.mode: partitioned`, defaults otherwise",
        "- RSS: VmRSS of a member's process tree (daemon + decode worker; shared pages count "
        "twice), sampled every second; the % columns are the group's share of events read",
        "",
        "| members | member | 10% | 50% | 90% | 100% | max | MiB per million events after 20% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for m, s in enumerate(run["summary"]):
            at = s["at"]
            lines.append(
                f"| {run['members']} | {m} | {at['10%']:.1f} | {at['50%']:.1f} | "
                f"{at['90%']:.1f} | {at['100%']:.1f} | {s['max']:.1f} | {s['slope']:+.2f} |"
            )
    return "\n".join([*lines, *_stall_lines(result)]) + "\n"


# --- main ----------------------------------------------------------------------------------


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.scale_out", description=__doc__.split("\n")[0])
    parser.add_argument("--rss", action="store_true", help="RSS per member over a long read")
    parser.add_argument("--events", type=int, help="1,000,000 (throughput) or 5,000,000 (--rss)")
    parser.add_argument("--members", default=None, help="member counts: 1,2,3 (or 1 for --rss)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput repeats")
    parser.add_argument("--no-docs", action="store_true", help="do not update the docs")
    args = parser.parse_args(argv)
    args.events = args.events or (5_000_000 if args.rss else 1_000_000)
    members = args.members or ("1" if args.rss else "1,2,3")
    args.counts = [int(x) for x in members.split(",")]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    # SIGTERM (and SIGINT, which a shell's background job ignores) unwind through the
    # `finally` blocks, so members and broker are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from bench.calibration import make_baseline
    from driftwarden.baselines.store import BaselineStore
    from tests.support.kafka_broker import KAFKA_VERSION, KafkaBroker, ensure_libs

    ensure_libs()
    load_before, commit = _load(), _commit()  # the code that runs, whatever is committed later
    with tempfile.TemporaryDirectory(prefix="dw-scale-") as tmp:
        work = Path(tmp)
        baseline = BaselineStore(work / "baselines").write(make_baseline())
        broker = KafkaBroker(work / "broker")
        broker.start()
        try:
            topic = "bench-scale-out"
            broker.create_topic(topic, partitions=PARTITIONS)
            began = time.monotonic()
            sentinel = fill(broker.bootstrap, topic, args.events, _templates(100_000))
            print(f"produced {args.events:,} in {time.monotonic() - began:.1f}s", file=sys.stderr)
            assert broker.proc is not None
            setup = Setup(
                work, broker.bootstrap, baseline, broker.proc.pid, topic, args.events, sentinel
            )
            stalls: list[dict[str, Any]] = []
            if args.rss:
                runs = [retried(rss_run, setup, count, 0, stalls) for count in args.counts]
            else:
                runs = throughput(setup, args.counts, args.repeats, stalls)
            with broker.admin() as admin:
                admin.delete_topics([topic])
        finally:
            broker.stop()
    result = {
        "command": " ".join(["uv run python -m bench.scale_out", shlex.join(argv)]).strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": machine(),
        "kafka": KAFKA_VERSION,
        "load_before": load_before,
        "load_after": _load(),
        "events": args.events,
        "repeats": args.repeats,
        "counts": args.counts,
        "runs": runs,
        "stalls": stalls,
    }
    kind = "rss" if args.rss else "throughput"
    out = Path("bench/results") / f"scale_out-{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    section = render_rss(result) if args.rss else render_throughput(result)
    print(section)
    if not args.no_docs:
        update_section(DOCS, RSS_SECTION if args.rss else SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
