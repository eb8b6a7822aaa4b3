"""`driftwarden run` killed and stopped mid-stream: the final windows equal the replay's.

Every closed window is appended to the daemon's `verdict_log`; after a crash a
window closed again from the restored state appears twice with identical
content, and the last line per (model_id, window_index) counts. Exact equality
of every window's counts with the replay of the same events proves that no
event was lost and none counted twice across the kills.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    daemon_config,
    produce,
    read_verdicts,
    replay_windows,
    synthetic_stream,
    verdict_lines,
    wait_for_windows,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def _consumed(daemon: DaemonProcess) -> float:
    text = daemon.metrics()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("driftwarden_events_consumed_total{")
    )


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's reaping is left


def _assert_children_exit(children: list[int], timeout: float = 15.0) -> None:
    """The decode worker of a SIGKILLed daemon exits by itself, never left orphaned."""
    deadline = time.monotonic() + timeout
    while any(map(_running, children)):
        assert time.monotonic() < deadline, f"processes outlived the killed daemon: {children}"
        time.sleep(0.1)


def _wait_consumed(daemon: DaemonProcess, at_least: float, timeout: float) -> float:
    """Poll /metrics until this process consumed `at_least` records (bounded)."""
    daemon.metrics_port(timeout=60)
    seen = 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = _consumed(daemon)
        if seen >= at_least:
            return seen
        if daemon.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{daemon.name}: consumed {seen} < {at_least}:\n{daemon.output()}")


@pytest.mark.timeout(300)
def test_three_sigkills_during_200k_events_lose_nothing_and_count_nothing_twice(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
) -> None:
    began = time.monotonic()
    rng = random.Random(20261123)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(200_000, seed=3, rate_per_second=500.0, drift_from=0.6)
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        # Static membership: the restarted member gets its partitions back at once
        # instead of waiting for the killed one's session to expire.
        overrides={"kafka": {"group_instance_id": "member-0"}},
        client=kafka_client,
    )
    # The events flow while the daemon is killed: produce in the background.
    producer = threading.Thread(
        target=produce, args=(kafka_broker.bootstrap, topic, stream.payloads), daemon=True
    )
    producer.start()
    reference = replay_windows(
        baseline,
        config,
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    kills: list[float] = []
    log = tmp_path / "daemon.log"
    for run in range(3):
        daemon = DaemonProcess(config, log, name=f"run{run}")
        try:
            kills.append(_wait_consumed(daemon, rng.randint(5_000, 40_000), timeout=90))
            time.sleep(rng.uniform(0.0, 1.0))  # not always right after a scrape
            children = _children(daemon.proc.pid)
            daemon.kill()
            _assert_children_exit(children)
        finally:
            daemon.ensure_dead()
    producer.join(timeout=120)
    assert not producer.is_alive(), "producing 200k events took over 120s"
    lines_before_final = len(verdict_lines(tmp_path / "verdicts.jsonl"))

    final = DaemonProcess(config, log, name="final")
    try:
        wait_for_windows([final], [tmp_path / "verdicts.jsonl"], reference, timeout=150)
        assert final.stop(timeout=30) == 0, final.output()
    finally:
        final.ensure_dead()

    stopped = final.find("daemon_stopped")
    assert stopped is not None, final.output()
    assert stopped["counts"]["read"] == len(stream.payloads), stopped  # restored counters
    lines = verdict_lines(tmp_path / "verdicts.jsonl")
    live = read_verdicts(tmp_path / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    assert sum(w["events"] for w in live.values()) == 200_000
    repeated = len(lines) - len(read_verdicts(tmp_path / "verdicts.jsonl"))
    # A window closed again after a restart was closed from the same restored state.
    first_seen: dict[tuple[str, int], dict[str, object]] = {}
    for line in lines:
        key = (line["model_id"], line["window_index"])
        first = first_seen.setdefault(key, line)
        assert line == first, f"window {key} logged twice with different content"
    note_timing(
        f"crash safety ({kafka_client}): SIGKILLs after {kills} records consumed by each run; "
        f"{len(reference)} windows, {lines_before_final} logged before the final run, "
        f"{repeated} logged twice; {time.monotonic() - began:.1f}s"
    )


@pytest.mark.timeout(200)
def test_sigterm_during_a_burst_exits_0_within_the_grace_period_and_restart_resumes_exactly(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
) -> None:
    """With the Kafka checkpoint backend (a compacted topic, for pods without a volume)."""
    grace = 10.0
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(60_000, seed=5, rate_per_second=400.0, drift_from=0.5)
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={
            "checkpoint": {"backend": "kafka", "topic": f"{topic}-checkpoints"},
            "shutdown": {"grace_period": f"{grace:g}s"},
        },
        client=kafka_client,
    )
    produce(kafka_broker.bootstrap, topic, stream.payloads)
    reference = replay_windows(
        baseline,
        config,
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    log = tmp_path / "daemon.log"
    first = DaemonProcess(config, log, name="first")
    try:
        consumed = _wait_consumed(first, 15_000, timeout=90)
        stop_sent = time.monotonic()
        first.terminate()
        code = first.wait(timeout=grace + 5)
        took = time.monotonic() - stop_sent
    finally:
        first.ensure_dead()
    assert code == 0, first.output()
    assert took <= grace, f"exit took {took:.1f}s, grace period {grace}s"
    stopped = first.find("daemon_stopped")
    assert stopped is not None, first.output()
    assert stopped["counts"]["read"] < len(stream.payloads), "the burst was over before SIGTERM"

    second = DaemonProcess(config, log, name="second")
    try:
        wait_for_windows([second], [tmp_path / "verdicts.jsonl"], reference, timeout=120)
        assert second.stop(timeout=30) == 0, second.output()
    finally:
        second.ensure_dead()
    live = read_verdicts(tmp_path / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    second_stopped = second.find("daemon_stopped")
    assert second_stopped is not None
    # The ingest counters travel in the checkpoint: the restart continued them exactly.
    assert second_stopped["counts"]["read"] == len(stream.payloads), second_stopped
    note_timing(
        f"SIGTERM ({kafka_client}) after {consumed:.0f} records consumed (/metrics), "
        f"{stopped['counts']['read']} read at stop; exit 0 in {took:.2f}s (grace {grace:g}s)"
    )
