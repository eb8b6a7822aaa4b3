"""Why an event is not counted: the reasons, stable as metric labels and dead-letter fields.

Every event read is counted in a window or rejected with one of these
(`read == accepted + rejected`); the decoder, the engine (late, future,
duplicate) and the sources (too large) all reject with the same vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectReason(StrEnum):
    """Why an event was not counted in any window (stable metric label values)."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_MODEL_ID = "missing_model_id"
    UNKNOWN_MODEL = "unknown_model"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_FEATURES = "bad_features"
    BAD_PREDICTION = "bad_prediction"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    LATE = "late"
    FUTURE = "future"
    DUPLICATE = "duplicate"
    DECODE_ERROR = "decode_error"
    # Outcome events (see monitor.outcomes): no prediction waits for this request id,
    # the outcome came after its prediction's horizon, or the outcome is no label or number.
    UNKNOWN_REQUEST = "unknown_request"
    OUTCOME_TOO_LATE = "outcome_too_late"
    BAD_OUTCOME = "bad_outcome"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Payload `index` of its batch is not counted, for `reason`; `detail` says why to a person."""

    index: int
    reason: RejectReason
    detail: str
