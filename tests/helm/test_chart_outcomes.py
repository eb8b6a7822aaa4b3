"""Outcomes in the chart (issue 14): the join's store gets a volume, and one pod only.

The store is a SQLite file under `config.outcomes.directory` and part of the
checkpointed state (docs/outcomes.md): the chart must mount a persistent, writable
volume there (the root filesystem is read-only) and refuse any layout in which a
second pod could take over without the store or open it beside the first.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from driftwarden.monitor.config import Settings

from .rendering import CHART, Chart, Render

pytestmark = pytest.mark.helm

OUTCOMES = CHART / "ci" / "outcomes-values.yaml"
STORE = "/var/lib/driftwarden/outcomes"
# Every outcomes.persistence value set to something other than its default.
PERSISTENCE_SET = (
    "outcomes.persistence.size=3Gi",
    "outcomes.persistence.storageClassName=slow",
    "outcomes.persistence.keepOnUninstall=false",
    "outcomes.persistence.accessModes={ReadWriteOncePod}",
)


def mounts(render: Render) -> dict[str, dict[str, Any]]:
    container = render.pod_spec()["containers"][0]
    return {m["name"]: m for m in container["volumeMounts"]}


def volumes(render: Render) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in render.pod_spec()["volumes"]}


def test_without_config_outcomes_the_outcome_values_change_nothing(chart: Chart) -> None:
    """Outcomes off: the store's values render byte for byte what the defaults render."""
    default = chart.render()
    assert chart.render(set_values=PERSISTENCE_SET).text == default.text
    claim = chart.render(set_values=["outcomes.persistence.existingClaim=store"])
    assert claim.text == default.text
    assert "outcomes" not in default.daemon_config()
    assert "outcomes" not in mounts(default)
    assert "outcomes" not in volumes(default)
    assert not default.of_kind("PersistentVolumeClaim")


def test_config_outcomes_null_turns_the_join_and_its_volume_off(
    chart: Chart, tmp_path: Path
) -> None:
    """`config.outcomes: null` over a values file that sets it: no join, no claim."""
    off = tmp_path / "off-values.yaml"
    off.write_text("config:\n  outcomes: null\n  kafka: {outcome_topics: []}\n", "utf-8")
    render = chart.render([OUTCOMES, off])
    assert "outcomes" not in render.daemon_config()
    assert "outcomes" not in mounts(render)
    assert not render.of_kind("PersistentVolumeClaim")


