"""Window performance on a real broker: a prediction topic and an outcome topic give the
daemon exactly the realised performance per window that `driftwarden replay --outcomes`
computes from the same events as files, through three kill -9.

The baseline carries a performance section (multiclass on the synthetic model's
`label`); outcomes agree with the label 80% of the time, come seconds to a minute
late, out of order within seconds, some repeated, some after the horizon, some for
unknown requests. The daemon logs each window's realised performance when its labels
are final (`window_performance_final`; after a crash a window finalised again from
the restored state is logged again, and the last line per window counts).

`outcomes.low_coverage` is set above the coverage the stream reaches (about 87%), so
every window final by horizon is a label-coverage finding: the alerts its incident
sends (`alert_notified` from the log receiver) must be the replay's, title for title.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.test_daemon_outcomes import (
    caught_up,
    kill_three_times_during_the_join,
    outcomes_config,
    write,
)
from tests.support.daemon import (
    START,
    WINDOW_SECONDS,
    DaemonProcess,
    replay_report,
    synthetic_stream,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

HORIZON = 60.0
LOW_COVERAGE = 0.95  # above the ~87% the stream reaches: every window is a finding
RATE = 200.0
N = 8_000
LABELS = ("approve", "review", "decline")


def performance_baseline(directory: Path) -> Path:
    """The calibration baseline with a multiclass performance section on `label`."""
    from bench.calibration import TRAINING_ROWS, make_baseline
    from driftwarden.baselines.build_performance import PerformanceSpec, build_performance
    from driftwarden.baselines.store import BaselineStore
    from examples import synthetic

    table = synthetic.training_table(TRAINING_ROWS, 1)
    rng = np.random.default_rng(3)
    label = np.asarray(table["label"], dtype=object)
    other = np.asarray(LABELS, dtype=object)[rng.integers(0, 3, size=label.size)]
    table["outcome"] = np.where(rng.random(label.size) < 0.8, label, other)
    performance = build_performance(
        table,
        PerformanceSpec(target="outcome", task="multiclass", prediction="label"),
        outputs=synthetic.OUTPUTS,
        kinds={"score": "numeric", "label": "categorical"},
    )
    baseline = dataclasses.replace(make_baseline(), performance=performance)
    return BaselineStore(directory).write(baseline)


def outcome_events(payloads: list[bytes], seed: int) -> list[bytes]:
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
        if rng.random() < 0.1:
            continue  # never labelled
        late = rng.random() < 0.03
        delay = HORIZON + rng.uniform(5.0, 30.0) if late else rng.uniform(1.0, 50.0)
        truth = event["prediction"]["label"] if rng.random() < 0.8 else rng.choice(LABELS)
        body = {"model_id": "credit-risk", "request_id": rid, "timestamp": ts + delay}
        out.append((ts + delay, json.dumps({**body, "outcome": truth}).encode()))
        if rng.random() < 0.05:  # re-sent a little later
            out.append((ts + delay + 2.0, json.dumps({**body, "outcome": truth}).encode()))
        if rng.random() < 0.02:
            ghost = {**body, "request_id": f"ghost-{rid}", "outcome": truth}
            out.append((ts + delay, json.dumps(ghost).encode()))
    out.sort(key=lambda item: item[0] + rng.uniform(0.0, 3.0))
    clock = {
        "model_id": "credit-risk",
        "request_id": "clock",
        "timestamp": last + HORIZON + 3 * WINDOW_SECONDS,
        "outcome": "approve",
    }
    return [p for _, p in out] + [json.dumps(clock).encode()]


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


FinalAlert = tuple[str, str, str, str]
"""(fingerprint, status, tier, title) of a realised-performance or label-coverage alert."""


def final_alert(alert: dict[str, Any]) -> FinalAlert | None:
    title = str(alert["title"])
    if "label coverage" not in title and "realised performance" not in title:
        return None  # a drift alert
    return (str(alert["fingerprint"]), str(alert["status"]), str(alert["tier"]), title)


def logged_final_alerts(log: Path) -> list[FinalAlert]:
    """Every final-labels alert the daemon's log receiver sent, over every run, in order."""
    out: list[FinalAlert] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"alert_notified"' in line:
            alert = final_alert(json.loads(line))
            if alert is not None:
                out.append(alert)
    return out


def replay_final_alerts(report: dict[str, Any]) -> list[FinalAlert]:
    found = (final_alert(a) for note in report["alerts"] for a in note.get("alerts", []))
    return [a for a in found if a is not None]


