"""Batch decoding of prediction events into numpy columns.

The hot path decodes each payload with a compiled msgspec decoder into a small
generated struct (one attribute per mapped field, nested for dotted paths),
then builds every column with C-level `map`/`list.count`/`np.array` calls over
the whole batch: there is no per-event Python code walking dicts. Only a batch
whose column holds something unusual (a string where a number belongs, NaN,
a huge integer) takes the per-value slow path, and only for that column.

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
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import repeat
from operator import attrgetter
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt
import structlog

from driftwarden.baselines.artifact import category_label
from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.layout import (
    MISSING_CODE,
    TYPE_ERROR_CODE,
    ColumnSlot,
    ModelLayout,
)
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.nesting import MAX_DEPTH, too_deep_positions
from driftwarden.monitor.windows.window import WindowState

log = structlog.get_logger(__name__)

MILLISECONDS_THRESHOLD = 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973
EARLIEST_TIMESTAMP = 0.0  # 1970-01-01T00:00:00Z
LATEST_TIMESTAMP = 32_503_680_000.0  # 3000-01-01T00:00:00Z, excluded
"""The plausible range of event times: every window in it has a start and end that
dates, clocks and reports can represent (Python's datetime stops at 9999)."""
_NONE_TYPE = type(None)
_REQUEST_ID_LIMIT = 1 << 64
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


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
    index: int
    reason: RejectReason
    detail: str


@dataclass(slots=True)
class ColumnValues:
    """One column over a batch: numeric values (NaN where not counted) or category codes."""

    values: npt.NDArray[Any]
    missing: npt.NDArray[np.bool_]
    type_error: npt.NDArray[np.bool_]


@dataclass(slots=True)
class ModelBatch:
    """The accepted events of one model in one decoded batch, column by column."""

    model_id: str
    index: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.float64]
    request_ids: list[object]
    columns: list[ColumnValues]
    unknown: npt.NDArray[np.int64]
    windows: dict[int, WindowState] | None = None
    """Set by a decode worker: the batch already counted into fresh time windows,
    `columns` left behind (see `monitor.ingest.decode_pool`); `select` drops it."""

    def __len__(self) -> int:
        return len(self.index)

    def select(self, keep: npt.NDArray[np.bool_]) -> ModelBatch:
        return ModelBatch(
            model_id=self.model_id,
            index=self.index[keep],
            timestamps=self.timestamps[keep],
            request_ids=[r for r, k in zip(self.request_ids, keep.tolist(), strict=True) if k],
            columns=[
                ColumnValues(c.values[keep], c.missing[keep], c.type_error[keep])
                for c in self.columns
            ],
            unknown=self.unknown[keep],
        )


@dataclass(slots=True)
class DecodedBatch:
    models: list[ModelBatch]
    rejected: list[Rejection]


# --- the generated envelope struct ------------------------------------------------------


def _build_envelope(
    paths: Mapping[str, str],
    *,
    leaf_types: Mapping[str, Any] | None = None,
    gc: bool = True,
) -> tuple[type[msgspec.Struct], dict[str, attrgetter[Any]]]:
    """A msgspec struct with one attribute per mapped field, nested along dotted paths.

    Attribute names are generated (`f0`, `f1`, ...) and renamed to the JSON keys,
    so any key works, including ones that are not Python identifiers. Absent
    parts default to None (leaves) or an empty nested struct (inner nodes).
    Leaves are `Any` unless `leaf_types` gives a role a type (the typed fast path).
    """
    types = leaf_types or {}
    tree: dict[str, Any] = {}
    for role, path in paths.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"event field paths conflict at {path!r}")
            node = child
        if parts[-1] in node:
            raise ValueError(f"event field path {path!r} is used twice")
        node[parts[-1]] = role

    counter = iter(range(1_000_000))
    getters: dict[str, list[str]] = {}

    def make(node: dict[str, Any], prefix: list[str]) -> type[msgspec.Struct]:
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for key, child in node.items():
            attr = f"f{next(counter)}"
            rename[attr] = key
            if isinstance(child, dict):
                sub = make(child, [*prefix, attr])
                fields.append((attr, sub, msgspec.field(default_factory=sub)))
            else:
                fields.append((attr, types.get(child, Any), None))
                getters[child] = [*prefix, attr]
        return msgspec.defstruct(f"Envelope{next(counter)}", fields, rename=rename, gc=gc)

    root = make(tree, [])
    return root, {role: attrgetter(".".join(attrs)) for role, attrs in getters.items()}


