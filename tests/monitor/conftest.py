"""Fixtures shared by the monitor tests; the builders live in factories.py."""

from __future__ import annotations

import pytest

from driftwarden.baselines.artifact import Baseline
from tests.monitor.factories import make_baseline


@pytest.fixture
def baseline() -> Baseline:
    return make_baseline()
