"""Outcome events, and the part of a prediction event the join keeps.

An outcome event is `{"model_id", "request_id", "timestamp", "outcome"}`, read
with the same field paths as predictions (`events.*`, and `outcomes.outcome` for
the outcome itself): `timestamp` is when the outcome became known. An outcome is
a class label (string, bool or integer) or a number (regression): anything else,
or none at all, is `bad_outcome`. The other rules are the prediction decoder's
(`monitor.ingest.events`): `invalid_json`, `not_an_object`, `too_large`, `too_deep`,
`missing_model_id`, `unknown_model`, `bad_timestamp`; an outcome without a request
id is `unknown_request` (nothing can be joined to it).

Outcomes are decoded event by event: they are rarer than predictions, and each
one is looked up in the on-disk store anyway.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.events import (
    Rejection,
    RejectReason,
    _build_envelope,
    parse_timestamps,
)
from driftwarden.monitor.ingest.nesting import MAX_DEPTH, too_deep_positions

_INT_LIMIT = 1 << 63


@dataclass(slots=True)
class OutcomeBatch:
    """The accepted outcomes of one batch of payloads, in payload order."""

    index: list[int] = field(default_factory=list)
    model_ids: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    timestamps: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float64)
    )
    outcomes: list[object] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)


def request_key(value: object) -> str | None:
    """The request id as the join keys it: its text, as deduplication spells it.

    A string or a number; anything else (an object, a list, null, an integer
    beyond 64 bits) is no id.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | float) or (isinstance(value, int) and abs(value) < _INT_LIMIT):
        return str(value)
    return None


def outcome_value(value: object) -> tuple[object, str | None]:
    """The outcome as the join keeps it, or (None, why it is not one)."""
    if value is None:
        return None, "no outcome in event"
    if isinstance(value, str | bool):
        return value, None
    if isinstance(value, int):
        if abs(value) >= _INT_LIMIT:
            return None, "integer outcome beyond 64 bits"
        return value, None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, "outcome is not a finite number"
        return value, None
    return None, (
        f"outcome of type {type(value).__name__}; send a class label (string, bool, "
        "integer) or a number"
    )


class OutcomeDecoder:
    """Decodes outcome payloads; whatever the bytes, each is accepted or rejected."""

    def __init__(self, models: Collection[str], fields: EventFields, outcome_path: str) -> None:
        self._models = frozenset(models)
        self._fields = fields
        roles = {
            "model_id": fields.model_id,
            "timestamp": fields.timestamp,
            "request_id": fields.request_id,
        }
        paths = {"outcome": outcome_path} | {r: p for r, p in roles.items() if p is not None}
        envelope, self._get = _build_envelope(paths)
        self._decode = msgspec.json.Decoder(envelope).decode
        self._known = ", ".join(sorted(self._models)) or "none"

    def decode(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None = None
    ) -> tuple[OutcomeBatch, list[Rejection]]:
        batch = OutcomeBatch()
        rejected: list[Rejection] = []
        if not payloads:
            return batch, rejected
        deep = set(too_deep_positions(payloads, max(map(len, payloads))))
        limit = self._fields.max_event_bytes
        times: list[object] = []
        fallback: list[float] = []
        for i, payload in enumerate(payloads):
            try:
                reason = self._one(
                    i, payload=payload, deep=deep, limit=limit, batch=batch, times=times
                )
            except Exception as exc:  # a bug here costs the event, not the stream
                reason = (RejectReason.DECODE_ERROR, f"{exc.__class__.__name__}: {exc}"[:200])
            if reason is not None:
                rejected.append(Rejection(i, reason[0], reason[1]))
            elif source_timestamps is not None:
                fallback.append(source_timestamps[i])
        parsed, errors = parse_timestamps(times, fallback if source_timestamps else None)
        if errors:
            bad = {j for j, _ in errors}
            for j, detail in errors:
                rejected.append(Rejection(batch.index[j], RejectReason.BAD_TIMESTAMP, detail))
            keep = [j for j in range(len(batch)) if j not in bad]
            batch = OutcomeBatch(
                index=[batch.index[j] for j in keep],
                model_ids=[batch.model_ids[j] for j in keep],
                request_ids=[batch.request_ids[j] for j in keep],
                outcomes=[batch.outcomes[j] for j in keep],
            )
            parsed = parsed[keep]
        batch.timestamps = parsed
        rejected.sort(key=lambda r: r.index)
        return batch, rejected

    def _one(
        self,
        i: int,
        *,
        payload: bytes,
        deep: set[int],
        limit: int,
        batch: OutcomeBatch,
        times: list[object],
    ) -> tuple[RejectReason, str] | None:
        if i in deep:
            return RejectReason.TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels"
        if len(payload) > limit:
            return (
                RejectReason.TOO_LARGE,
                f"{len(payload)} bytes is over events.max_event_bytes={limit}",
            )
        try:
            envelope = self._decode(payload)
        except msgspec.ValidationError as exc:
            return RejectReason.NOT_AN_OBJECT, str(exc)[:200]
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            return RejectReason.INVALID_JSON, str(exc).splitlines()[0][:200]
        get = self._get
        model_id = get["model_id"](envelope) if "model_id" in get else None
        if model_id is None:
            model_id = self._fields.default_model
        if model_id is None or model_id == "":
            return RejectReason.MISSING_MODEL_ID, "no model id in event"
        if not isinstance(model_id, str):
            return (
                RejectReason.MISSING_MODEL_ID,
                f"model id must be a string, got {type(model_id).__name__}",
            )
        if model_id not in self._models:
            return (
                RejectReason.UNKNOWN_MODEL,
                f"no baseline for model {model_id[:100]!r} (loaded: {self._known})",
            )
        request_id = request_key(get["request_id"](envelope)) if "request_id" in get else None
        if request_id is None:
            return RejectReason.UNKNOWN_REQUEST, "no request id (a string or number) in event"
        value, problem = outcome_value(get["outcome"](envelope))
        if problem is not None:
            return RejectReason.BAD_OUTCOME, problem
        batch.index.append(i)
        batch.model_ids.append(model_id)
        batch.request_ids.append(request_id)
        batch.outcomes.append(value)
        times.append(get["timestamp"](envelope) if "timestamp" in get else None)
        return None