# --- decoding ---------------------------------------------------------------------------


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
        self._envelope, self._get = _build_envelope(paths)
        self._decode = msgspec.json.Decoder(self._envelope).decode
        self._known = ", ".join(sorted(self._layouts)) or "none"
        self._typed: dict[str, _TypedModelDecoder] = {}
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
        models = [_concatenate(parts[m]) for m in sorted(parts)]
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
        """The typed fast path (see `_TypedModelDecoder`), or None to take the general one.

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
            typed = self._typed[model_id] = _TypedModelDecoder(
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
            list(map(get_pred, envelopes)) if get_pred else [None] * n,
            scalar_key=outputs[0].name if len(outputs) == 1 else None,
            reason=RejectReason.BAD_PREDICTION,
            positions=positions,
            keep=keep,
            rejected=rejected,
        )
        get_rid = self._get.get("request_id")
        request_ids: list[object] = (
            _request_ids(list(map(get_rid, envelopes))) if get_rid else [None] * n
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

        columns: list[ColumnValues] = []
        known_keys = np.zeros(len(idx), dtype=np.int64)
        fast_known = 0
        for slot in layout.columns:
            source = features if slot.role == "feature" else predictions
            values: list[object] = list(map(dict.get, source, repeat(slot.name)))
            column = (
                numeric_column(values)
                if slot.kind == "numeric"
                else categorical_column(values, slot)
            )
            columns.append(column)
            fast_known += len(values) - values.count(None)
        total_keys = sum(map(len, features)) + sum(map(len, predictions))
        if total_keys == fast_known:
            unknown = known_keys  # every key is a known, non-null column: the common case
        else:
            unknown = _unknown_per_event(layout.columns, features, predictions)
        return ModelBatch(
            model_id=layout.model_id,
            index=idx,
            timestamps=timestamps,
            request_ids=request_ids,
            columns=columns,
            unknown=unknown,
        )

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


_TYPED_BACKOFF = 8
_TYPED_SLICE = 512
_OPEN_SLICES = 16
_MAX_LEARNED = 64


class _TypedModelDecoder:
    """The fast path for a batch in which every event is regular for one model.

    Regular means: every payload fits `max_event_bytes` and decodes into this
    model's typed envelope (numeric columns int, float or null; categorical
    columns string or null; no keys beyond the baseline's columns; features and
    prediction objects, null or absent), every event names this model (or the
    configured default model is this one) and every timestamp parses. msgspec
    then checks the types in C and builds no dicts, and no column needs the
    per-value checks of the general path. For such a batch the general path gives
    exactly the same `ModelBatch`; for any other batch `decode` returns None and
    the general path decides. It is an optimisation, never a second set of rules.
    """

    def __init__(self, layout: ModelLayout, fields: EventFields, paths: Mapping[str, str]) -> None:
        self._layout = layout
        self._limit = fields.max_event_bytes
        self._default_is_model = fields.default_model == layout.model_id
        features = [s for s in layout.columns if s.role == "feature"]
        outputs = [s for s in layout.columns if s.role == "output"]
        self._features, self._outputs, self._paths = features, outputs, paths
        # Two envelopes, alike but for the categorical columns. The closed one admits
        # only the categories in `_admitted` (a Literal per column): msgspec then
        # hands back the one interned string of each, with no string built per
        # value, and the code lookup hits it by identity. The open one admits any
        # string, for slices with a category not admitted yet (see `_envelopes`).
        self._admitted = {
            s.name: tuple(k for k in s.lookup if isinstance(k, str))
            for s in layout.columns
            if s.kind == "categorical"
        }
        self._learned = 0  # new categories admitted to the closed envelope so far
        self._open = self._envelope_decoder(closed=False)
        self._closed = self._envelope_decoder(closed=True)
        self._open_slices = 0  # slices still to decode with the open envelope only
        self._get_rid = self._get.get("request_id")  # None: no request ids to keep
        # Where each layout column sits: (from the prediction?, position in its struct).
        position = {
            (s.role, s.name): i for group in (features, outputs) for i, s in enumerate(group)
        }
        self._plan = [(s, s.role == "output", position[s.role, s.name]) for s in layout.columns]

    def _envelope_decoder(self, *, closed: bool) -> msgspec.json.Decoder[Any]:
        admitted = self._admitted if closed else None
        layout = self._layout
        feature_type = _columns_struct(f"{layout.model_id}Features", self._features, admitted)
        prediction_type = _columns_struct(f"{layout.model_id}Prediction", self._outputs, admitted)
        self._no_features = feature_type()
        self._no_prediction = prediction_type()
        envelope, self._get = _build_envelope(
            self._paths,
            leaf_types={
                # Another model's events fail validation in C: the general path
                # then sorts them out.
                "model_id": Literal[layout.model_id] | None,
                # Scalars only: anything else (or an integer beyond float range) is
                # irregular, and the general path rejects or ignores it.
                "timestamp": str | float | None,
                "request_id": str | int | float | bool | None,
                "features": feature_type | None,
                "prediction": prediction_type | None,
            },
            gc=False,  # decoded JSON cannot form reference cycles
        )
        return msgspec.json.Decoder(envelope)

    def decode(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None, longest: int
    ) -> ModelBatch | None:
        """The batch as the general path would decode it, or None: `longest` is the
        longest payload's length in bytes."""
        n = len(payloads)
        if longest > self._limit:
            return None
        # Decoded in slices whose Python objects stay in the CPU cache from decoding
        # to the column arrays: on 4096-event batches this is about twice as fast.
        # The masks are then computed once over the whole batch.
        parts: list[tuple[npt.NDArray[np.float64], list[object], list[npt.NDArray[Any]]]] = []
        for start in range(0, n, _TYPED_SLICE):
            stop = start + _TYPED_SLICE
            part = self._decode_slice(
                payloads[start:stop],
                source_timestamps[start:stop] if source_timestamps is not None else None,
            )
            if part is None:
                return None
            parts.append(part)
        if len(parts) == 1:
            timestamps, request_ids, arrays = parts[0]
        else:
            timestamps = np.concatenate([p[0] for p in parts])
            request_ids = [r for p in parts for r in p[1]] if self._get_rid else [None] * n
            arrays = [np.concatenate([p[2][i] for p in parts]) for i in range(len(self._plan))]
        no_errors = np.zeros(n, dtype=np.bool_)  # shared, read-only: JSON numbers are finite
        columns = [
            ColumnValues(array, np.isnan(array), no_errors)
            if slot.kind == "numeric"
            else ColumnValues(array, array == MISSING_CODE, array == TYPE_ERROR_CODE)
            for (slot, _, _), array in zip(self._plan, arrays, strict=True)
        ]
        return ModelBatch(
            model_id=self._layout.model_id,
            index=np.arange(n, dtype=np.int64),
            timestamps=timestamps,
            request_ids=request_ids,
            columns=columns,
            unknown=np.zeros(n, dtype=np.int64),
        )

    def _decode_slice(
        self, payloads: Sequence[bytes], source_timestamps: Sequence[float] | None
    ) -> tuple[npt.NDArray[np.float64], list[object], list[npt.NDArray[Any]]] | None:
        """Timestamps, request ids and one array per column (values or category codes)."""
        n = len(payloads)
        decoded = self._envelopes(payloads)
        if decoded is None:
            return None
        envelopes, opened = decoded
        # The envelope's type admits this model's id only; an absent id (its
        # default, which msgspec does not validate) is fine for the default model.
        get_model = self._get.get("model_id")
        if not self._default_is_model and (get_model is None or None in map(get_model, envelopes)):
            return None
        get_ts = self._get.get("timestamp")
        timestamps, errors = parse_timestamps(
            list(map(get_ts, envelopes)) if get_ts else [None] * n,
            list(source_timestamps) if source_timestamps is not None else None,
        )
        if errors:
            return None
        feature_values = self._transposed(envelopes, "features", self._no_features)
        output_values = self._transposed(envelopes, "prediction", self._no_prediction)
        arrays: list[npt.NDArray[Any]] = []
        for slot, is_output, position in self._plan:
            values = (output_values if is_output else feature_values)[position]
            if slot.kind == "numeric":
                arrays.append(np.array(values, dtype=np.float64))  # None -> NaN; JSON has no NaN
            else:
                if opened:
                    self._admit(slot, values)
                arrays.append(
                    np.fromiter(
                        map(slot.lookup.get, values, repeat(slot.new_code)),
                        dtype=np.int64,
                        count=n,
                    )
                )
        get_rid = self._get_rid
        request_ids: list[object] = (
            _request_ids(list(map(get_rid, envelopes))) if get_rid else [None] * n
        )
        return timestamps, request_ids, arrays

    def _envelopes(self, payloads: Sequence[bytes]) -> tuple[list[Any], bool] | None:
        """The slice decoded with the closed envelope or else the open one (and which).

        None if neither takes it. A slice with a category not admitted fails the
        closed envelope at its first such value, usually early; the next
        `_OPEN_SLICES` slices then go straight to the open one, unless the new
        category is admitted meanwhile (`_admit`).
        """
        decoders = [self._closed, self._open]
        if self._open_slices:
            self._open_slices -= 1
            decoders = [self._open]
        for decoder in decoders:
            try:
                if isinstance(payloads, LineBlock):
                    # Straight from the read buffer. A block's lines are regular (see
                    # `monitor.ingest.lines`): as many values as lines means one per line.
                    envelopes: list[Any] = decoder.decode_lines(payloads.buffer())
                    if len(envelopes) != len(payloads):
                        return None
                else:
                    envelopes = list(map(decoder.decode, payloads))
            except msgspec.ValidationError:
                if decoder is self._closed:
                    self._open_slices = _OPEN_SLICES
                continue
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                return None
            return envelopes, decoder is self._open
        return None

    def _admit(self, slot: ColumnSlot, values: Sequence[object]) -> None:
        """Let the closed envelope take the new categories of `values` from now on.

        A drifted stream keeps sending its new category, and each of its slices
        would otherwise be decoded twice in part. At most `_MAX_LEARNED` are
        admitted per model, so a column of free text cannot grow the envelope.
        """
        admitted = self._admitted[slot.name]
        new = {v for v in values if isinstance(v, str)} - set(admitted)
        if not new or self._learned + len(new) > _MAX_LEARNED:
            return
        self._learned += len(new)
        self._admitted[slot.name] = admitted + tuple(sorted(new))
        self._closed = self._envelope_decoder(closed=True)
        self._open_slices = 0

    def _transposed(
        self, envelopes: list[Any], role: str, empty: msgspec.Struct
    ) -> list[tuple[Any, ...]]:
        """Column value tuples of the features (or prediction) structs; absent = all None."""
        getter = self._get.get(role)
        width = len(msgspec.structs.astuple(empty))
        if getter is None:
            return [(None,) * len(envelopes)] * width
        structs = list(map(getter, envelopes))
        if not all(structs):  # a struct is always true; None is an absent object
            structs = [s or empty for s in structs]
        return list(zip(*map(msgspec.structs.astuple, structs), strict=False))  # same widths


