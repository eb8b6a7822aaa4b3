"""The package version: the single source the build reads (`[tool.hatch.version]`).

A module of its own, below every layer, so `driftwarden.monitor.version` can read it
without importing the package root, which re-exports the library API above the layers.
"""

__version__ = "0.1.0"
