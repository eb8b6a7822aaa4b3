"""Where the chart's pod keeps alert state: only in places it can write (issue 12)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from driftwarden.monitor.alerting.store import state_directory, uses_kafka
from driftwarden.monitor.config import Settings

from .rendering import Chart

pytestmark = pytest.mark.helm


def _mounts(pod: dict[str, Any]) -> list[PurePosixPath]:
    return [
        PurePosixPath(m["mountPath"]) for c in pod["containers"] for m in c.get("volumeMounts", [])
    ]


def test_the_deployment_keeps_alert_state_in_the_checkpoint_topic(chart: Chart) -> None:
    render = chart.render([])
    assert render.workload()["kind"] == "Deployment"
    settings = Settings.model_validate(render.daemon_config())
    assert uses_kafka(settings)


def test_the_statefulset_keeps_alert_state_on_its_volume(chart: Chart) -> None:
    render = chart.render([], set_values=["checkpoint.backend=directory"])
    assert render.workload()["kind"] == "StatefulSet"
    settings = Settings.model_validate(render.daemon_config())
    assert not uses_kafka(settings)
    directory = PurePosixPath(state_directory(settings))
    volume = PurePosixPath(str(settings.checkpoint.directory))
    assert volume in _mounts(render.pod_spec())
    assert directory.is_relative_to(volume), f"{directory} is not on the volume {volume}"
