"""The rule for tests that need a real external component (Kafka, promtool, ...).

In CI (`CI=true`) a component that cannot start is a failure: a green run must
mean the integration tests ran. On a developer machine without, say, a JDK, the
test skips with the reason, so the fast suite stays usable.
"""

from __future__ import annotations

import os
import shutil
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
