"""Errors a detector raises: its input does not describe comparable distributions."""

from __future__ import annotations

from driftwarden.errors import DriftwardenError

__all__ = ["DetectorInputError"]


class DetectorInputError(DriftwardenError, ValueError):
    """Counts handed to a detector do not describe two comparable distributions."""
