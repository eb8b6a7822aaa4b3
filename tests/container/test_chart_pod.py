"""The chart's own pod, as a user installs it, against the real test broker.

`helm template` renders the chart (a) with its default values plus only what a working
install needs, and (b) with examples/helm/production-values.yaml pointed at local
stand-ins; `podman kube play` runs the real image under the chart's securityContext. The
pod must become Ready, consume, page once for a drift episode, and after a SIGKILL and a
second `kube play` resume from the Kafka checkpoint: every produced event counted exactly
once and no page sent twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.support.daemon import produce

from .conftest import Harness
from .pods import IMAGE_REPOSITORY, IMAGE_TAG, REPO, ChartPod, configmap, secret, window_counts
from .receiver import Post, Receiver
from .traffic import PARTITIONS, Timeline, write_baseline

pytestmark = [pytest.mark.container, pytest.mark.kafka, pytest.mark.timeout(420)]

PRODUCTION_EXAMPLE = REPO / "examples" / "helm" / "production-values.yaml"
GARBAGE = [b"not json", b'{"model_id": "credit-risk"}', b"\xff\xfe"]  # rejected, dead-lettered


def image_values() -> dict[str, Any]:
    return {"image": {"repository": IMAGE_REPOSITORY, "tag": IMAGE_TAG}}


def default_values(
    release: str, bootstrap: str, topic: str, hook: str, port: int
) -> dict[str, Any]:
    """The chart's defaults plus the minimum of a working install (README's three commands
    and a receiver). The metrics port and the checkpoint topic differ per test only because
    every pod shares the host network and the session's broker."""
    return {
        **image_values(),
        "metrics": {"port": port},
        "config": {
            "kafka": {
                "bootstrap_servers": [bootstrap],
                "topics": [topic],
                "group_id": f"{release}-group",
            },
            "alerting": {
                "receivers": [{"name": "hook", "type": "webhook", "url": hook}],
                # The daemon's default route (docs/config.md), to the webhook.
                "route": {
                    "receiver": "hook",
                    "group_by": ["model", "tier"],
                    "group_wait": "0s",
                    "group_interval": "5m",
                    "repeat_interval": "4h",
                },
            },
        },
        "baselines": {"existingConfigMap": f"{release}-baselines", "files": ["credit-risk.json"]},
        "checkpoint": {"topic": f"{release}-checkpoints"},
    }


