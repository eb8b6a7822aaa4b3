"""Replicas that share the reading (group.mode partitioned) and the autoscaler examples."""

from __future__ import annotations

import pytest

from .rendering import CHART, Chart

pytestmark = pytest.mark.helm

PARTITIONED = CHART / "ci" / "partitioned-values.yaml"
KEDA_API = "keda.sh/v1alpha1"


def test_partitioned_values_reach_the_daemon_config(chart: Chart) -> None:
    config = chart.render([PARTITIONED]).daemon_config()
    assert config["group"] == {
        "mode": "partitioned",
        "partials_topic": "driftwarden-partials",
        "partials_partitions": 3,
        "partials_retention": "72h",
        "merge_timeout": "5m",
    }
    assert config["checkpoint"]["backend"] == "kafka"


def test_the_default_stays_active_standby(chart: Chart) -> None:
    assert chart.render().daemon_config()["group"]["mode"] == "active-standby"


def test_the_hpa_scales_the_deployment_on_cpu(chart: Chart) -> None:
    render = chart.render([PARTITIONED])
    hpa = render.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": render.workload()["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)


def test_keda_scales_on_the_lag_of_every_topic_only_where_keda_is_served(chart: Chart) -> None:
    keda = [
        "autoscaling.hpa.enabled=false",
        "autoscaling.keda.enabled=true",
        "config.kafka.topics={a,b}",
        "config.kafka.group_id=readers",
    ]
    assert chart.render([PARTITIONED], set_values=keda).of_kind("ScaledObject") == []
    scaled = chart.render([PARTITIONED], set_values=keda, api_versions=[KEDA_API]).one(
        "ScaledObject"
    )
    triggers = scaled["spec"]["triggers"]
    assert [t["metadata"]["topic"] for t in triggers] == ["a", "b"]
    assert {t["metadata"]["consumerGroup"] for t in triggers} == {"readers"}
    assert {t["type"] for t in triggers} == {"kafka"}


def test_autoscaling_in_active_standby_is_refused_naming_the_fix(chart: Chart) -> None:
    error = chart.render_error(set_values=["autoscaling.hpa.enabled=true"])
    assert "autoscaling needs group.mode partitioned" in error


def test_hpa_and_keda_together_are_refused(chart: Chart) -> None:
    error = chart.render_error([PARTITIONED], set_values=["autoscaling.keda.enabled=true"])
    assert "only one of autoscaling.hpa and autoscaling.keda" in error


def test_partitioned_mode_with_directory_checkpoints_is_rejected_by_the_schema(
    chart: Chart,
) -> None:
    error = chart.render_error(
        set_values=["group.mode=partitioned", "checkpoint.backend=directory"]
    )
    assert "checkpoint" in error
