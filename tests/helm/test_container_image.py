"""The Dockerfile, linted and read: no container engine exists here to build it.

hadolint catches the common anti-patterns; the rest asserts what hadolint does not
(a missing or named USER passes it) and that image and chart agree.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .rendering import CHART, REPO

pytestmark = pytest.mark.helm

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_hadolint_reports_nothing(hadolint_bin: Path) -> None:
    """Default threshold (info): any finding fails, style ones included."""
    result = subprocess.run(
        [str(hadolint_bin), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_the_numeric_non_root_user_the_chart_expects() -> None:
    """The kubelet can only verify runAsNonRoot for a numeric USER."""
    users = [args for word, args in final_stage() if word == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, f"USER {users[-1]} is not numeric"
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert int(match.group(1)) == values["securityContext"]["runAsUser"] != 0
    assert int(match.group(2) or match.group(1)) == values["securityContext"]["runAsGroup"]


def test_entrypoint_is_exec_form_and_cmd_matches_the_chart() -> None:
    """Exec form makes the daemon PID 1, so SIGTERM reaches it (a shell would swallow it)."""
    steps = dict(final_stage())
    assert json.loads(steps["ENTRYPOINT"]) == ["driftwarden"]
    assert json.loads(steps["CMD"]) == ["run", "--config", "/etc/driftwarden/driftwarden.yaml"]
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert steps["EXPOSE"] == str(values["metrics"]["port"])


def test_both_stages_use_one_pinned_python_image() -> None:
    steps = instructions()
    args = dict(arg.split("=", 1) for word, arg in steps if word == "ARG" and "=" in arg)
    image = args["PYTHON_IMAGE"]
    pinned_tag = re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    assert pinned_tag, f"{image} is not an exact python 3.11 slim-bookworm tag or digest"
    froms = [arg.split()[0] for word, arg in steps if word == "FROM"]
    assert len(froms) >= 2, "expected a build stage and a runtime stage"
    assert set(froms) == {"${PYTHON_IMAGE}"}, froms


def test_dependencies_come_from_the_lock_and_tools_stay_in_the_build_stage() -> None:
    steps = instructions()
    syncs = [arg for word, arg in steps if word == "RUN" and "uv sync" in arg]
    assert syncs, "no `uv sync` in the Dockerfile"
    for sync in syncs:
        assert "--frozen" in sync, sync
        assert "--no-dev" in sync, sync
    runtime = final_stage()
    runtime_runs = " ".join(arg for word, arg in runtime if word == "RUN")
    for tool in ("pip install", "uv ", "apt-get install", "gcc", "build-essential"):
        assert tool not in runtime_runs, f"runtime stage runs {tool!r}"
    copies = [arg for word, arg in runtime if word == "COPY"]
    assert copies == ["--from=build /app/.venv /app/.venv"], copies


def test_dockerignore_keeps_caches_and_tests_out_of_the_context() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".cache", ".tools", ".venv", "tests", "helm"} <= ignored