def _columns_struct(
    name: str, slots: Sequence[ColumnSlot], admitted: Mapping[str, tuple[str, ...]] | None
) -> type[msgspec.Struct]:
    """A struct with one typed, optional field per column, refusing any other key.

    With `admitted`, a categorical field takes only the strings it lists for it.
    """
    fields = [(f"c{i}", _field_type(slot, admitted), None) for i, slot in enumerate(slots)]
    return msgspec.defstruct(
        name,
        fields,
        rename={f"c{i}": slot.name for i, slot in enumerate(slots)},
        forbid_unknown_fields=True,
        gc=False,
    )


def _field_type(slot: ColumnSlot, admitted: Mapping[str, tuple[str, ...]] | None) -> Any:
    if slot.kind == "numeric":
        return float | None
    if admitted is not None and admitted[slot.name]:
        return Literal[admitted[slot.name]] | None
    return str | None


def _unknown_per_event(
    slots: Sequence[ColumnSlot],
    features: list[dict[str, object]],
    predictions: list[dict[str, object]],
) -> npt.NDArray[np.int64]:
    counts = np.fromiter(map(len, features), dtype=np.int64, count=len(features))
    counts += np.fromiter(map(len, predictions), dtype=np.int64, count=len(predictions))
    for slot in slots:
        source = features if slot.role == "feature" else predictions
        counts -= np.fromiter(
            map(dict.__contains__, source, repeat(slot.name)), dtype=np.bool_, count=len(source)
        )
    return counts


