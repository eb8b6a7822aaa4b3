"""The installed driftwarden version, for `--version`, reports and metrics.

It is the package's own `__version__` (the single source the build reads), not the
installed distribution's metadata: reading that costs an import of importlib.metadata at
start-up and answers "0+unknown" from a tree that was never installed.
"""

from __future__ import annotations

from driftwarden.version import __version__


def package_version() -> str:
    return __version__
