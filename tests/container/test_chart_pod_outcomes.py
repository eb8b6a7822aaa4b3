"""The chart's pod with outcomes on: the join's store on the chart's claim (issue 14).

The pod's root filesystem is read-only, so the SQLite store must land on the claim the
chart mounts at `config.outcomes.directory`. The pod must start, write its store there
(read from the host through podman's volume) and become Ready. After a SIGKILL and a
second `kube play` (a new pod on the same claim, as a rescheduled pod in Kubernetes) it
must restore its checkpoint with the store at the checkpoint's epoch (a daemon refuses
to start on a store behind its checkpoint, so an emptyDir would fail here) and join
every outcome exactly once: none lost, none joined twice, every window fully labelled.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import produce

from .conftest import Harness
from .pods import ChartPod, configmap, window_counts
from .test_chart_pod import assert_runs_as_the_chart_says, daemon_stopped, default_values
from .traffic import Timeline, write_baseline

pytestmark = [pytest.mark.container, pytest.mark.kafka, pytest.mark.timeout(420)]

STORE = "/var/lib/driftwarden/outcomes"
STORE_FILE = "pending.sqlite"  # monitor/outcomes/pending.py FILE_NAME
OUTCOME_DELAY = 45.0  # event-time seconds from a prediction to its outcome


def outcome_events(predictions: Sequence[bytes]) -> list[bytes]:
    """One outcome per prediction but the sentinels: its own predicted label, a little later."""
    out = []
    for payload in predictions:
        event = json.loads(payload)
        if event["request_id"].startswith("sentinel-"):
            continue
        when = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        outcome = {
            "model_id": event["model_id"],
            "request_id": event["request_id"],
            "timestamp": when + OUTCOME_DELAY,
            "outcome": event["prediction"]["label"],
        }
        out.append(json.dumps(outcome).encode())
    return out


def outcome_values(harness: Harness, topic: str, outcome_topic: str) -> dict[str, Any]:
    """The default-values install plus an outcome topic, the join and a small claim."""
    h = harness
    values = default_values(h.release, h.broker.bootstrap, topic, f"{h.receiver.url}/hook", h.port)
    values["config"]["kafka"]["outcome_topics"] = [outcome_topic]
    # After a SIGKILL the group waits out the dead member's session (45 s by default).
    values["config"]["kafka"]["session_timeout"] = "10s"
    values["config"]["outcomes"] = {"horizon": "1d"}
    values["outcomes"] = {"persistence": {"size": "64Mi"}}
    return values


def claim_name(pod: ChartPod) -> str:
    volumes = pod.workload["spec"]["template"]["spec"]["volumes"]
    return str(
        next(v for v in volumes if v["name"] == "outcomes")["persistentVolumeClaim"]["claimName"]
    )


def store_on_host(pod: ChartPod) -> Path:
    """The store's file in the podman volume that backs the chart's claim."""
    mountpoint = pod.podman.run("volume", "inspect", "--format", "{{.Mountpoint}}", claim_name(pod))
    return Path(mountpoint.stdout.strip()) / STORE_FILE


def committed_joins(store: Path) -> int:
    """Joined predictions in the store's last committed epoch (read-only, beside the pod)."""
    if not store.exists():
        return -1
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM pending WHERE joined = 1").fetchone()[0])
    except sqlite3.Error:
        return -1


def assert_store_is_the_mounted_claim(pod: ChartPod) -> None:
    mounts = pod.exec("cat", "/proc/self/mountinfo")
    assert mounts.returncode == 0, mounts.stderr
    assert any(line.split()[4] == STORE for line in mounts.stdout.splitlines()), mounts.stdout
    config = pod.exec("cat", "/etc/driftwarden/driftwarden.yaml")
    assert f"directory: {STORE}" in config.stdout, config.stdout


def final_labels(pod: ChartPod) -> dict[int, dict[str, Any]]:
    """The last `window_labels_final` per window (a window finalised again after the
    restart from restored state is logged again)."""
    out: dict[int, dict[str, Any]] = {}
    for event in pod.events():
        if event.get("event") == "window_labels_final":
            out[int(event["window"])] = event
    return out


def fully_labelled(pod: ChartPod, windows: int) -> bool:
    labelled = [w for w in final_labels(pod).values() if w["n_labelled"] == w["n_predictions"]]
    return len(labelled) >= windows


def test_outcomes_pod_writes_its_store_on_the_claim_and_joins_exactly_once_across_sigkill(
    harness: Harness, topic: str, note: Callable[[str], None]
) -> None:
    began = time.monotonic()
    h = harness
    outcome_topic = f"{topic}-outcomes"
    h.broker.create_topic(outcome_topic, partitions=1)
    baseline = write_baseline(h.work / "baselines", "credit-risk")
    pod = h.start(
        outcome_values(h, topic, outcome_topic),
        [configmap(f"{h.release}-baselines", {"credit-risk.json": baseline.read_text()})],
    )
    assert [d["kind"] for d in pod.manifests if d["kind"] == "PersistentVolumeClaim"] == [
        "PersistentVolumeClaim"
    ], "the chart makes the store's claim"
    timeline = Timeline({"credit-risk": "CCCCCC"}, window_seconds=300, per_window=500)
    first = timeline.phase(0, 4, final=False)
    second = timeline.phase(4, 6, final=True)
    first_outcomes, second_outcomes = outcome_events(first), outcome_events(second)
    produce(h.broker.bootstrap, topic, first)
    produce(h.broker.bootstrap, outcome_topic, first_outcomes, partitions=1)

    pod.play()
    pod.wait_ready()
    assert_runs_as_the_chart_says(pod)  # the root stays read-only with the store's volume
    assert_store_is_the_mounted_claim(pod)
    store = store_on_host(pod)
    pod.wait_until(
        f"{len(first_outcomes)} joins committed to {store}",
        lambda: committed_joins(store) == len(first_outcomes),
        120,
    )
    pod.kill()  # after a checkpoint: the store's committed epoch is the checkpoint's

    pod.play()
    pod.wait_ready()  # a store behind its checkpoint would stop the daemon here
    produce(h.broker.bootstrap, topic, second, start_index=len(first))
    produce(h.broker.bootstrap, outcome_topic, second_outcomes, partitions=1)
    data_windows = len(timeline.windows["credit-risk"])
    pod.wait_until(
        f"{data_windows} windows fully labelled", lambda: fully_labelled(pod, data_windows), 150
    )
    assert pod.stop() == 0, pod.tail()

    produced = len(first_outcomes) + len(second_outcomes)
    stopped = daemon_stopped(pod)
    outcomes = stopped["outcomes"]
    assert outcomes["read"] == produced, outcomes
    assert outcomes["joined"] == produced, outcomes
    assert outcomes["rejected"] == {}, outcomes
    assert outcomes["waiting"] == 0, outcomes
    assert outcomes["predictions_stored"] == stopped["counts"]["accepted"], (outcomes, stopped)
    labels = final_labels(pod)
    counted = window_counts(pod.events())
    assert sorted(w["n_predictions"] for w in labels.values() if w["final"]) == sorted(
        counted.values()
    ), (labels, counted)
    assert sum(w["n_labelled"] for w in labels.values()) == produced
    assert committed_joins(store) == produced
    note(f"outcomes pod: {time.monotonic() - began:.1f}s ({pod.timings()})")
