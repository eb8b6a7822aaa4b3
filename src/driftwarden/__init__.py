"""driftwarden: drift monitoring for machine-learning models in production, Kafka-native.

The distribution installs this one import package. Its parts are the repository's three
top-level folders, which the build maps under it (pyproject.toml, README "Design notes"):

- `driftwarden.detectors`: pure statistics over counts and histograms;
- `driftwarden.baselines`: the training baseline artifact (build, freeze, store, verify);
- `driftwarden.monitor`: the daemon, replay and the `driftwarden` CLI.

The library API (`build_baseline`, `compare`, `Monitor`; `driftwarden.api`) is re-exported
here lazily (PEP 562): importing `driftwarden` imports none of the parts, so it costs
nothing, and the CLI, which imports `driftwarden.monitor...`, never pays for the API.
`DriftwardenError` is the root of every error raised on purpose; `__version__` comes from
`driftwarden.version`, the single source the build reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from driftwarden.errors import DriftwardenError
from driftwarden.version import __version__

if TYPE_CHECKING:
    from driftwarden.api import Comparison, Monitor, build_baseline, compare, save_baseline
    from driftwarden.baselines.artifact import Baseline
    from driftwarden.baselines.store import load_baseline


_EXPORTS = {
    "Baseline": "driftwarden.baselines.artifact",
    "Comparison": "driftwarden.api",
    "Monitor": "driftwarden.api",
    "build_baseline": "driftwarden.api",
    "compare": "driftwarden.api",
    "load_baseline": "driftwarden.baselines.store",
    "save_baseline": "driftwarden.api",
}

__all__ = [
    "Baseline",
    "Comparison",
    "DriftwardenError",
    "Monitor",
    "__version__",
    "build_baseline",
    "compare",
    "load_baseline",
    "save_baseline",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'driftwarden' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