@dataclass(slots=True)
class PredictionRecords:
    """What the join keeps of accepted prediction events, one entry per event."""

    request_ids: list[str | None]
    outputs: list[dict[str, object]]
    outcomes: list[object]
    """The outcome the event carried itself (joined upstream); None: none (absent or null)."""


class PredictionExtractor:
    """Reads request id, outputs and an upstream outcome from accepted prediction payloads.

    The engine's decoder keeps the outputs as histogram codes, not the labels and
    scores performance needs, and a decode worker leaves even those behind; so the
    join reads the few fields it needs again, for the accepted events only (the
    features are skipped unread).
    """

    def __init__(
        self, outputs: Mapping[str, Sequence[str]], fields: EventFields, outcome_path: str
    ) -> None:
        self._outputs = {m: tuple(names) for m, names in outputs.items()}
        roles = {"request_id": fields.request_id, "prediction": fields.prediction}
        paths = {"outcome": outcome_path} | {r: p for r, p in roles.items() if p is not None}
        envelope, self._get = _build_envelope(paths)
        self._decode = msgspec.json.Decoder(envelope).decode
        self._lenient = msgspec.json.Decoder().decode

    def extract(self, model_id: str, payloads: Sequence[bytes]) -> PredictionRecords:
        names = self._outputs[model_id]
        get = self._get
        get_rid = get.get("request_id")
        get_prediction = get.get("prediction")
        get_outcome = get["outcome"]
        request_ids: list[str | None] = []
        outputs: list[dict[str, object]] = []
        outcomes: list[object] = []
        for payload in payloads:
            try:
                envelope = self._decode(payload)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                # Accepted by the engine's lenient path (a NaN feature, say): no id
                # can be read here, so the event takes no part in the join.
                request_ids.append(None)
                outputs.append({})
                outcomes.append(None)
                continue
            request_ids.append(request_key(get_rid(envelope)) if get_rid else None)
            prediction = get_prediction(envelope) if get_prediction else None
            if isinstance(prediction, dict):
                outputs.append({n: prediction.get(n) for n in names})
            elif prediction is not None and len(names) == 1:
                outputs.append({names[0]: prediction})
            else:
                outputs.append({})
            outcomes.append(get_outcome(envelope))
        return PredictionRecords(request_ids, outputs, outcomes)
