"""The root of driftwarden's exception hierarchy.

It sits at the package root, below the three layers (`monitor -> baselines -> detectors ->
errors`, pyproject.toml's import-linter contract), so every layer, and a library user's
`except driftwarden.DriftwardenError`, names one class from one obvious place. Each layer
keeps its own subclasses beside its code (`detectors.errors`, `baselines.errors`,
`monitor.errors`).
"""

from __future__ import annotations


class DriftwardenError(Exception):
    """Root of every error driftwarden raises on purpose.

    The CLI prints a `DriftwardenError` as one line and exits non-zero; anything
    else is a bug and keeps its traceback. Messages name the thing, the problem
    and the fix.
    """
