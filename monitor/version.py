"""The installed driftwarden version, for `--version`, reports and metrics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("driftwarden")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"
