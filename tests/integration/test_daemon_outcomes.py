"""Outcomes on a real broker: the daemon joins a prediction topic and an outcome topic
exactly as `driftwarden replay --outcomes` joins the files, through three kill -9.

Each window's final labels are logged (`window_labels_final`); after a crash a
window finalised again from the restored state is logged again, and the last
line per window counts. Equal (n_predictions, n_labelled, delay quantiles) per
window and equal outcome counts against the replay prove that no outcome was
joined twice and none was lost across the kills.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import (
    START,
    WINDOW_SECONDS,
    DaemonProcess,
    daemon_config,
    produce,
    replay_report,
    synthetic_stream,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

HORIZON = 60.0
RATE = 200.0
N = 12_000


def outcome_events(payloads: list[bytes], seed: int) -> tuple[list[bytes], int]:
    """Outcomes for most predictions, seconds to a minute late, out of order within a few
    seconds, some repeated, some too late, some unknown, a few bad; sorted roughly by
    time as an outcome topic carries them. Returns them and the time of the last data."""
    rng = random.Random(seed)
    out: list[tuple[float, bytes]] = []
    last = START
    for payload in payloads:
        event = json.loads(payload)
        rid = event["request_id"]
        if rid.startswith("sentinel"):
            continue
        ts = _epoch(event["timestamp"])
        last = max(last, ts)
        roll = rng.random()
        if roll < 0.2:
            continue  # never labelled
        late = rng.random() < 0.03
        delay = HORIZON + rng.uniform(5.0, 30.0) if late else rng.uniform(1.0, 50.0)
        label = rng.choice(["approve", "decline"])
        body = {"model_id": "credit-risk", "request_id": rid, "timestamp": ts + delay}
        out.append((ts + delay, json.dumps({**body, "outcome": label}).encode()))
        if rng.random() < 0.05:  # re-sent a little later
            out.append((ts + delay + 2.0, json.dumps({**body, "outcome": label}).encode()))
        if rng.random() < 0.01:
            out.append((ts + delay, json.dumps({**body, "outcome": {"bad": 1}}).encode()))
        if rng.random() < 0.02 and ts < START + N / RATE / 2:  # settled before the end
            ghost = {**body, "request_id": f"ghost-{rid}", "timestamp": ts + 1.0}
            out.append((ts + 1.0, json.dumps({**ghost, "outcome": label}).encode()))
    out.sort(key=lambda item: item[0] + rng.uniform(0.0, 3.0))
    # The outcome clock passes every data window's horizon: all of them become final.
    final = {
        "model_id": "credit-risk",
        "request_id": "clock",
        "timestamp": last + HORIZON + 3 * WINDOW_SECONDS,
        "outcome": "approve",
    }
    return [p for _, p in out] + [json.dumps(final).encode()], int(last // WINDOW_SECONDS)


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def replay_outcomes(
    baseline: Path, config: Path, predictions: Path, outcomes: Path, report: Path
) -> dict[str, Any]:
    report_ = replay_report(baseline, config, predictions, report, "--outcomes", str(outcomes))
    return report_["outcomes"]  # type: ignore[no-any-return]


def outcomes_config(
    bootstrap: str,
    work: Path,
    *,
    topics: tuple[str, str],
    group: str,
    baseline: Path,
    horizon: float,
    low_coverage: float | None = None,
    client: str = "kafka-python",
) -> Path:
    """One member reading a prediction topic and an outcome topic, its store under `work`,
    with `client` as `kafka.client` (`low_coverage`: outcomes.low_coverage, and environment
    `it` for replay and daemon)."""
    topic, outcome_topic = topics
    outcomes: dict[str, Any] = {"horizon": f"{horizon:g}s", "directory": str(work / "outcomes")}
    extra: dict[str, Any] = {}
    if low_coverage is not None:
        outcomes["low_coverage"] = low_coverage
        extra["environment"] = "it"  # replay's alerts are for `replay` unless configured
    return daemon_config(
        work / "config.yaml",
        bootstrap=bootstrap,
        topic=topic,
        group=group,
        baseline=baseline,
        work=work,
        client=client,
        overrides={
            "kafka": {"group_instance_id": "member-0", "outcome_topics": [outcome_topic]},
            "outcomes": outcomes,
            **extra,
        },
    )


def kill_three_times_during_the_join(
    bootstrap: str,
    config: Path,
    log: Path,
    *,
    topics: tuple[str, str],
    events: tuple[Sequence[bytes], Sequence[bytes]],
    rng: random.Random,
    most: int,
) -> list[float]:
    """Three daemon runs, each killed by SIGKILL after it read 100 to `most` outcomes and
    checkpointed them (every second), at a random point of an epoch. Both topics (predictions on
    3 partitions, outcomes on 1) are produced at 500 records/s from the first run's start,
    so the kills fall while they still flow. The outcomes each run had read; producing has
    finished when it returns."""
    (topic, outcome_topic), (predictions, outcomes) = topics, events
    producers = [
        threading.Thread(
            target=produce, args=(bootstrap, topic, predictions), kwargs={"pace": 500.0}
        ),
        threading.Thread(
            target=produce,
            args=(bootstrap, outcome_topic, outcomes),
            kwargs={"partitions": 1, "pace": 500.0},
        ),
    ]
    kills: list[float] = []
    for run in range(3):
        daemon = DaemonProcess(config, log, name=f"run{run}")
        try:
            daemon.metrics_port(timeout=60)
            if run == 0:  # the topics start flowing once the first member is up
                for thread in producers:
                    thread.start()
            target = rng.randint(100, most)
            daemon.wait_until(
                f"{target} outcomes consumed",
                lambda: consumed(daemon, outcome_topic) >= target or caught_up(daemon, 4),  # noqa: B023
                timeout=90,
            )
            # A checkpoint of what was read, so the next run restores one (a fast client
            # reads the target before the run's first checkpoint).
            saved = checkpoints(daemon)
            daemon.wait_until(
                "a checkpoint after the target",
                lambda: checkpoints(daemon) > saved,  # noqa: B023
                timeout=60,
            )
            time.sleep(rng.uniform(0.5, 1.5))
            kills.append(consumed(daemon, outcome_topic))
            daemon.kill()
        finally:
            daemon.ensure_dead()
    for thread in producers:
        thread.join(timeout=120)
        assert not thread.is_alive(), "producing took over 120s"
    return kills


def labels(record: dict[str, Any]) -> tuple[Any, ...]:
    return (
        record["n_predictions"],
        record["n_labelled"],
        record["label_delay_p50"],
        record["label_delay_p95"],
        record["label_coverage"],
    )


def logged_labels(log: Path) -> dict[int, tuple[Any, ...]]:
    """The last `window_labels_final` per window over every run's log lines."""
    out: dict[int, tuple[Any, ...]] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"window_labels_final"' in line:
            record = json.loads(line)
            out[int(record["window"])] = labels(record)
    return out


