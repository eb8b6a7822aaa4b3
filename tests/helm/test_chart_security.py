"""Security invariants of every rendered pod spec, and no secret value outside Secrets.

These are asserted here in Python, independently of tools/manifest-check's Pod Security
evaluation, so a reviewer can read exactly what the chart promises.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .rendering import ALL_VALUES, CHART, MONITORING_API, Chart, values_id

pytestmark = pytest.mark.helm

SASL_SSL = CHART / "ci" / "sasl-ssl-values.yaml"
IMAGE_UID = 10001


def containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key, [])


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_every_pod_spec_is_locked_down(chart: Chart, values: Path | None) -> None:
    """Non-root numeric user, read-only root fs, drop ALL, no privilege escalation, seccomp
    RuntimeDefault, no hostPath / host namespaces / privileged, no API token."""
    render = chart.render([values], api_versions=[MONITORING_API])
    workloads = render.of_kind("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    assert workloads, "no pod-bearing resource rendered"
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod_ctx = pod["securityContext"]
        assert pod_ctx["runAsNonRoot"] is True, where
        assert pod_ctx["runAsUser"] == IMAGE_UID, where
        assert pod_ctx["runAsGroup"] == IMAGE_UID, where
        assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(flag, False), f"{where} sets {flag}"
        for volume in pod.get("volumes", []):
            assert "hostPath" not in volume, f"{where} volume {volume['name']} uses hostPath"
        for container in containers(pod):
            ctx = container["securityContext"]
            name = f"{where} container {container['name']}"
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx.get("privileged", False) is False, name
            assert ctx.get("runAsNonRoot", True) is True, name
            assert ctx.get("runAsUser", IMAGE_UID) != 0, name
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: read-only root needs a writable /tmp"
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert "sizeLimit" in volumes[mounts["/tmp"]["name"]]["emptyDir"], name
            assert "memory" in container["resources"]["limits"], f"{name}: no memory limit"


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_service_accounts_do_not_automount_tokens(chart: Chart, values: Path | None) -> None:
    for account in chart.render([values]).of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def secret_literals(secret: dict[str, Any]) -> set[str]:
    literals = set(secret.get("stringData", {}).values())
    literals |= {base64.b64decode(v).decode() for v in secret.get("data", {}).values()}
    return literals


def test_no_secret_value_reaches_a_configmap_or_a_pod_spec(chart: Chart) -> None:
    """The sasl-ssl values create Secrets with literal test values (extraObjects); those
    values may appear in Secret objects only, never in a ConfigMap or the workload."""
    render = chart.render([SASL_SSL], api_versions=[MONITORING_API])
    literals = set().union(*(secret_literals(s) for s in render.of_kind("Secret")))
    assert len(literals) >= 7, "the sasl-ssl values should carry every kind of secret"
    for doc in render.docs:
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        leaked = sorted(v for v in literals if v in text)
        assert not leaked, f"{doc['kind']}/{doc['metadata']['name']} contains {leaked}"


def test_secrets_are_mounted_read_only_and_group_readable_only(chart: Chart) -> None:
    pod = chart.render([SASL_SSL]).pod_spec()
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
    assert volume["projected"]["defaultMode"] == 0o440
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "secrets")
    assert mount["readOnly"] is True


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_termination_grace_period_covers_the_daemon_shutdown(
    chart: Chart, values: Path | None
) -> None:
    """Kubernetes must not SIGKILL the daemon before its own grace period has run out."""
    render = chart.render([values])
    grace = render.daemon_config()["shutdown"]["grace_period"]
    termination = render.pod_spec()["terminationGracePeriodSeconds"]
    assert termination > grace
    assert termination - grace >= 5, "leave time for process exit after the daemon's drain"
