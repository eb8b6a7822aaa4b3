"""What the chart tests share: paths, the values files, and cached `helm template` renders."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

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
METRICS_DOC = REPO / "docs" / "metrics.md"
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet"})


EXAMPLE_VALUES = sorted((REPO / "examples" / "helm").glob("*-values.yaml"))


def values_id(path: Path | None) -> str:
    if path is None:
        return "defaults"
    prefix = "example-" if path.parent.name == "helm" else ""
    return prefix + path.name.removesuffix("-values.yaml")


# Every values file the chart must handle: its defaults, each ci/*-values.yaml, and the
# documented examples (so the README's production example cannot rot).
ALL_VALUES: list[Path | None] = [None, *CI_VALUES, *EXAMPLE_VALUES]


def tool_missing(tool: str, fix: str) -> NoReturn:
    message = f"{tool} not found; {fix}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing tool is a failure, not a skip)")
    pytest.skip(message)


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
        config: dict[str, Any] = yaml.safe_load(
            self.one("ConfigMap", name)["data"]["driftwarden.yaml"]
        )
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

    def render_error(
        self, values: Iterable[Path | None] = (), *, set_values: Sequence[str] = ()
    ) -> str:
        """stderr of a render that must fail; asserts that it does."""
        cmd = self.command(values, set_values=set_values, api_versions=[MONITORING_API])
        result = self.run(cmd)
        assert result.returncode != 0, f"{' '.join(cmd)} rendered but should have failed"
        return result.stderr


def documented_metrics() -> set[str]:
    return set(re.findall(r"^\| `(driftwarden_\w+)` \|", METRICS_DOC.read_text(), re.MULTILINE))


def undocumented_metrics(expr: str) -> set[str]:
    """driftwarden_* names in a PromQL expression that docs/metrics.md does not list
    (a histogram's _bucket, _count and _sum series count as the histogram)."""
    documented = documented_metrics()
    names = set(re.findall(r"\bdriftwarden_\w+", expr))
    return {
        n
        for n in names
        if n not in documented and re.sub(r"_(bucket|count|sum)$", "", n) not in documented
    }
