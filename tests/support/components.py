"""The rule for tests that need a real external component (Kafka, promtool, ...).

In CI (`CI=true`) a component that cannot start is a failure: a green run must
mean the integration tests ran. On a developer machine without, say, a JDK, the
test skips with the reason, so the fast suite stays usable.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_component(name: str, exc: BaseException | str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) because component `name` is unavailable."""
    reason = f"{name} unavailable: {exc if isinstance(exc, str) else repr(exc)}"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required components must start)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, hint: str) -> str:
    """The path of executable `name`, or fail/skip with `hint` on how to install it."""
    path = shutil.which(name)
    if path is None:
        require_component(name, f"'{name}' not on PATH; {hint}")
    return path


BACKGROUND_INSTALLS = "DRIFTWARDEN_BACKGROUND_INSTALLS"
"""Set by scripts/test.sh: the installers (`install-helm`, `install-containers`) it left
running in the background while the tests that do not need them run."""

_LOGS = Path(__file__).resolve().parents[2] / ".cache" / "logs"


def await_background_install(name: str, timeout: float = 1500.0) -> None:
    """Wait for scripts/test.sh's background installer `name` to end; fail (in CI) or
    skip (elsewhere) if it failed. A no-op when the test command did not start it.

    The test command starts pytest while helm builds from the Go module proxy and the
    image builds with podman, so the suite's first minutes are not spent waiting for
    them; the tests that need them run last (tests/conftest.py) and wait here."""
    if name not in os.environ.get(BACKGROUND_INSTALLS, "").split(","):
        return
    status = _LOGS / f"{name}.status"
    deadline = time.monotonic() + timeout
    while not status.exists():
        if time.monotonic() >= deadline:
            require_component(name, f"still running after {timeout:.0f}s; see {_LOGS / name}.log")
        time.sleep(1.0)
    code = status.read_text().strip()
    if code != "0":
        log = _LOGS / f"{name}.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        require_component(name, f"scripts/{name}.sh exited with {code}:\n{tail}")