def test_outcomes_get_a_claim_mounted_where_the_config_puts_the_store(chart: Chart) -> None:
    render = chart.render([OUTCOMES])
    claim = render.one("PersistentVolumeClaim", "dw-driftwarden-outcomes")
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "fast-ssd",
        "resources": {"requests": {"storage": "20Gi"}},
    }
    assert claim["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    volume = volumes(render)["outcomes"]
    assert volume == {
        "name": "outcomes",
        "persistentVolumeClaim": {"claimName": "dw-driftwarden-outcomes"},
    }
    mount = mounts(render)["outcomes"]
    assert mount["mountPath"] == STORE
    assert not mount.get("readOnly", False), "the store is written"
    config = render.daemon_config()
    assert config["outcomes"]["directory"] == STORE
    assert config["kafka"]["outcome_topics"] == ["outcomes"]


def test_the_daemon_reads_the_join_settings_from_values_and_the_store_from_the_chart(
    chart: Chart,
) -> None:
    settings = Settings.model_validate(chart.render([OUTCOMES]).daemon_config())
    outcomes = settings.outcomes
    assert outcomes is not None
    assert (outcomes.horizon, outcomes.sample, outcomes.min_coverage) == (3 * 86400.0, 0.5, 0.9)
    assert outcomes.outcome == "label.actual"
    assert outcomes.thresholds["accuracy"].critical == 0.05
    assert PurePosixPath(str(outcomes.directory)) == PurePosixPath(STORE)


def test_empty_config_outcomes_turns_the_join_on_with_the_daemon_defaults(
    chart: Chart, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("config:\n  outcomes: {}\n", encoding="utf-8")
    render = chart.render([values])
    assert render.daemon_config()["outcomes"] == {"directory": STORE}
    assert render.one("PersistentVolumeClaim")["spec"]["resources"]["requests"] == {
        "storage": "10Gi"
    }


def test_an_existing_claim_is_mounted_and_no_claim_is_made(chart: Chart) -> None:
    render = chart.render([OUTCOMES], set_values=["outcomes.persistence.existingClaim=store"])
    assert not render.of_kind("PersistentVolumeClaim")
    assert volumes(render)["outcomes"]["persistentVolumeClaim"] == {"claimName": "store"}
    assert mounts(render)["outcomes"]["mountPath"] == STORE


def test_the_statefulset_mounts_the_same_one_claim_beside_its_checkpoint_volume(
    chart: Chart,
) -> None:
    """volumeClaimTemplates cannot change on an existing StatefulSet, so turning outcomes
    on must not add one: the store is the one claim the Deployment uses too."""
    render = chart.render([OUTCOMES], set_values=["checkpoint.backend=directory"])
    workload = render.workload()
    assert workload["kind"] == "StatefulSet"
    templates = [c["metadata"]["name"] for c in workload["spec"]["volumeClaimTemplates"]]
    assert templates == ["checkpoints"]
    assert render.one("PersistentVolumeClaim")["metadata"]["name"] == "dw-driftwarden-outcomes"
    assert volumes(render)["outcomes"]["persistentVolumeClaim"] == {
        "claimName": "dw-driftwarden-outcomes"
    }
    config = render.daemon_config()
    assert config["outcomes"]["directory"] == mounts(render)["outcomes"]["mountPath"]
    assert config["checkpoint"]["directory"] == mounts(render)["checkpoints"]["mountPath"]


def test_keep_on_uninstall_can_be_turned_off(chart: Chart) -> None:
    render = chart.render([OUTCOMES], set_values=["outcomes.persistence.keepOnUninstall=false"])
    assert "annotations" not in render.one("PersistentVolumeClaim")["metadata"]


@pytest.mark.parametrize(
    ("set_values", "message"),
    [
        pytest.param(
            ["replicaCount=2"],
            "config.outcomes is set and replicaCount is 2: the outcome join's store is one "
            "pod's volume (outcomes.persistence), so a standby would take over without it",
            id="two-replicas",
        ),
        pytest.param(
            ["replicaCount=2"],
            "set replicaCount 1",
            id="two-replicas-fix",
        ),
        pytest.param(
            ["group.mode=partitioned"],
            "config.outcomes is set and group.mode is partitioned",
            id="partitioned",
        ),
        pytest.param(
            ["deploymentStrategy.type=RollingUpdate"],
            "set deploymentStrategy.type Recreate",
            id="rolling-update",
        ),
        pytest.param(
            ["config.outcomes=null"],
            "config.kafka.outcome_topics is set but config.outcomes is not",
            id="outcome-topics-without-outcomes",
        ),
    ],
)
def test_layouts_that_would_start_a_pod_without_the_store_are_refused_with_the_fix(
    chart: Chart, set_values: list[str], message: str
) -> None:
    assert message in chart.render_error([OUTCOMES], set_values=set_values)


def test_the_statefulset_is_not_refused_for_a_deployment_strategy_it_does_not_use(
    chart: Chart,
) -> None:
    """A StatefulSet's rolling update removes the old pod before the new one starts, so
    it never runs two pods on the store; deploymentStrategy is the Deployment's only."""
    render = chart.render(
        [OUTCOMES],
        set_values=["checkpoint.backend=directory", "deploymentStrategy.type=RollingUpdate"],
    )
    assert render.workload()["kind"] == "StatefulSet"
    assert render.workload()["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    ("values", "error"),
    [
        pytest.param(
            ["config.outcomes.directory=/data"],
            "at '/config/outcomes/directory': false schema",
            id="chart-owned-directory",
        ),
        pytest.param(
            ["outcomes.persistence.sise=1Gi"],
            "additional properties 'sise' not allowed",
            id="typo",
        ),
        pytest.param(
            ["outcomes.persistence.accessModes={ReadOnlyMany}"],
            "at '/outcomes/persistence/accessModes/0'",
            id="read-only-store",
        ),
    ],
)
def test_bad_outcome_values_are_rejected_by_the_schema(
    chart: Chart, values: list[str], error: str
) -> None:
    stderr = chart.render_error([OUTCOMES], set_values=values)
    assert "values don't meet the specifications of the schema" in stderr
    assert error in stderr
