"""Two `driftwarden run` members in one group, and a broker restart under a daemon.

While a window is open its partitions may belong to different members; each
member closes the window over the partitions it owns when their watermarks
pass it and logs its share. Per window, the members' logged shares must add up
to the replay of the same events exactly: a partition handed over carries its
open windows through the checkpoint, so nothing is lost or counted twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import start_broker
from tests.support.daemon import (
    DaemonProcess,
    Window,
    WindowKey,
    assert_counts_equal,
    counts,
    daemon_config,
    produce,
    read_verdicts,
    replay_windows,
    synthetic_stream,
    verdict_lines,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def _summed_shares(*logs: Path, exclude: frozenset[int]) -> dict[WindowKey, Counter[str]]:
    """Per window, the sum over members' logged shares (a repeated identical line once)."""
    out: dict[WindowKey, Counter[str]] = {}
    for path in logs:
        seen: set[str] = set()
        for record in verdict_lines(path):
            line = json.dumps(record, sort_keys=True)
            if line in seen or record["window_index"] in exclude:
                continue
            seen.add(line)
            out.setdefault((record["model_id"], record["window_index"]), Counter()).update(
                _flat_counts(record)
            )
    return out


def _flat_counts(window: Window) -> Counter[str]:
    c = counts(window)
    flat: Counter[str] = Counter({"events": c["events"]})
    for column, values in c["columns"].items():
        for name, value in zip(("n_current", "missing", "type_errors"), values, strict=True):
            flat[f"{column}.{name}"] += value or 0
    return flat


def _reference_counts(reference: Mapping[WindowKey, Window]) -> dict[WindowKey, Counter[str]]:
    return {k: _flat_counts(w) for k, w in reference.items()}


def _wait_total(logs: list[Path], exclude: frozenset[int], total: int, timeout: float,
                members: list[DaemonProcess]) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    got = 0
    while time.monotonic() < deadline:
        shares = _summed_shares(*logs, exclude=exclude)
        got = sum(c["events"] for c in shares.values())
        if got >= total:
            return
        time.sleep(0.3)
    tails = "\n".join(m.output(20) for m in members)
    raise AssertionError(f"{got} of {total} events in closed windows after {timeout}s:\n{tails}")


@pytest.mark.timeout(240)
def test_a_second_member_joins_mid_stream_then_one_leaves_and_window_totals_stay_exact(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    n = 90_000
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(n, seed=13, rate_per_second=300.0, drift_from=0.5)
    # Both members share the checkpoint topic: state follows a partition to its new owner.
    common: dict[str, Any] = {
        "checkpoint": {"backend": "kafka", "topic": f"{topic}-checkpoints"},
    }
    configs = []
    for name in ("a", "b"):
        work = tmp_path / name
        work.mkdir()
        configs.append(
            daemon_config(
                work / "config.yaml",
                bootstrap=kafka_broker.bootstrap,
                topic=topic,
                group=group_id,
                baseline=baseline,
                work=work,
                overrides=common,
            )
        )
    logs = [tmp_path / "a" / "verdicts.jsonl", tmp_path / "b" / "verdicts.jsonl"]
    reference = replay_windows(
        baseline,
        configs[0],
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    # ~30 s of produce: the join and the leave both happen while events flow.
    sent = [0]
    producer = threading.Thread(
        target=produce,
        args=(kafka_broker.bootstrap, topic, stream.payloads),
        kwargs={"pace": 3_000.0, "progress": sent},
        daemon=True,
    )
    a = DaemonProcess(configs[0], tmp_path / "a" / "daemon.log", name="member-a")
    b: DaemonProcess | None = None
    try:
        a.metrics_port(timeout=60)
        producer.start()
        flowing = time.monotonic()
        time.sleep(6.0)
        b = DaemonProcess(configs[1], tmp_path / "b" / "daemon.log", name="member-b")
        member_b = b
        b.wait_until(
            "partitions of its own",
            lambda: any(
                e.get("event") == "partitions_assigned" and e.get("partitions")
                for e in member_b.events()
            ),
            timeout=60,
        )
        joined = (time.monotonic() - flowing, sent[0])
        time.sleep(5.0)
        assert a.stop(timeout=30) == 0, a.output()
        left = (time.monotonic() - flowing, sent[0])
        producer.join(timeout=120)
        assert not producer.is_alive()
        _wait_total(logs, stream.sentinel_windows, n, timeout=120, members=[b])
        assert b.stop(timeout=30) == 0, b.output()
    finally:
        a.ensure_dead()
        if b is not None:
            b.ensure_dead()
    assert joined[1] < n, f"the stream ended before the join: {joined}"
    assert left[1] < n, f"the stream ended before the leave: {left}"

    shares = _summed_shares(*logs, exclude=stream.sentinel_windows)
    expected = _reference_counts(reference)
    assert set(shares) == set(expected)
    wrong = [k for k in sorted(expected) if +shares[k] != +expected[k]]
    assert not wrong, (
        f"{len(wrong)} windows differ, first {wrong[0]}: {shares[wrong[0]]} vs {expected[wrong[0]]}"
    )
    by_member = [len(read_verdicts(p)) for p in logs]
    note_timing(
        f"rebalance: b had partitions {joined[0]:.1f}s after producing began "
        f"({joined[1]} of {n} sent), a left at {left[0]:.1f}s ({left[1]} sent); "
        f"windows logged by a/b {by_member} of {len(expected)}; {time.monotonic() - began:.1f}s"
    )


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = start_broker(tmp_path_factory.mktemp("daemon-kafka"))
    yield broker
    broker.stop()


@pytest.mark.timeout(240)
def test_the_daemon_rides_out_a_hard_broker_restart_with_exact_totals(
    own_broker: KafkaBroker, tmp_path: Path, note_timing: Callable[[str], None]
) -> None:
    began = time.monotonic()
    topic, group = "daemon-restart-events", "daemon-restart-group"
    own_broker.create_topic(topic, partitions=3)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(60_000, seed=17, rate_per_second=300.0, drift_from=0.5)
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=own_broker.bootstrap,
        topic=topic,
        group=group,
        baseline=baseline,
        work=tmp_path,
    )
    half = 30_000
    produce(own_broker.bootstrap, topic, stream.payloads[:half])
    reference = replay_windows(
        baseline,
        config,
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_until(
            "first closed window", lambda: bool(verdict_lines(tmp_path / "verdicts.jsonl")), 90
        )
        restart_took = own_broker.restart(hard=True)
        restarted_at = time.monotonic()
        # Keep partition order: payload i always goes to partition i % 3.
        produce(own_broker.bootstrap, topic, stream.payloads[half:], start_index=half)
        wanted = set(reference)
        deadline = time.monotonic() + 120
        while not wanted <= set(read_verdicts(tmp_path / "verdicts.jsonl")):
            assert daemon.proc.poll() is None, daemon.output()
            assert time.monotonic() < deadline, daemon.output()
            time.sleep(0.2)
        recovered = time.monotonic() - restarted_at
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()
    live = read_verdicts(tmp_path / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    stopped = daemon.find("daemon_stopped")
    assert stopped is not None, daemon.output()
    assert stopped["counts"]["read"] == len(stream.payloads), stopped
    note_timing(
        f"broker restart: hard restart {restart_took:.1f}s, all windows closed "
        f"{recovered:.1f}s after it; {time.monotonic() - began:.1f}s"
    )
