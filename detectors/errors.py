"""Errors a detector raises: its input does not describe comparable distributions."""

from __future__ import annotations

from driftwarden.errors import DriftwardenError

# `DriftwardenError` is re-exported only until the ingest and verdicts branches of issue 16
# (monitor/ingest/decode_pool.py, monitor/alerting/store.py) import it from
# `driftwarden.errors`; then this line and the name in `__all__` go.
__all__ = ["DetectorInputError", "DriftwardenError"]


class DetectorInputError(DriftwardenError, ValueError):
    """Counts handed to a detector do not describe two comparable distributions."""
