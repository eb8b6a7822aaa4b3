"""The typed fast path: a batch of regular events for one model, checked in C by msgspec."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.batch import ColumnValues, ModelBatch
from driftwarden.monitor.ingest.columns import request_id_keys
from driftwarden.monitor.ingest.envelope import build_envelope
from driftwarden.monitor.ingest.layout import MISSING_CODE, TYPE_ERROR_CODE, ColumnSlot, ModelLayout
from driftwarden.monitor.ingest.lines import LineBlock
from driftwarden.monitor.ingest.timestamps import parse_timestamps

_TYPED_SLICE = 512
_OPEN_SLICES = 16
_MAX_LEARNED = 64


class TypedModelDecoder:
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
        envelope, self._get = build_envelope(
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
            request_id_keys(list(map(get_rid, envelopes))) if get_rid else [None] * n
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
