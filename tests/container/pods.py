"""The chart's own pod, rendered by helm and run by `podman kube play`.

What the harness changes in the rendered manifests, and why (nothing else is touched):

- `containerPort`s are removed: podman refuses port mappings with `--network host`, which
  the pod needs to reach the test broker on 127.0.0.1.
- Only what kube play runs is kept (ConfigMaps, PersistentVolumeClaims, the Deployment or
  StatefulSet); it ignores Services, ServiceAccounts, PDBs and NetworkPolicies anyway.
- podman names an emptyDir's volume after the volume (`tmp`) in one global namespace, so
  two pods would share one `/tmp`: each pod's emptyDir volumes get a name unique to the
  release, and are deleted between two plays, as Kubernetes loses an emptyDir with its pod.
- podman 4.3 mounts neither `secret` nor `projected` volumes. The chart's projected
  Secret volume becomes a hostPath directory holding exactly the items the projection
  names, at the same paths, mode 0440, group fsGroup: what the kubelet would mount.

Every podman call runs `podman --runtime runc` with a containers.conf that sets no default
ulimits (crun and podman's default RLIMIT_NOFILE fail where CAP_SYS_RESOURCE is withheld).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "driftwarden"
IMAGE_REPOSITORY = "localhost/driftwarden"
IMAGE_TAG = "test"
IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
NAMESPACE = "ml"
PLAYED_KINDS = ("ConfigMap", "PersistentVolumeClaim", "Deployment", "StatefulSet")


@dataclass(frozen=True)
class Podman:
    """`podman --runtime runc` with the environment every call needs."""

    env: Mapping[str, str]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["podman", "--runtime", "runc", *args],
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(self.env),
            # podman 4.3's kube play builds (or fails on) any image whose name is an entry
            # of the working directory, even with --build=false: `./driftwarden` is our CLI.
            cwd=CHART,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result


def render(helm: Path, release: str, values: Mapping[str, Any], work: Path) -> list[dict[str, Any]]:
    """`helm template` of the chart with one values file written from `values`."""
    values_file = work / f"{release}-values.yaml"
    values_file.write_text(yaml.safe_dump(dict(values), sort_keys=False), encoding="utf-8")
    cmd = [str(helm), "template", release, str(CHART), "--namespace", NAMESPACE]
    result = subprocess.run(
        [*cmd, "-f", str(values_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def configmap(name: str, files: Mapping[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": files}


def secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "stringData": dict(data),
    }


def claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    }


@dataclass
class ChartPod:
    """One release of the chart as a podman pod: play, kill, play again, inspect."""

    podman: Podman
    release: str
    manifests: list[dict[str, Any]]
    objects: list[dict[str, Any]]  # ConfigMaps, Secrets and PVCs the values reference
    work: Path
    port: int
    plays: int = 0
    _logs: list[str] = field(default_factory=list)
    _volumes: set[str] = field(default_factory=set)
    _empty_dirs: set[str] = field(default_factory=set)
    _ready_after: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        playable = self._playable()
        self.play_file = self.work / f"{self.release}-play.yaml"
        self.play_file.write_text(yaml.safe_dump_all(playable, sort_keys=False), encoding="utf-8")
        # A claim outlives its pod: later plays use the volume the first one created
        # (kube play refuses to create a PVC's volume twice).
        self.replay_file = self.work / f"{self.release}-replay.yaml"
        self.replay_file.write_text(
            yaml.safe_dump_all(
                [d for d in playable if d["kind"] != "PersistentVolumeClaim"], sort_keys=False
            ),
            encoding="utf-8",
        )

    @property
    def workload(self) -> dict[str, Any]:
        found = [d for d in self.manifests if d["kind"] in ("Deployment", "StatefulSet")]
        assert len(found) == 1, [d["kind"] for d in self.manifests]
        return found[0]

    @property
    def container(self) -> str:
        """podman's name: <workload>-pod-0 for the pod, then -<container name>."""
        return f"{self.workload['metadata']['name']}-pod-0-driftwarden"

    # --- the manifests kube play gets ----------------------------------------------------

    def _playable(self) -> list[dict[str, Any]]:
        secrets = {
            o["metadata"]["name"]: o["stringData"] for o in self.objects if o["kind"] == "Secret"
        }
        out = [o for o in self.objects if o["kind"] != "Secret"]
        for doc in self.manifests:
            if doc["kind"] not in PLAYED_KINDS:
                continue
            copy = json.loads(json.dumps(doc))
            if copy["kind"] in ("Deployment", "StatefulSet"):
                self._adapt(copy["spec"]["template"]["spec"], secrets)
            if copy["kind"] == "ConfigMap":
                self._volumes.add(copy["metadata"]["name"])
            out.append(copy)
        for o in self.objects:
            if o["kind"] in ("ConfigMap", "PersistentVolumeClaim"):
                self._volumes.add(o["metadata"]["name"])
        return out

    def _adapt(self, spec: dict[str, Any], secrets: Mapping[str, Mapping[str, str]]) -> None:
        renamed: dict[str, str] = {}
        for volume in spec.get("volumes", []):
            if "emptyDir" in volume:
                renamed[volume["name"]] = f"{self.release}-{volume['name']}"
                volume["name"] = renamed[volume["name"]]
                self._empty_dirs.add(volume["name"])
            elif "projected" in volume:
                volume["hostPath"] = {
                    "path": str(self._materialise(volume.pop("projected"), secrets)),
                    "type": "Directory",
                }
        for container in spec["containers"]:
            container.pop("ports", None)
            for mount in container.get("volumeMounts", []):
                mount["name"] = renamed.get(mount["name"], mount["name"])

    def _materialise(
        self, projected: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]
    ) -> Path:
        root = self.work / f"{self.release}-secrets"
        mode = int(projected.get("defaultMode", 0o644))
        for source in projected["sources"]:
            ref = source["secret"]
            assert ref["name"] in secrets, f"the pod needs Secret {ref['name']!r}; none given"
            for item in ref["items"]:
                path = root / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets[ref["name"]][item["key"]], encoding="utf-8")
                os.chown(path, 0, 10001)
                path.chmod(mode)
        for directory in [root, *root.rglob("*")]:
            if directory.is_dir():
                directory.chmod(0o755)
        return root

    # --- lifecycle -------------------------------------------------------------------------

    def play(self) -> None:
        for name in self._empty_dirs:  # a new pod gets an empty emptyDir
            self.podman.run("volume", "rm", "--force", name, check=False)
        manifest = self.play_file if self.plays == 0 else self.replay_file
        self.podman.run("kube", "play", "--build=false", "--network", "host", str(manifest))
        self.plays += 1

    def kill(self) -> None:
        """SIGKILL, as a node failure or the OOM killer would; then the pod is gone."""
        self.podman.run("kill", self.container)
        self.wait_exited(30)
        self._down()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait (Kubernetes' termination); the container's exit code."""
        grace = int(self.workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])
        self.podman.run("stop", "--time", str(grace), self.container, timeout=timeout + grace)
        code = int(
            self.podman.run("inspect", "--format", "{{.State.ExitCode}}", self.container).stdout
        )
        self._down()
        return code

    def wait_exited(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.podman.run(
                "inspect", "--format", "{{.State.Status}}", self.container, check=False
            ).stdout.strip()
            if state in ("exited", "stopped", ""):
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.container} still running after {timeout}s")

    def _down(self) -> None:
        self._logs.append(self._current_logs())
        self.podman.run("kube", "down", str(self.play_file), check=False)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.podman.run("kube", "down", str(self.play_file), check=False)
        for name in self._volumes | self._empty_dirs:
            self.podman.run("volume", "rm", "--force", name, check=False)

    # --- what it says ------------------------------------------------------------------------

    def _current_logs(self) -> str:
        result = self.podman.run("logs", self.container, check=False)
        return result.stdout + result.stderr

    def logs(self) -> str:
        """Every run's output, oldest first (a replaced container's logs are kept)."""
        live = self._current_logs() if self.running() else ""
        return "\n".join([*self._logs, live])

    def events(self, *, this_run: bool = False) -> list[dict[str, Any]]:
        text = self._current_logs() if this_run else self.logs()
        out = []
        for line in text.splitlines():
            start = line.find("{")
            if start >= 0:
                with contextlib.suppress(json.JSONDecodeError):
                    record = json.loads(line[start:])
                    if isinstance(record, dict) and "event" in record:
                        out.append(record)
        return out

    def running(self) -> bool:
        state = self.podman.run(
            "inspect", "--format", "{{.State.Status}}", self.container, check=False
        ).stdout.strip()
        return state == "running"

    def http(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels` (0 when none)."""
        _, text = self.http("/metrics")
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            series, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if predicate():
                    return
            if not self.running():
                raise AssertionError(f"the pod stopped before {what}:\n{self.tail()}")
            time.sleep(0.25)
        raise AssertionError(f"no {what} within {timeout}s:\n{self.tail()}")

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /readyz answers 200 (partitions assigned after the group's rebalance)."""
        began = time.monotonic()
        self.wait_until("/readyz 200", lambda: self.http("/readyz")[0] == 200, timeout)
        self._ready_after.append(time.monotonic() - began)

    def timings(self) -> str:
        return "ready after play: " + ", ".join(f"{s:.1f}s" for s in self._ready_after)

    def tail(self, lines: int = 60) -> str:
        """The last log lines and podman's view of the containers, for failure messages."""
        status = self.podman.run(
            "ps",
            "--all",
            "--filter",
            f"name={self.release}",
            "--format",
            "{{.Names}} {{.Status}}",
            check=False,
        )
        return "\n".join([*self.logs().splitlines()[-lines:], status.stdout, status.stderr])

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return self.podman.run("exec", self.container, *command, check=False)


def window_counts(events: Sequence[Mapping[str, Any]]) -> dict[tuple[str, Any], int]:
    """Events per closed window from the `window_closed` log lines, last line per window
    (a window closed again after a restart from restored state is logged twice)."""
    out: dict[tuple[str, Any], int] = {}
    for e in events:
        if e.get("event") == "window_closed":
            out[(e["model"], e["window_start"])] = int(e["events"])
    return out
