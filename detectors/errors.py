"""The root of driftwarden's exception hierarchy.

It lives in the lowest layer so that every package can derive from it without
breaking the `monitor -> baselines -> detectors` import direction.
"""

from __future__ import annotations


class DriftwardenError(Exception):
    """Root of every error driftwarden raises on purpose.

    The CLI prints a `DriftwardenError` as one line and exits non-zero; anything
    else is a bug and keeps its traceback. Messages name the thing, the problem
    and the fix.
    """


class DetectorInputError(DriftwardenError, ValueError):
    """Counts handed to a detector do not describe two comparable distributions."""
