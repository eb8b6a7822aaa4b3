"""Batch decoding of prediction events into numpy columns.

The hot path decodes each payload with a compiled msgspec decoder into a small
generated struct (one attribute per mapped field, nested for dotted paths),
then builds every column with C-level `map`/`list.count`/`np.array` calls over
the whole batch: there is no per-event Python code walking dicts. Only a batch
whose column holds something unusual (a string where a number belongs, NaN,
a huge integer) takes the per-value slow path, and only for that column.

This module dispatches and holds the general path (`EventDecoder`); its parts
live beside it: `envelope` (the generated struct), `typed_decoder` (the fast
path), `columns` and `timestamps` (the per-value rules), `batch` (what comes
out) and `rejection` (the reasons).

Rules, documented for users in the README:
- numeric column: int or float; a string, bool, NaN, infinity, object or list
  is a *type error* for that column (the event is still counted);
- categorical column: string; numbers and bools are read as their JSON text,
  exactly as the baseline builder reads training data (49 and 49.0 -> "49",
  true -> "true"); NaN, infinity, objects and lists are type errors;
- an absent feature or an explicit null is *missing*;
- keys that are not baseline columns are counted as unknown, never errors;
- timestamps: RFC 3339 strings (no offset means UTC) or epoch seconds or
  milliseconds (values >= 1e11 are read as milliseconds), from 1970-01-01
  up to (not including) 3000-01-01; anything else is `bad_timestamp`;
- a request id is a string or a number; any other value is no id;
- events are UTF-8 JSON (RFC 8259): UTF-16/32, a byte order mark, invalid
  UTF-8 in a part that is read, or a lone surrogate escape is `invalid_json`
  (bytes inside fields no role maps to are skipped unread, never checked);
- an event nested deeper than `monitor.ingest.nesting.MAX_DEPTH` is `too_deep`.

Decoding is total: whatever the bytes, `EventDecoder.decode` returns each
payload decoded or rejected with a reason; it never raises (a bug in it costs
the events it fails on, rejected as `decode_error`, not the stream).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.batch import ColumnValues, DecodedBatch, ModelBatch, concatenate
from driftwarden.monitor.ingest.columns import (
    categorical_column,
    numeric_column,
    request_id_keys,
    unknown_per_event,
)
from driftwarden.monitor.ingest.envelope import build_envelope
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.nesting import MAX_DEPTH, too_deep_positions
from driftwarden.monitor.ingest.rejection import Rejection, RejectReason
from driftwarden.monitor.ingest.timestamps import parse_timestamps
from driftwarden.monitor.ingest.typed_decoder import TypedModelDecoder

log = structlog.get_logger(__name__)

_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_TYPED_BACKOFF = 8


class EventDecoder:
    """Decodes raw payloads into per-model column batches, rejecting what cannot count."""

    def __init__(self, layouts: Mapping[str, ModelLayout], fields: EventFields) -> None:
        self._layouts = dict(layouts)
        self._fields = fields
        paths = {
            role: path
            for role, path in (
                ("model_id", fields.model_id),
                ("timestamp", fields.timestamp),
                # Only deduplication reads request ids: not decoded at all when it is off.
                ("request_id", fields.request_id if fields.dedup_window > 0 else None),
                ("features", fields.features),
                ("prediction", fields.prediction),
            )
            if path is not None
        }
        self._paths = paths
        self._envelope, self._get = build_envelope(paths)
        self._decode = msgspec.json.Decoder(self._envelope).decode
        self._known = ", ".join(sorted(self._layouts)) or "none"
        self._typed: dict[str, TypedModelDecoder] = {}
        self._typed_model: str | None = min(self._layouts) if self._layouts else None
        self._typed_skip = 0

    def decode(
        self,
        payloads: Sequence[bytes],
        source_timestamps: Sequence[float] | None = None,
    ) -> DecodedBatch:
        """Decode a batch. `source_timestamps` (epoch seconds, e.g. Kafka record
        timestamps) stand in for events without a timestamp field. Never raises."""
        try:
            return self._decode_batch(payloads, source_timestamps)
        except Exception as exc:  # a bug here must cost the events it hits, not the stream
            log.error(
                "batch_decode_failed",
                error=f"{exc.__class__.__name__}: {exc}"[:300],
                events=len(payloads),
                fallback="one event at a time",
            )
            return self._decode_one_by_one(payloads, source_timestamps)

    def _decode_one_by_one(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None
    ) -> DecodedBatch:
        """Each event alone through the general path; one that still fails is rejected."""
        rejected: list[Rejection] = []
        parts: dict[str, list[ModelBatch]] = {}
        for i, payload in enumerate(payloads):
            try:
                one = self._decode_general(
                    [payload],
                    [source_timestamps[i]] if source_timestamps is not None else None,
                    too_deep_positions([payload], len(payload)),
                )
            except Exception as exc:
                detail = f"{exc.__class__.__name__}: {exc}"[:200]
                rejected.append(Rejection(i, RejectReason.DECODE_ERROR, detail))
                continue
            rejected.extend(Rejection(i, r.reason, r.detail) for r in one.rejected)
            for batch in one.models:
                batch.index = batch.index + i
                parts.setdefault(batch.model_id, []).append(batch)
        models = [concatenate(parts[m]) for m in sorted(parts)]
        return DecodedBatch(models=models, rejected=rejected)

    def _decode_batch(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None
    ) -> DecodedBatch:
        if not payloads:
            return DecodedBatch(models=[], rejected=[])
        longest = (
            payloads.max_length() if isinstance(payloads, LineBlock) else max(map(len, payloads))
        )
        deep = too_deep_positions(payloads, longest)
        if not deep:
            typed = self._decode_typed(payloads, source_timestamps, longest)
            if typed is not None:
                return DecodedBatch(models=[typed], rejected=[])
        return self._decode_general(payloads, source_timestamps, deep)

    def _decode_general(
        self,
        payloads: Sequence[bytes],
        source_timestamps: Sequence[float] | None,
        deep: Sequence[int] = (),
    ) -> DecodedBatch:
        """Every rule, event by event where it must: the path for irregular batches."""
        rejected = [
            Rejection(i, RejectReason.TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
            for i in deep
        ]
        envelopes, positions = self._parse(payloads, rejected, skip=frozenset(deep))
        models: list[ModelBatch] = []
        for model_id, idx, objs in self._group(envelopes, positions, rejected):
            batch = self._model_batch(
                self._layouts[model_id], idx, objs, source_timestamps, rejected
            )
            if batch is not None and len(batch):
                models.append(batch)
        if len(models) == 1:
            self._typed_model = models[0].model_id  # the next batch most likely is its too
        rejected.sort(key=lambda r: r.index)
        return DecodedBatch(models=models, rejected=rejected)

    def _decode_typed(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None, longest: int
    ) -> ModelBatch | None:
        """The typed fast path (see `TypedModelDecoder`), or None to take the general one.

        After a batch the fast path could not take, the next few skip it: a stream
        with irregular events in every batch then pays for one extra decode in
        `_TYPED_BACKOFF + 1` batches, not in each.
        """
        if self._typed_skip:
            self._typed_skip -= 1
            return None
        model_id = self._typed_model
        if model_id is None or not payloads:
            return None
        typed = self._typed.get(model_id)
        if typed is None:
            typed = self._typed[model_id] = TypedModelDecoder(
                self._layouts[model_id], self._fields, self._paths
            )
        batch = typed.decode(payloads, source_timestamps, longest)
        if batch is None:
            self._typed_skip = _TYPED_BACKOFF
        return batch

    def _parse(
        self, payloads: Sequence[bytes], rejected: list[Rejection], skip: frozenset[int]
    ) -> tuple[list[Any], list[int]]:
        decode = self._decode
        limit = self._fields.max_event_bytes
        envelopes: list[Any] = []
        positions: list[int] = []
        for i, payload in enumerate(payloads):
            if i in skip:
                continue
            if len(payload) > limit:
                rejected.append(
                    Rejection(
                        i,
                        RejectReason.TOO_LARGE,
                        f"{len(payload)} bytes is over events.max_event_bytes={limit}",
                    )
                )
                continue
            try:
                envelopes.append(decode(payload))
            except msgspec.DecodeError:
                envelope = self._parse_lenient(i, payload, rejected)
                if envelope is None:
                    continue
                envelopes.append(envelope)
            except UnicodeDecodeError as exc:  # msgspec: a string that is read is not UTF-8
                rejected.append(
                    Rejection(i, RejectReason.INVALID_JSON, f"not valid UTF-8: {exc.reason}")
                )
                continue
            except RecursionError:  # unreachable below MAX_DEPTH; kept as a last guard
                rejected.append(Rejection(i, RejectReason.TOO_DEEP, "nested too deep to decode"))
                continue
            positions.append(i)
        return envelopes, positions

    def _parse_lenient(self, i: int, payload: bytes, rejected: list[Rejection]) -> Any:
        """Second chance for JSON that Python's parser accepts (NaN, Infinity, 1e400).

        Those values must become per-column type errors, not lost events. Python's
        parser also takes what msgspec rightly refuses and must stay refused here:
        UTF-16/32 and byte order marks (it detects the encoding), invalid UTF-8,
        and escaped lone surrogates (strings no encoder can write back out).
        """
        if payload.startswith(_BYTE_ORDER_MARKS) or b"\x00" in payload[:4]:
            rejected.append(
                Rejection(
                    i,
                    RejectReason.INVALID_JSON,
                    "not UTF-8 JSON (a byte order mark, or UTF-16/32); "
                    "send UTF-8 without a byte order mark (RFC 8259)",
                )
            )
            return None
        try:
            obj = json.loads(payload.decode("utf-8"))
            if _SURROGATE_ESCAPE.search(payload):
                json.dumps(obj, ensure_ascii=False).encode("utf-8")  # a lone surrogate raises
        except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            detail = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
            rejected.append(Rejection(i, RejectReason.INVALID_JSON, detail))
            return None
        if not isinstance(obj, dict):
            rejected.append(
                Rejection(
                    i, RejectReason.NOT_AN_OBJECT, f"expected an object, got {type(obj).__name__}"
                )
            )
            return None
        try:
            return msgspec.convert(obj, self._envelope)
        except msgspec.ValidationError as exc:
            rejected.append(Rejection(i, RejectReason.NOT_AN_OBJECT, str(exc)))
            return None

    def _group(
        self, envelopes: list[Any], positions: list[int], rejected: list[Rejection]
    ) -> list[tuple[str, list[int], list[Any]]]:
        if not envelopes:
            return []
        get_model = self._get.get("model_id")
        default = self._fields.default_model
        if get_model is None:
            ids: list[object] = [default] * len(envelopes)
        else:
            ids = list(map(get_model, envelopes))
            if default is not None and None in ids:
                ids = [default if m is None else m for m in ids]
        first = ids[0]
        if isinstance(first, str) and first in self._layouts and ids.count(first) == len(ids):
            return [(first, positions, envelopes)]
        groups: dict[str, tuple[list[int], list[Any]]] = {}
        for model_id, pos, env in zip(ids, positions, envelopes, strict=True):
            if model_id is None or model_id == "":
                rejected.append(
                    Rejection(pos, RejectReason.MISSING_MODEL_ID, "no model id in event")
                )
            elif not isinstance(model_id, str):
                rejected.append(
                    Rejection(
                        pos,
                        RejectReason.MISSING_MODEL_ID,
                        f"model id must be a string, got {type(model_id).__name__}",
                    )
                )
            elif model_id not in self._layouts:
                rejected.append(
                    Rejection(
                        pos,
                        RejectReason.UNKNOWN_MODEL,
                        f"no baseline for model {model_id[:100]!r} (loaded: {self._known})",
                    )
                )
            else:
                group = groups.setdefault(model_id, ([], []))
                group[0].append(pos)
                group[1].append(env)
        return [(m, g[0], g[1]) for m, g in sorted(groups.items())]

    def _model_batch(
        self,
        layout: ModelLayout,
        positions: list[int],
        envelopes: list[Any],
        source_timestamps: Sequence[float] | None,
        rejected: list[Rejection],
    ) -> ModelBatch | None:
        """One model's events as columns; an event with a bad timestamp, features or
        prediction object joins `rejected` instead. None if no event is left."""
        n = len(envelopes)
        idx = np.asarray(positions, dtype=np.int64)
        keep = np.ones(n, dtype=np.bool_)

        get_ts = self._get.get("timestamp")
        ts_values: list[object] = list(map(get_ts, envelopes)) if get_ts else [None] * n
        fallback = None
        if source_timestamps is not None:
            fallback = [source_timestamps[p] for p in positions]
        timestamps, ts_errors = parse_timestamps(ts_values, fallback)
        for j, detail in ts_errors:
            keep[j] = False
            rejected.append(Rejection(positions[j], RejectReason.BAD_TIMESTAMP, detail))
        features, predictions = self._feature_and_prediction_objects(
            layout, envelopes, positions, keep, rejected
        )
        get_rid = self._get.get("request_id")
        request_ids: list[object] = (
            request_id_keys(list(map(get_rid, envelopes))) if get_rid else [None] * n
        )
        if not keep.all():
            kept = keep.tolist()
            idx = idx[keep]
            timestamps = timestamps[keep]
            features = [f for f, k in zip(features, kept, strict=True) if k]
            predictions = [p for p, k in zip(predictions, kept, strict=True) if k]
            request_ids = [r for r, k in zip(request_ids, kept, strict=True) if k]
        if not len(idx):
            return None
        columns, unknown = _columns(layout, features, predictions)
        return ModelBatch(
            model_id=layout.model_id,
            index=idx,
            timestamps=timestamps,
            request_ids=request_ids,
            columns=columns,
            unknown=unknown,
        )

    def _feature_and_prediction_objects(
        self,
        layout: ModelLayout,
        envelopes: list[Any],
        positions: list[int],
        keep: npt.NDArray[np.bool_],
        rejected: list[Rejection],
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        features = self._objects(
            list(map(self._get["features"], envelopes)),
            scalar_key=None,
            reason=RejectReason.BAD_FEATURES,
            positions=positions,
            keep=keep,
            rejected=rejected,
        )
        get_pred = self._get.get("prediction")
        outputs = layout.outputs
        predictions = self._objects(
            list(map(get_pred, envelopes)) if get_pred else [None] * len(envelopes),
            scalar_key=outputs[0].name if len(outputs) == 1 else None,
            reason=RejectReason.BAD_PREDICTION,
            positions=positions,
            keep=keep,
            rejected=rejected,
        )
        return features, predictions

    @staticmethod
    def _objects(
        values: list[object],
        *,
        scalar_key: str | None,
        reason: RejectReason,
        positions: list[int],
        keep: npt.NDArray[np.bool_],
        rejected: list[Rejection],
    ) -> list[dict[str, object]]:
        """The features (or prediction) object of each event; absent means empty."""
        types = list(map(type, values))
        if types.count(dict) == len(values):
            return values  # type: ignore[return-value]
        out: list[dict[str, object]] = []
        for j, (value, kind) in enumerate(zip(values, types, strict=True)):
            if kind is dict:
                out.append(value)  # type: ignore[arg-type]
            elif value is None:
                out.append({})
            elif scalar_key is not None and kind is not list:
                out.append({scalar_key: value})  # a bare prediction for a one-output model
            else:
                out.append({})
                if keep[j]:
                    keep[j] = False
                    rejected.append(
                        Rejection(positions[j], reason, f"expected an object, got {kind.__name__}")
                    )
        return out


def _columns(
    layout: ModelLayout,
    features: list[dict[str, object]],
    predictions: list[dict[str, object]],
) -> tuple[list[ColumnValues], npt.NDArray[np.int64]]:
    """The layout's columns from the events' objects, and each event's unknown keys."""
    columns: list[ColumnValues] = []
    fast_known = 0
    for slot in layout.columns:
        source = features if slot.role == "feature" else predictions
        values: list[object] = list(map(dict.get, source, repeat(slot.name)))
        columns.append(
            numeric_column(values) if slot.kind == "numeric" else categorical_column(values, slot)
        )
        fast_known += len(values) - values.count(None)
    total_keys = sum(map(len, features)) + sum(map(len, predictions))
    if total_keys == fast_known:  # every key is a known, non-null column: the common case
        return columns, np.zeros(len(features), dtype=np.int64)
    return columns, unknown_per_event(layout.columns, features, predictions)
