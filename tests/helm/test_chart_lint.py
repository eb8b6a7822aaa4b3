"""`helm lint --strict` on the chart's defaults and on every ci values file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .rendering import ALL_VALUES, CHART, values_id

pytestmark = pytest.mark.helm

ALL_FLAGS_ON = (
    "metrics.serviceMonitor.enabled=true",
    "metrics.prometheusRule.enabled=true",
    "networkPolicy.enabled=true",
    "podDisruptionBudget.enabled=true",
)


def lint(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), "lint", "--strict", "--quiet", str(CHART), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("values", ALL_VALUES, ids=values_id)
def test_helm_lint_strict_passes(helm_bin: Path, values: Path | None) -> None:
    """--strict turns warnings (deprecated APIs, schema, template problems) into failures."""
    result = lint(helm_bin, *(["-f", str(values)] if values else []))
    assert result.returncode == 0, result.stdout + result.stderr


def test_helm_lint_strict_passes_with_every_optional_template_on(helm_bin: Path) -> None:
    """Templates behind value flags are linted too (lint cannot pass -a, see the render tests)."""
    result = lint(helm_bin, *[arg for flag in ALL_FLAGS_ON for arg in ("--set", flag)])
    assert result.returncode == 0, result.stdout + result.stderr