def last_per_incident(alerts: list[FinalAlert]) -> dict[str, FinalAlert]:
    """Each incident's last alert: what its receivers were told last."""
    return {a[0]: a for a in alerts}


def logged_performance(log: Path) -> dict[int, dict[str, Any]]:
    """The last `window_performance_final` per window over every run's log lines."""
    out: dict[int, dict[str, Any]] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"window_performance_final"' in line:
            record = json.loads(line)
            out[int(record["window"])] = record
    return out


@pytest.mark.timeout(400)
def test_daemon_window_performance_equals_replay_through_three_sigkills(
    *,
    kafka_client: str,
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    outcome_topic = f"{topic}-outcomes"
    kafka_broker.create_topic(outcome_topic, partitions=1)
    baseline = performance_baseline(tmp_path / "baselines")
    stream = synthetic_stream(N, seed=13, rate_per_second=RATE)
    outcomes = outcome_events(stream.payloads, seed=14)
    config = outcomes_config(
        kafka_broker.bootstrap,
        tmp_path,
        topics=(topic, outcome_topic),
        group=group_id,
        baseline=baseline,
        horizon=HORIZON,
        low_coverage=LOW_COVERAGE,
        client=kafka_client,
    )
    report = replay_report(
        baseline,
        config,
        write(tmp_path / "predictions.jsonl", stream.payloads),
        tmp_path / "report.json",
        "--outcomes",
        str(write(tmp_path / "outcomes.jsonl", outcomes)),
    )
    reference = report["outcomes"]
    expected_alerts = replay_final_alerts(report)
    assert [a[2] for a in expected_alerts] == ["info", "warning"], expected_alerts
    assert all("label coverage" in a[3] for a in expected_alerts), "coverage is no drop"
    data_windows = {
        int(_epoch(json.loads(p)["timestamp"]) // WINDOW_SECONDS)
        for p in stream.payloads
        if not json.loads(p)["request_id"].startswith("sentinel")
    }
    expected = {
        w["window"]: w["performance"]["realised"]
        for w in reference["windows"]
        if w["window"] in data_windows
    }
    assert len(expected) >= 3
    assert all(0.7 < m["accuracy"] < 0.95 for m in expected.values())

    # The final run still has windows to finalise: its own /metrics must show them.
    log = tmp_path / "daemon.log"
    kills = kill_three_times_during_the_join(
        kafka_broker.bootstrap,
        config,
        log,
        topics=(topic, outcome_topic),
        events=(stream.payloads, outcomes),
        rng=random.Random(20261206),
        most=400,
    )

    final = DaemonProcess(config, log, name="final")
    try:
        final.wait_until(
            "every data window's realised performance, and no lag on the four partitions",
            lambda: expected.keys() <= logged_performance(log).keys() and caught_up(final, 4),
            timeout=180,
        )
        metrics = final.metrics()
        assert final.find("window_performance_final") is not None, "the kills came too late"
        assert final.stop(timeout=30) == 0, final.output()
    finally:
        final.ensure_dead()

    logged = logged_performance(log)
    got = {k: v["realised"] for k, v in logged.items() if k in expected}
    assert got == expected
    tiers = {w["window"]: w["performance"]["coverage_tier"] for w in reference["windows"]}
    assert {k: v["coverage_tier"] for k, v in logged.items() if k in expected} == {
        k: tiers[k] for k in expected
    }
    # The daemon's outbox replaces an incident's undelivered notification with its newer one
    # (the receiver needs the latest state), so an alert the replay lists may not be sent;
    # every one sent is the replay's, and each incident ends where the replay's does.
    sent = logged_final_alerts(log)
    assert set(sent) <= set(expected_alerts)
    assert last_per_incident(sent) == last_per_incident(expected_alerts)
    assert 'driftwarden_performance{kind="realised",metric="accuracy",model="credit-risk"}' in (
        metrics
    )
    assert 'driftwarden_label_coverage{model="credit-risk"}' in metrics
    note_timing(
        f"performance ({kafka_client}): {len(outcomes)} outcomes for {N} predictions, "
        f"kill -9 after {kills} outcomes read by each run; "
        f"{len(expected)} windows' realised performance and {len(expected_alerts)} "
        "label-coverage alerts equal to replay; "
        f"{time.monotonic() - began:.1f}s"
    )