def consumed(daemon: DaemonProcess, topic: str) -> float:
    """Records of `topic` this run read (its /metrics)."""
    daemon.metrics_port(timeout=60)
    prefix = f'driftwarden_events_consumed_total{{topic="{topic}"}}'
    for line in daemon.metrics().splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def checkpoints(daemon: DaemonProcess) -> float:
    """Checkpoints this run wrote and committed (its /metrics)."""
    for line in daemon.metrics().splitlines():
        if line.startswith("driftwarden_checkpoint_duration_seconds_count"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def caught_up(daemon: DaemonProcess, partitions: int) -> bool:
    """The consumer lag gauge is 0 on every partition of both topics."""
    lags = [
        float(line.rsplit(" ", 1)[1])
        for line in daemon.metrics().splitlines()
        if line.startswith("driftwarden_consumer_lag_messages{")
    ]
    return len(lags) == partitions and not any(lags)


def write(path: Path, payloads: list[bytes]) -> Path:
    path.write_bytes(b"".join(p + b"\n" for p in payloads))
    return path


@pytest.mark.timeout(400)
def test_daemon_joins_like_replay_through_three_sigkills(
    *,
    kafka_client: str,
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    rng = random.Random(20261206)
    outcome_topic = f"{topic}-outcomes"
    kafka_broker.create_topic(outcome_topic, partitions=1)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(N, seed=11, rate_per_second=RATE)
    outcomes, last_window = outcome_events(stream.payloads, seed=12)
    config = outcomes_config(
        kafka_broker.bootstrap,
        tmp_path,
        topics=(topic, outcome_topic),
        group=group_id,
        baseline=baseline,
        horizon=HORIZON,
        client=kafka_client,
    )
    reference = replay_outcomes(
        baseline,
        config,
        write(tmp_path / "predictions.jsonl", stream.payloads),
        write(tmp_path / "outcomes.jsonl", outcomes),
        tmp_path / "report.json",
    )
    expected = {w["window"]: labels(w) for w in reference["windows"] if w["window"] <= last_window}
    assert len(expected) >= N / RATE / WINDOW_SECONDS
    assert reference["counts"]["joined"] > 0.7 * N

    log = tmp_path / "daemon.log"
    kills = kill_three_times_during_the_join(
        kafka_broker.bootstrap,
        config,
        log,
        topics=(topic, outcome_topic),
        events=(stream.payloads, outcomes),
        rng=rng,
        most=600,
    )

    final = DaemonProcess(config, log, name="final")
    try:
        final.wait_until(
            "every data window's final labels, and no lag on the four partitions",
            lambda: expected.keys() <= logged_labels(log).keys() and caught_up(final, 4),
            timeout=180,
        )
        assert final.stop(timeout=30) == 0, final.output()
    finally:
        final.ensure_dead()

    got = {k: v for k, v in logged_labels(log).items() if k in expected}
    assert got == expected
    stopped = final.find("daemon_stopped")
    assert stopped is not None, final.output()
    live = stopped["outcomes"]
    ref = reference["counts"]
    assert live["read"] == ref["read"] == len(outcomes)
    assert live["joined"] == ref["joined"]
    # The replay's end settles the last outcome (the clock) as unknown; live it waits.
    assert live["waiting"] == 1
    assert live["rejected"]["unknown_request"] == ref["rejected"]["unknown_request"] - 1
    assert live["rejected"]["bad_outcome"] == ref["rejected"]["bad_outcome"]
    # A repeat of a too-late outcome read before its prediction (after a restart, say)
    # is a `duplicate` rather than `outcome_too_late` again: rejected once either way.
    assert live["rejected"]["duplicate"] + live["rejected"]["outcome_too_late"] == (
        ref["rejected"]["duplicate"] + ref["rejected"]["outcome_too_late"]
    )
    text = log.read_text(encoding="utf-8", errors="replace")
    restored = text.count('"partitions_restored"')
    rolled_back = text.count('"outcome_store_rolled_back"')
    assert restored >= 2, "the runs after the first restore checkpoints"
    note_timing(
        f"outcomes ({kafka_client}): {len(outcomes)} outcomes for {N} predictions, "
        f"kill -9 after {kills} outcomes read by each run; "
        f"{restored} restores from a checkpoint, {rolled_back} store rollbacks; "
        f"{len(expected)} windows equal to replay; {time.monotonic() - began:.1f}s"
    )
