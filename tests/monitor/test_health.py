"""Liveness depends on the loop only; readiness on the daemon's flags; the server serves both."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from driftwarden.monitor.config import MetricsSettings
from driftwarden.monitor.telemetry.health import HealthServer, HealthState, StorageFaults
from driftwarden.monitor.telemetry.metrics import Metrics


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_liveness_follows_the_loop_beat_not_the_broker() -> None:
    clock = _Clock()
    state = HealthState(liveness_timeout=30.0, clock=clock)
    state.set_broker_reachable(False)
    assert state.liveness()[0] is True  # start-up grace
    clock.now += 31
    alive, body = state.liveness()
    assert alive is False
    assert body["status"] == "stalled"
    assert body["seconds_since_last_loop"] == 31.0
    state.beat()
    assert state.liveness()[0] is True  # broker still unreachable: alive all the same


def test_readiness_needs_all_conditions() -> None:
    state = HealthState(clock=_Clock())
    assert state.readiness() == (
        False,
        {
            "status": "not_ready",
            "partitions_assigned": False,
            "broker_reachable": False,
            "baselines_loaded": False,
            "storage_writable": True,
            "storage_faults": {},
        },
    )
    state.set_partitions_assigned(True)
    state.set_broker_reachable(True)
    assert state.readiness()[0] is False
    state.set_baselines_loaded(True)
    assert state.readiness()[0] is True
    state.set_broker_reachable(False)
    ready, body = state.readiness()
    assert ready is False
    assert body["broker_reachable"] is False


def test_a_hot_standby_is_ready_without_partitions_and_says_so() -> None:
    """A standby waits to take over: that is its job, so it must not block rollouts."""
    state = HealthState(clock=_Clock())
    state.set_broker_reachable(True)
    state.set_baselines_loaded(True)
    assert state.readiness()[0] is False  # not in the group yet
    state.set_group_role("standby")
    assert state.readiness() == (
        True,
        {
            "status": "ready",
            "partitions_assigned": False,
            "broker_reachable": True,
            "baselines_loaded": True,
            "storage_writable": True,
            "storage_faults": {},
            "role": "standby",
        },
    )
    state.set_broker_reachable(False)
    assert state.readiness()[0] is False  # a standby that cannot reach Kafka cannot take over
    state.set_broker_reachable(True)
    state.set_group_role("active")
    assert state.readiness()[0] is False  # active, but owns nothing yet
    state.set_partitions_assigned(True)
    assert state.readiness()[0] is True


@pytest.fixture
def served() -> Iterator[tuple[HealthServer, HealthState, _Clock]]:
    clock = _Clock()
    state = HealthState(liveness_timeout=10.0, clock=clock)
    metrics = Metrics("0.0.1")
    metrics.record_loop_iteration()
    with HealthServer(MetricsSettings(host="127.0.0.1", port=0), metrics, state) as server:
        yield server, state, clock


def _get(server: HealthServer, path: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}")
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers["Content-Type"], err.read().decode()


def test_server_on_port_zero_serves_metrics(served: Any) -> None:
    server, _, _ = served
    assert server.port > 0
    status, content_type, body = _get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "driftwarden_loop_iterations_total 1.0" in body
    assert "_created" not in body


def test_server_negotiates_openmetrics(served: Any) -> None:
    server, _, _ = served
    status, content_type, body = _get(
        server, "/metrics", accept="application/openmetrics-text; version=1.0.0"
    )
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")
    assert "_created" not in body


def test_healthz_and_readyz_codes(served: Any) -> None:
    server, state, clock = served
    assert _get(server, "/healthz")[0] == 200
    status, _, body = _get(server, "/readyz")
    assert status == 503
    assert json.loads(body)["status"] == "not_ready"
    for setter in (
        state.set_partitions_assigned,
        state.set_broker_reachable,
        state.set_baselines_loaded,
    ):
        setter(True)
    assert _get(server, "/readyz")[0] == 200
    clock.now += 11
    status, _, body = _get(server, "/healthz")
    assert status == 503
    assert json.loads(body)["status"] == "stalled"


def test_unknown_path_is_404(served: Any) -> None:
    server, _, _ = served
    assert _get(server, "/nope")[0] == 404


def test_stop_releases_the_port() -> None:
    state = HealthState()
    server = HealthServer(MetricsSettings(host="127.0.0.1", port=0), Metrics("1"), state)
    server.start()
    port = server.port
    server.stop()
    again = HealthServer(MetricsSettings(host="127.0.0.1", port=port), Metrics("1"), state)
    again.start()
    assert again.port == port
    again.stop()


def test_a_storage_fault_makes_readiness_fail_until_it_clears() -> None:
    state = HealthState(clock=_Clock())
    for setter in (
        state.set_partitions_assigned,
        state.set_broker_reachable,
        state.set_baselines_loaded,
    ):
        setter(True)
    assert state.storage_fault("checkpoint", "No space left on device") is None
    assert state.storage_fault("alert_state", "Too many open files") is None
    ready, body = state.readiness()
    assert ready is False
    assert body["storage_writable"] is False
    assert body["storage_faults"] == {
        "alert_state": "Too many open files",
        "checkpoint": "No space left on device",
    }
    assert state.storage_fault("checkpoint", None) == "No space left on device"
    assert state.readiness()[0] is False  # alert state still faulty
    state.storage_fault("alert_state", None)
    assert state.readiness() == (
        True,
        {
            "status": "ready",
            "partitions_assigned": True,
            "broker_reachable": True,
            "baselines_loaded": True,
            "storage_writable": True,
            "storage_faults": {},
        },
    )
    assert state.liveness()[0] is True  # never a reason to restart the pod


def _sample(metrics: Metrics, name: str, component: str) -> float:
    prefix = f'{name}{{component="{component}"}} '
    [line] = [x for x in metrics.exposition().decode().splitlines() if x.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def test_on_store_fault_counts_each_failure_and_logs_only_the_transitions() -> None:
    state = HealthState(clock=_Clock())
    metrics = Metrics("1")
    hook = StorageFaults(state, metrics).on_store_fault
    with structlog.testing.capture_logs() as logs:
        hook("alert_state", None)  # healthy write: nothing to say
        for _ in range(3):
            hook("alert_state", "[Errno 28] No space left on device")
        hook("alert_state", None)
        hook("alert_state", None)
    assert _sample(metrics, "driftwarden_storage_write_failures_total", "alert_state") == 3.0
    assert _sample(metrics, "driftwarden_storage_fault", "alert_state") == 0.0
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("storage_faulted", "error"),
        ("storage_recovered", "info"),
    ]
    assert state.readiness()[1]["storage_faults"] == {}


def test_readyz_shows_the_storage_fault(served: Any) -> None:
    server, state, _ = served
    for setter in (
        state.set_partitions_assigned,
        state.set_broker_reachable,
        state.set_baselines_loaded,
    ):
        setter(True)
    StorageFaults(state, server.metrics).on_store_fault("checkpoint", "disk full")
    status, _, body = _get(server, "/readyz")
    assert status == 503
    assert json.loads(body)["storage_faults"] == {"checkpoint": "disk full"}
    status, _, text = _get(server, "/metrics")
    assert 'driftwarden_storage_fault{component="checkpoint"} 1.0' in text
    assert _get(server, "/healthz")[0] == 200