def _request_ids(values: list[object]) -> list[object]:
    """Request ids as deduplication keys them: strings and numbers; anything else is no id.

    An object or list has no stable spelling, and an integer beyond 64 bits is
    no one's request id.
    """
    types = list(map(type, values))
    if types.count(str) + types.count(_NONE_TYPE) == len(values):
        return values
    return [
        value
        if kind is str
        or kind is bool
        or kind is float
        or (kind is int and -_REQUEST_ID_LIMIT < value < _REQUEST_ID_LIMIT)  # type: ignore[operator]
        else None
        for value, kind in zip(values, types, strict=True)
    ]


def _concatenate(parts: list[ModelBatch]) -> ModelBatch:
    """One model's batches, in order, as one (their `index` already says where each was)."""
    if len(parts) == 1:
        return parts[0]
    return ModelBatch(
        model_id=parts[0].model_id,
        index=np.concatenate([p.index for p in parts]),
        timestamps=np.concatenate([p.timestamps for p in parts]),
        request_ids=[r for p in parts for r in p.request_ids],
        columns=[
            ColumnValues(
                np.concatenate([p.columns[c].values for p in parts]),
                np.concatenate([p.columns[c].missing for p in parts]),
                np.concatenate([p.columns[c].type_error for p in parts]),
            )
            for c in range(len(parts[0].columns))
        ],
        unknown=np.concatenate([p.unknown for p in parts]),
    )


