"""Rendered manifests: schema-valid, correctly gated, wired together, rolled on config change."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv_utils
from kubernetes_validate.utils import SchemaNotFoundError

from .rendering import (
    ALL_VALUES,
    CHART,
    KUBE_VERSIONS,
    MONITORING_API,
    Chart,
    Render,
    values_id,
)

pytestmark = pytest.mark.helm

CRD_GROUP = "monitoring.coreos.com/"
FULL = CHART / "ci" / "full-values.yaml"
STATEFULSET = CHART / "ci" / "statefulset-values.yaml"
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


@pytest.fixture(scope="module")
def cached_schemas() -> Iterator[None]:
    """kubernetes-validate re-reads a 1.8 MB definitions file for every resource; reading
    each schema file once cuts this module's time severalfold. Results are unchanged: the
    schemas are only read, never modified."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kv_utils, "schema_contents", functools.cache(kv_utils.schema_contents))
        yield


@pytest.mark.usefixtures("cached_schemas")
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_every_manifest_validates_against_kubernetes_schemas(
    chart: Chart, values: Path | None, kube_version: str
) -> None:
    """kubernetes-validate --strict (unknown fields, wrong types) at the oldest and newest
    supported Kubernetes, rendered with that --kube-version.

    A kind without a bundled schema is a failure (a removed API or a misspelt kind would
    otherwise pass silently), except the Prometheus Operator CRDs: those are checked by
    `test_pods_meet_restricted_profile_and_crds_decode_strictly`.
    """
    render = chart.render([values], api_versions=[MONITORING_API], kube_version=f"{kube_version}.0")
    errors = schema_errors(render.docs, kube_version)
    assert not errors, "\n".join(errors)


def schema_errors(docs: list[dict[str, Any]], kube_version: str) -> list[str]:
    errors: list[str] = []
    for doc in docs:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except SchemaNotFoundError as exc:
            if not doc["apiVersion"].startswith(CRD_GROUP):
                errors.append(f"{name}: {exc.message}")
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{name}: {path}: {exc.message}")
    return errors


@pytest.mark.usefixtures("cached_schemas")
def test_schema_validation_reports_types_unknown_fields_and_unknown_kinds() -> None:
    """The check above must fail on bad input, or passing it proves nothing."""
    meta = {"name": "bad"}
    docs = [
        {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"ports": "9108"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "dta": {}},
        {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": meta},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta},
    ]
    errors = schema_errors(docs, KUBE_VERSIONS[-1])
    assert len(errors) == 3, errors
    assert "is not of type 'array'" in errors[0]
    assert "'dta' was unexpected" in errors[1]
    assert "Couldn't find schema for kind PodDisruptionBudget" in errors[2]


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_pods_meet_restricted_profile_and_crds_decode_strictly(
    chart: Chart, manifest_check_bin: Path, values: Path | None
) -> None:
    """tools/manifest-check on the whole render.

    Checks (1) every pod template against Pod Security "restricted" (latest) with the API
    server's own evaluator (k8s.io/pod-security-admission), and (2) ServiceMonitor and
    PrometheusRule by strict decoding into the Prometheus Operator's Go types
    (pkg/apis/monitoring v0.95.1): unknown fields and wrong types fail, plus a non-empty
    selector, endpoints with a port, unique non-empty groups, each rule exactly one of
    alert/record with an expr. Not checked: the CRDs' OpenAPI patterns (e.g. duration
    syntax) and PromQL, which promtool checks in test_self_monitoring_rules.
    """
    render = chart.render([values], api_versions=[MONITORING_API])
    result = subprocess.run(
        [str(manifest_check_bin)],
        input=render.text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_check_reports_violations(manifest_check_bin: Path) -> None:
    """The checker itself must fail on bad input, or the test above proves nothing."""
    bad = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: x}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: bad}
spec:
  selector: {matchLabels: {a: b}}
  endpoints: [{port: metrics, intervall: 30s}]
