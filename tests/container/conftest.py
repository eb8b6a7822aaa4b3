"""Fixtures of the pod tests: podman, the image built from the working tree, helm.

The image is built once per session by scripts/install-containers.sh (the test command
also runs it in the background during lint, so here it is usually a cache hit of a few
seconds; run alone, the fixture makes sure the image matches the working tree). Without
podman, runc, helm or a buildable image the tests fail under CI=true and skip elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.components import await_background_install, require_component
from tests.support.kafka_broker import KafkaBroker, free_port

from .pods import IMAGE, REPO, ChartPod, Podman, render
from .receiver import Receiver, running_receiver

CONTAINERS_CONF = "[containers]\ndefault_ulimits = []\n"


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    await_background_install("install-containers")  # installs podman, builds the image
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            require_component("podman", f"'{tool}' not on PATH; run scripts/install-containers.sh")
    if os.geteuid() != 0:
        require_component("podman", "the pod tests run rootful podman; run them as root")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF, encoding="utf-8")
    tool = Podman(env={**os.environ, "CONTAINERS_CONF": str(conf)})
    probe = tool.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
    if probe.returncode != 0:
        require_component("podman", f"`podman info` failed: {probe.stderr.strip()[-500:]}")
    return tool


@pytest.fixture(scope="session")
def image(podman: Podman, pytestconfig: pytest.Config) -> str:
    """localhost/driftwarden:test, built from the working tree (once per session)."""
    began = time.monotonic()
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-containers.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**podman.env, "DW_IMAGE": IMAGE},
        check=False,
    )
    if result.returncode != 0:
        require_component("image build", f"install-containers.sh failed:\n{result.stderr[-3000:]}")
    note = pytestconfig.stash.get(TIMINGS, [])
    note.append(f"image build (install-containers.sh) {time.monotonic() - began:.1f}s")
    pytestconfig.stash[TIMINGS] = note
    return IMAGE


TIMINGS = pytest.StashKey[list[str]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(TIMINGS, []):
        terminalreporter.write_line(f"container: {line}")


@pytest.fixture
def note(pytestconfig: pytest.Config) -> Callable[[str], None]:
    def add(text: str) -> None:
        pytestconfig.stash[TIMINGS] = [*pytestconfig.stash.get(TIMINGS, []), text]

    return add


@pytest.fixture(scope="session")
def helm() -> Path:
    await_background_install("install-helm")
    path = REPO / ".tools" / "bin" / "helm"
    if not os.access(path, os.X_OK):
        require_component("helm", "run scripts/install-helm.sh")
    return path


@dataclass
class Harness:
    """What one pod test works with; pods it starts are taken down with their volumes."""

    podman: Podman
    helm: Path
    broker: KafkaBroker
    release: str
    receiver: Receiver
    work: Path
    port: int = field(default_factory=free_port)  # host network: one free port per pod
    pods: list[ChartPod] = field(default_factory=list)

    def start(self, values: dict[str, Any], objects: list[dict[str, Any]]) -> ChartPod:
        """The chart rendered with `values`, ready to play, with `objects` beside it."""
        pod = ChartPod(
            podman=self.podman,
            release=self.release,
            manifests=render(self.helm, self.release, values, self.work),
            objects=objects,
            work=self.work,
            port=self.port,
        )
        self.pods.append(pod)
        return pod


@pytest.fixture
def harness(
    podman: Podman, image: str, helm: Path, kafka_broker: KafkaBroker, tmp_path: Path
) -> Iterator[Harness]:
    # A release name of its own: pods, volumes and ConfigMaps are global in podman.
    release = f"pt{uuid.uuid4().hex[:8]}"
    with running_receiver() as receiver:
        made = Harness(podman, helm, kafka_broker, release, receiver, tmp_path)
        try:
            yield made
        finally:
            for pod in made.pods:
                pod.cleanup()