# --- columns ----------------------------------------------------------------------------


def numeric_column(values: list[object]) -> ColumnValues:
    """Float values with NaN where missing or wrong; masks say which is which."""
    n = len(values)
    types = list(map(type, values))
    n_none = types.count(_NONE_TYPE)
    if types.count(float) + types.count(int) + n_none == n:
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:
            pass  # an integer beyond float range: classify value by value
        else:
            nan = np.isnan(array)
            if int(np.count_nonzero(nan)) == n_none:  # NaN came from None only
                bad = np.isinf(array)
                if bad.any():
                    array[bad] = np.nan
                return ColumnValues(array, nan, bad)
    array = np.full(n, np.nan, dtype=np.float64)
    missing = np.zeros(n, dtype=np.bool_)
    bad = np.zeros(n, dtype=np.bool_)
    for j, (value, kind) in enumerate(zip(values, types, strict=True)):
        if value is None:
            missing[j] = True
        elif kind is float or kind is int:
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError:
                bad[j] = True
                continue
            if math.isfinite(number):
                array[j] = number
            else:
                bad[j] = True
        else:
            bad[j] = True
    return ColumnValues(array, missing, bad)


def categorical_column(values: list[object], slot: ColumnSlot) -> ColumnValues:
    """Category codes: top-k index, other, new, or MISSING_CODE / TYPE_ERROR_CODE."""
    n = len(values)
    types = list(map(type, values))
    lookup = slot.lookup
    if types.count(str) + types.count(_NONE_TYPE) == n:
        codes = np.fromiter(map(lookup.get, values, repeat(slot.new_code)), dtype=np.int64, count=n)
    else:
        codes = np.empty(n, dtype=np.int64)
        for j, (value, kind) in enumerate(zip(values, types, strict=True)):
            if value is None or kind is str:
                codes[j] = lookup.get(value, slot.new_code)
            elif kind is bool or kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
                # Spelled exactly as the baseline builder spells training values.
                codes[j] = lookup.get(category_label(value), slot.new_code)
            else:
                codes[j] = TYPE_ERROR_CODE
    return ColumnValues(codes, codes == MISSING_CODE, codes == TYPE_ERROR_CODE)