"""
    result = subprocess.run(
        [str(manifest_check_bin)], input=bad, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert 'violates PodSecurity "restricted:latest"' in result.stdout
    assert 'unknown field "intervall"' in result.stdout


def test_kubernetes_older_than_the_minimum_is_refused(chart: Chart) -> None:
    result = chart.run(chart.command(kube_version="1.28.0"))
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr


@pytest.mark.parametrize(
    ("values", "api_versions", "expected"),
    [
        pytest.param(None, [MONITORING_API], set(), id="defaults-with-operator"),
        pytest.param(FULL, [], set(), id="enabled-without-operator"),
        pytest.param(FULL, [f"{MONITORING_API}/ServiceMonitor"], set(), id="kind-only-api"),
        pytest.param(
            FULL, [MONITORING_API], {"ServiceMonitor", "PrometheusRule"}, id="enabled-with-operator"
        ),
    ],
)
def test_monitoring_objects_need_the_value_and_the_operator_api(
    chart: Chart, values: Path | None, api_versions: list[str], expected: set[str]
) -> None:
    """Installs on clusters without the Prometheus Operator must not fail on unknown kinds."""
    render = chart.render([values], api_versions=api_versions)
    crds = {d["kind"] for d in render.docs if d["apiVersion"].startswith(CRD_GROUP)}
    assert crds == expected


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_every_chart_resource_carries_the_recommended_labels(
    chart: Chart, values: Path | None
) -> None:
    render = chart.render([values], api_versions=[MONITORING_API])
    own = [d for d in render.docs if d["kind"] != "Secret"]  # extraObjects are the user's
    for doc in own:
        labels = doc["metadata"].get("labels", {})
        missing = [k for k in RECOMMENDED_LABELS if k not in labels]
        assert not missing, f"{doc['kind']}/{doc['metadata']['name']} lacks {missing}"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_service_pdb_and_servicemonitor_select_the_pods(chart: Chart, values: Path | None) -> None:
    render = chart.render([values], api_versions=[MONITORING_API])
    workload = render.workload()
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert _selects(workload["spec"]["selector"]["matchLabels"], pod_labels)
    service = render.one("Service")
    assert _selects(service["spec"]["selector"], pod_labels)
    container = workload["spec"]["template"]["spec"]["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    for pdb in render.of_kind("PodDisruptionBudget"):
        assert _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    for monitor in render.of_kind("ServiceMonitor"):
        assert _selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {
            p["name"] for p in service["spec"]["ports"]
        }


def _checksum(render: Render) -> str:
    annotations: dict[str, Any] = render.workload()["spec"]["template"]["metadata"]["annotations"]
    return str(annotations["checksum/config"])


def test_checksum_config_changes_with_the_config_and_not_with_replicas(chart: Chart) -> None:
    """A config change must roll the pods (new checksum); scaling must not restart them."""
    base = _checksum(chart.render())
    assert _checksum(chart.render(set_values=["replicaCount=3"])) == base
    assert _checksum(chart.render(set_values=["config.logging.level=debug"])) != base
    assert _checksum(chart.render(set_values=["checkpoint.interval=30s"])) != base


def test_kafka_checkpoints_give_a_deployment_without_volumes_claims(chart: Chart) -> None:
    render = chart.render()
    assert render.workload()["kind"] == "Deployment"
    assert render.daemon_config()["checkpoint"]["backend"] == "kafka"
    assert not render.of_kind("PersistentVolumeClaim")


def test_directory_checkpoints_give_a_statefulset_with_a_claim_per_pod(chart: Chart) -> None:
    render = chart.render([STATEFULSET])
    workload = render.workload()
    assert workload["kind"] == "StatefulSet"
    assert workload["spec"]["serviceName"] == render.one("Service")["metadata"]["name"]
    claims = workload["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["checkpoints"]
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    config = render.daemon_config()
    container = workload["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert config["checkpoint"] == {
        "backend": "directory",
        "directory": mounts["checkpoints"],
        "interval": "30s",
    }
    env = {e["name"]: e for e in container["env"]}
    assert env["DRIFTWARDEN_KAFKA__GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"] == {
        "fieldPath": "metadata.name"
    }