def production_values(
    release: str, bootstrap: str, topic: str, receiver: Receiver, port: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """examples/helm/production-values.yaml pointed at local stand-ins; the Secret data."""
    values: dict[str, Any] = yaml.safe_load(PRODUCTION_EXAMPLE.read_text(encoding="utf-8"))
    values.update(image_values())
    kafka = values["config"]["kafka"]
    # Security settings only: the test broker speaks PLAINTEXT, not SASL_SSL, so the SASL
    # and TLS settings and their Secret references are dropped (the chart refuses a Kafka
    # Secret with PLAINTEXT). The alerting Secrets are still mounted and read.
    kafka["security_protocol"] = "PLAINTEXT"
    del kafka["sasl"]
    values["kafka"] = {"sasl": {"existingSecret": ""}, "tls": {"existingSecret": ""}}
    # Endpoints: the session's broker, topics of this test, a local Slack and PagerDuty.
    kafka["bootstrap_servers"] = [bootstrap]
    kafka["topics"] = [topic]
    kafka["group_id"] = f"{release}-group"
    values["config"]["dead_letter"]["topic"] = f"{topic}-dlq"
    values["checkpoint"]["topic"] = f"{release}-checkpoints"
    receivers = values["config"]["alerting"]["receivers"]
    assert [r["type"] for r in receivers] == ["slack", "pagerduty"], receivers
    receivers[1]["url"] = f"{receiver.url}/pagerduty"
    secret_name = f"{release}-alerting"
    for ref in values["alertingSecrets"].values():
        ref["existingSecret"] = secret_name
    values["baselines"]["existingConfigMap"] = f"{release}-baselines"
    values["metrics"]["port"] = port
    data = {"slack-webhook-url": f"{receiver.url}/slack", "pagerduty-routing-key": "rk-stand-in"}
    return values, data


def assert_runs_as_the_chart_says(pod: ChartPod) -> None:
    """Read-only root, UID/GID 10001, no capabilities, /tmp the writable emptyDir."""
    status = pod.exec("cat", "/proc/1/status")
    assert status.returncode == 0, status.stderr
    fields = dict(line.split(":", 1) for line in status.stdout.splitlines() if ":" in line)
    assert fields["Uid"].split()[:2] == ["10001", "10001"], fields["Uid"]
    assert fields["Gid"].split()[:2] == ["10001", "10001"], fields["Gid"]
    for cap in ("CapEff", "CapPrm", "CapBnd"):
        assert int(fields[cap].strip(), 16) == 0, f"{cap} {fields[cap]}"
    assert fields["NoNewPrivs"].strip() == "1"
    write_root = pod.exec("python", "-c", "open('/probe', 'w')")
    assert "Read-only file system" in write_root.stderr, write_root
    write_tmp = pod.exec("python", "-c", "open('/tmp/probe', 'w').write('x')")
    assert write_tmp.returncode == 0, write_tmp.stderr


def assert_probes_answer_as_documented(pod: ChartPod) -> None:
    """helm/driftwarden/README.md "Probes": /healthz is the loop, /readyz the work."""
    code, body = pod.http("/healthz")
    assert code == 200, body
    assert json.loads(body)["status"] == "ok"
    code, body = pod.http("/readyz")
    assert code == 200, body
    ready = json.loads(body)
    assert ready["partitions_assigned"], ready
    assert ready["broker_reachable"], ready
    assert ready["baselines_loaded"], ready


def firing_pages(posts: list[Post]) -> list[tuple[str, str, str, int]]:
    """(model, change, tier, window index) of each alert in each webhook notification."""
    return [
        (alert["labels"]["model"], alert["change"], alert["tier"], alert["window"]["index"])
        for post in posts
        for alert in post.body.get("alerts", [])
    ]


def assert_exact_counts(
    pod: ChartPod, produced: int, rejected: int, models: int, stopped: dict[str, Any]
) -> None:
    """Every produced event read once, accepted or rejected; every accepted one in exactly
    one window (the data windows from `window_closed`, the sentinels' window still open)."""
    counts = stopped["counts"]
    assert counts["read"] == produced, counts
    assert sum(counts["rejected"].values()) == rejected, counts
    assert counts["accepted"] == produced - rejected, counts
    in_windows = sum(window_counts(pod.events()).values())
    assert in_windows + PARTITIONS * models == counts["accepted"], (in_windows, counts)


def daemon_stopped(pod: ChartPod) -> dict[str, Any]:
    found = [e for e in pod.events() if e.get("event") == "daemon_stopped"]
    assert found, pod.tail()
    return found[-1]


def wait_checkpoint_after(pod: ChartPod, moment: float, timeout: float = 60) -> None:
    pod.wait_until(
        "a checkpoint after the page",
        lambda: pod.metric("driftwarden_last_checkpoint_timestamp_seconds") > moment,
        timeout,
    )


def test_default_values_pod_pages_once_and_resumes_exactly_after_sigkill(
    harness: Harness, topic: str, note: Callable[[str], None]
) -> None:
    began = time.monotonic()
    h, receiver, kafka_broker = harness, harness.receiver, harness.broker
    baseline = write_baseline(h.work / "baselines", "credit-risk")
    hook = f"{receiver.url}/hook"
    pod = h.start(
        default_values(h.release, kafka_broker.bootstrap, topic, hook, h.port),
        [configmap(f"{h.release}-baselines", {"credit-risk.json": baseline.read_text()})],
    )
    # The chart's default window: 5 minutes. Windows 0-3 close in phase 1 (a page for
    # windows 2-3), 4-7 after the restart.
    timeline = Timeline({"credit-risk": "CCDDDDCC"}, window_seconds=300, per_window=800)
    first = [*GARBAGE, *timeline.phase(0, 5, final=False)]
    second = timeline.phase(5, 8, final=True)
    produce(kafka_broker.bootstrap, topic, first)

    pod.play()
    pod.wait_ready()
    assert_runs_as_the_chart_says(pod)
    assert_probes_answer_as_documented(pod)
    pod.wait_until(
        "a critical page",
        lambda: any(p[2] == "critical" for p in firing_pages(receiver.at("/hook"))),
        120,
    )
    paged = time.time()
    wait_checkpoint_after(pod, paged)
    before_kill = firing_pages(receiver.at("/hook"))

    pod.kill()
    pod.play()
    pod.wait_ready()
    produce(kafka_broker.bootstrap, topic, second, start_index=len(first))
    wanted = len(timeline.windows["credit-risk"])
    pod.wait_until(
        f"{wanted} windows closed", lambda: len(window_counts(pod.events())) >= wanted, 120
    )
    time.sleep(2)  # a duplicate page, were one sent, would go out with the windows' close
    assert pod.stop() == 0, pod.tail()

    pages = firing_pages(receiver.at("/hook"))
    assert pages == before_kill, f"pages after the restart: {pages[len(before_kill) :]}"
    assert len(set(pages)) == len(pages), f"a page sent twice: {pages}"
    assert [p for p in pages if p[1] == "new"] == [pages[0]], pages
    ids = [p.headers["webhook-id"] for p in receiver.at("/hook")]
    assert len(set(ids)) == len(ids), ids
    assert_exact_counts(pod, len(first) + len(second), len(GARBAGE), 1, daemon_stopped(pod))
    note(f"default-values pod: {time.monotonic() - began:.1f}s ({pod.timings()})")


def test_production_example_pod_pages_slack_and_pagerduty_once_and_resumes_after_sigkill(
    harness: Harness, topic: str, note: Callable[[str], None]
) -> None:
    began = time.monotonic()
    h, receiver, kafka_broker = harness, harness.receiver, harness.broker
    values, secret_data = production_values(
        h.release, kafka_broker.bootstrap, topic, receiver, h.port
    )
    assert values["baselines"]["files"] == ["credit-risk.json", "fraud.json"]
    # The operator creates the dead-letter topic (the test broker creates no topic itself).
    kafka_broker.create_topic(values["config"]["dead_letter"]["topic"], partitions=1)
    files = {
        name: write_baseline(h.work / "baselines", name.removesuffix(".json")).read_text()
        for name in values["baselines"]["files"]
    }
    pod = h.start(
        values,
        [configmap(f"{h.release}-baselines", files), secret(f"{h.release}-alerting", secret_data)],
    )
    # The example's 15-minute windows; fraud stays calm, credit-risk drifts.
    timeline = Timeline(
        {"credit-risk": "CCDDDDCC", "fraud": "CCCCCCCC"}, window_seconds=900, per_window=800
    )
    first = [*GARBAGE, *timeline.phase(0, 5, final=False)]
    second = timeline.phase(5, 8, final=True)
    produce(kafka_broker.bootstrap, topic, first)

    pod.play()
    pod.wait_ready()
    assert_runs_as_the_chart_says(pod)
    assert_probes_answer_as_documented(pod)
    pod.wait_until("a PagerDuty trigger", lambda: bool(receiver.at("/pagerduty")), 120)
    paged = time.time()
    wait_checkpoint_after(pod, paged)
    slack_before = [p.body["text"] for p in receiver.at("/slack")]
    pagerduty_before = [p.body for p in receiver.at("/pagerduty")]

    pod.kill()
    pod.play()
    pod.wait_ready()
    produce(kafka_broker.bootstrap, topic, second, start_index=len(first))
    wanted = sum(len(w) for w in timeline.windows.values())
    pod.wait_until(
        f"{wanted} windows closed", lambda: len(window_counts(pod.events())) >= wanted, 120
    )
    time.sleep(2)
    assert pod.stop() == 0, pod.tail()

    triggers = receiver.at("/pagerduty")
    assert [p.body for p in triggers] == pagerduty_before, "PagerDuty paged again after restart"
    assert len(triggers) == 1, [t.body["payload"]["summary"] for t in triggers]
    trigger = triggers[0].body
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "rk-stand-in"  # read from the mounted Secret
    assert trigger["payload"]["component"] == "credit-risk"
    slack = [p.body["text"] for p in receiver.at("/slack")]
    assert slack == slack_before, f"Slack messages after the restart: {slack[len(slack_before) :]}"
    # The example routes critical drift to PagerDuty only (Slack takes warnings); the Slack
    # receiver still read its webhook URL from the mounted Secret at start.
    assert_exact_counts(pod, len(first) + len(second), len(GARBAGE), 2, daemon_stopped(pod))
    # Each rejected event reached the example's dead-letter topic once.
    dead_letters = kafka_broker.end_offsets(values["config"]["dead_letter"]["topic"])
    assert sum(dead_letters.values()) == len(GARBAGE), dead_letters
    note(f"production-example pod: {time.monotonic() - began:.1f}s ({pod.timings()})")