# --- timestamps -------------------------------------------------------------------------


def parse_timestamps(
    values: list[object], fallback: Sequence[float] | None = None
) -> tuple[npt.NDArray[np.float64], list[tuple[int, str]]]:
    """Epoch seconds for each value, and (position, detail) for those that are not times.

    A time outside [EARLIEST_TIMESTAMP, LATEST_TIMESTAMP) is not one: whatever a
    producer sends, every accepted time can be windowed, dated and reported.
    """
    n = len(values)
    types = list(map(type, values))
    parsed: npt.NDArray[np.float64] | None = None
    if types.count(str) == n:
        parsed = _parse_rfc3339_fast(values)  # type: ignore[arg-type]
    elif types.count(float) + types.count(int) == n:
        try:
            parsed = _epoch_seconds(np.array(values, dtype=np.float64))
        except OverflowError:  # an integer beyond float range: value by value
            parsed = None
    if parsed is not None and _plausible(parsed).all():  # NaN and infinity are not
        return parsed, []
    out = np.zeros(n, dtype=np.float64)
    errors: list[tuple[int, str]] = []
    for j, (value, kind) in enumerate(zip(values, types, strict=True)):
        try:
            if value is None and fallback is not None:
                out[j] = _in_range(float(fallback[j]), "source timestamp")
            else:
                out[j] = _parse_one(value, kind)
        except ValueError as exc:
            errors.append((j, str(exc)))
    return out, errors


def _plausible(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return (seconds >= EARLIEST_TIMESTAMP) & (seconds < LATEST_TIMESTAMP)


def _in_range(seconds: float, what: object) -> float:
    if not EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP:  # False for NaN too
        raise ValueError(
            f"{what} is outside 1970-01-01T00:00:00Z .. 3000-01-01T00:00:00Z; {_PARSE_HINT}"
        )
    return seconds


def _epoch_seconds(array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(np.abs(array) >= MILLISECONDS_THRESHOLD, array / 1000.0, array)


def _parse_rfc3339_fast(values: list[str]) -> npt.NDArray[np.float64] | None:
    """numpy's C parser for the common `...Z` / no-offset form; None to fall back.

    A lowercase `z` or an explicit offset is left for numpy to refuse (it warns on
    offsets), and the exact path then parses the slice.
    """
    stripped = list(map(str.removesuffix, values, repeat("Z")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an explicit offset warns: take the exact path
            parsed = np.array(stripped, dtype="datetime64[us]")
    except (ValueError, Warning):
        return None
    if np.isnat(parsed).any():
        return None
    return parsed.astype(np.int64).astype(np.float64) / 1e6


_PARSE_HINT = "use RFC 3339 (2026-01-05T00:00:00Z) or epoch seconds/milliseconds"


def _parse_one(value: object, kind: type) -> float:
    if value is None:
        raise ValueError(f"missing timestamp; {_PARSE_HINT}")
    if kind is str:
        text = value
        assert isinstance(text, str)
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ValueError(f"cannot parse timestamp {text[:64]!r}; {_PARSE_HINT}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            seconds = moment.timestamp()
        except (OverflowError, OSError):  # pragma: no cover - datetime's own range is smaller
            seconds = math.nan
        return _in_range(seconds, f"timestamp {text[:64]!r}")
    if kind is int or kind is float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            number = math.inf
        shown = f"timestamp {str(value)[:64]}"
        if not math.isfinite(number):
            raise ValueError(f"{shown} is not a finite number; {_PARSE_HINT}")
        return _in_range(float(_epoch_seconds(np.array([number]))[0]), shown)
    raise ValueError(f"timestamp of type {kind.__name__}; {_PARSE_HINT}")
