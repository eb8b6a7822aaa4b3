"""The baseline artifact: what a model's training data looked like, frozen.

A baseline is immutable once written. Everything a window is compared with comes
from here: numeric bin edges and reference counts, categorical top-k shares, and
the missing rates. The artifact is one JSON document whose body is covered by a
sha256 content hash, so a modified or truncated file is refused on load instead
of silently moving every statistic. Every load also checks the body's shape
(`baselines.validation`) and the training-row floor, and, given a key, an
HMAC-SHA256 signature (`baselines.signing`) that an editor without the key
cannot recompute.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.errors import BaselineCorrupt, BaselineError, BaselineSignatureError
from driftwarden.baselines.performance import (
    PERFORMANCE_FIELD,
    ReferencePerformance,
    performance_from_dict,
    performance_to_dict,
)
from driftwarden.baselines.signing import SIGNATURE_FIELD, BaselineKey
from driftwarden.baselines.validation import FEW_ROWS_FIELD, check_body, check_row_floor

FORMAT = "driftwarden.baseline/1"

ColumnRole = Literal["feature", "output"]
Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


def missing_rate(present: int, missing: int) -> float:
    """Share of training rows without a value (0 for an empty column)."""
    total = present + missing
    return missing / total if total else 0.0


@dataclass(frozen=True, slots=True)
class NumericColumn:
    """A numeric column binned on edges frozen from reference quantiles.

    `edges` are the interior bin boundaries e_0 < e_1 < ... < e_K with e_0 the
    reference minimum and e_K the reference maximum. Counts have K + 2 slots:
    underflow (x < e_0), the K interior bins [e_i, e_{i+1}) (the last one closed
    at e_K), and overflow (x > e_K). Reference underflow and overflow are zero by
    construction; in a live window they are the out-of-range counts.
    """

    name: str
    role: ColumnRole
    edges: Float64Array
    counts: Int64Array
    n: int
    missing: int
    minimum: float
    maximum: float
    mean: float
    std: float
    quantiles: Mapping[str, float]
    kind: Literal["numeric"] = "numeric"

    @property
    def missing_rate(self) -> float:
        return missing_rate(self.n, self.missing)

    @property
    def n_bins(self) -> int:
        """Number of count slots, underflow and overflow included."""
        return len(self.edges) + 1


@dataclass(frozen=True, slots=True)
class CategoricalColumn:
    """A categorical column as top-k category counts plus one "other" bucket.

    `known_other` lists the training categories that are not in the top k, so a
    live value can be told apart as "rare but known" (other) or "never seen"
    (new). It is None when training had more distinct values than the builder
    keeps; new-category detection is then off for this column and every unseen
    value counts as "other".
    """

    name: str
    role: ColumnRole
    categories: tuple[str, ...]
    counts: Int64Array
    known_other: tuple[str, ...] | None
    n: int
    missing: int
    kind: Literal["categorical"] = "categorical"

    @property
    def missing_rate(self) -> float:
        return missing_rate(self.n, self.missing)

    @property
    def n_bins(self) -> int:
        """Number of count slots in a window: top-k, other, new."""
        return len(self.categories) + 2


Column = NumericColumn | CategoricalColumn


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One training file the baseline was built from, for provenance."""

    name: str
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """A frozen, versioned description of one model's training data."""

    model_id: str
    version: int
    created_at: str
    driftwarden_version: str
    row_count: int
    columns: tuple[Column, ...]
    sources: tuple[SourceFile, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    # Built below `validation.MIN_TRAINING_ROWS` on purpose (`build --allow-few-rows`).
    few_rows_accepted: bool = False
    # Built with `--target`: reference performance, score histograms, calibration map.
    performance: ReferencePerformance | None = None

    @property
    def ref(self) -> str:
        """Short human reference, as used in messages: `credit-risk@3`."""
        return f"{self.model_id}@{self.version}"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def features(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def outputs(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "output")


# --- serialisation -----------------------------------------------------------------


def _column_to_dict(col: Column) -> dict[str, Any]:
    if isinstance(col, NumericColumn):
        return {
            "name": col.name,
            "kind": "numeric",
            "role": col.role,
            "edges": [float(x) for x in col.edges],
            "counts": [int(x) for x in col.counts],
            "n": col.n,
            "missing": col.missing,
            "min": col.minimum,
            "max": col.maximum,
            "mean": col.mean,
            "std": col.std,
            "quantiles": dict(col.quantiles),
        }
    return {
        "name": col.name,
        "kind": "categorical",
        "role": col.role,
        "categories": list(col.categories),
        "counts": [int(x) for x in col.counts],
        "known_other": None if col.known_other is None else list(col.known_other),
        "n": col.n,
        "missing": col.missing,
    }


def _column_from_dict(raw: Mapping[str, Any]) -> Column:
    kind = raw["kind"]
    if kind == "numeric":
        return NumericColumn(
            name=str(raw["name"]),
            role=raw["role"],
            edges=np.asarray(raw["edges"], dtype=np.float64),
            counts=np.asarray(raw["counts"], dtype=np.int64),
            n=int(raw["n"]),
            missing=int(raw["missing"]),
            minimum=float(raw["min"]),
            maximum=float(raw["max"]),
            mean=float(raw["mean"]),
            std=float(raw["std"]),
            quantiles={str(k): float(v) for k, v in raw["quantiles"].items()},
        )
    if kind == "categorical":
        known = raw["known_other"]
        return CategoricalColumn(
            name=str(raw["name"]),
            role=raw["role"],
            categories=tuple(str(c) for c in raw["categories"]),
            counts=np.asarray(raw["counts"], dtype=np.int64),
            known_other=None if known is None else tuple(str(c) for c in known),
            n=int(raw["n"]),
            missing=int(raw["missing"]),
        )
    raise ValueError(f"unknown column kind {kind!r}")


def baseline_to_body(baseline: Baseline) -> dict[str, Any]:
    """The hashed body of the artifact, as plain JSON-ready data."""
    body = {
        "model_id": baseline.model_id,
        "version": baseline.version,
        "created_at": baseline.created_at,
        "driftwarden_version": baseline.driftwarden_version,
        "row_count": baseline.row_count,
        "labels": dict(sorted(baseline.labels.items())),
        "sources": [{"name": s.name, "rows": s.rows, "sha256": s.sha256} for s in baseline.sources],
        "columns": [_column_to_dict(c) for c in baseline.columns],
    }
    if baseline.few_rows_accepted:  # only when set: older artifacts keep their hash
        body[FEW_ROWS_FIELD] = True
    if baseline.performance is not None:  # likewise
        body[PERFORMANCE_FIELD] = performance_to_dict(baseline.performance)
    return body


def baseline_from_body(body: Mapping[str, Any]) -> Baseline:
    return Baseline(
        model_id=str(body["model_id"]),
        version=int(body["version"]),
        created_at=str(body["created_at"]),
        driftwarden_version=str(body["driftwarden_version"]),
        row_count=int(body["row_count"]),
        labels={str(k): str(v) for k, v in body.get("labels", {}).items()},
        sources=tuple(
            SourceFile(name=str(s["name"]), rows=int(s["rows"]), sha256=str(s["sha256"]))
            for s in body.get("sources", [])
        ),
        columns=tuple(_column_from_dict(c) for c in body["columns"]),
        few_rows_accepted=bool(body.get(FEW_ROWS_FIELD, False)),
        performance=(
            performance_from_dict(body[PERFORMANCE_FIELD]) if PERFORMANCE_FIELD in body else None
        ),
    )


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """The exact bytes the content hash covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def signed_payload(body: Mapping[str, Any]) -> bytes:
    """What `hmac_sha256` covers: the format, a newline, the canonical body bytes."""
    return FORMAT.encode() + b"\n" + canonical_json(body)


def encode_artifact(baseline: Baseline, *, key: BaselineKey | None = None) -> bytes:
    """The artifact file's bytes: readable JSON with the body's hash (and signature) beside it.

    The body is checked first (`validation.check_body`): nothing is written that
    a load would refuse as malformed.
    """
    body = baseline_to_body(baseline)
    check_body(body, source="being written")
    document: dict[str, Any] = {"format": FORMAT, "content_sha256": content_hash(body)}
    if key is not None:
        document[SIGNATURE_FIELD] = key.sign(signed_payload(body))
    document["body"] = body
    return (json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def decode_artifact(data: bytes, *, source: str, key: BaselineKey | None = None) -> Baseline:
    """Parse and verify an artifact; `source` names the file in every error.

    Checks, in order: JSON, format, content hash, signature (when `key` is
    given: a missing or wrong one is refused), body shape, training-row floor.
    """
    fix = "rebuild it with 'driftwarden baseline build' or restore the original file"
    try:
        document = json.loads(data, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BaselineCorrupt(
            f"baseline {source}: not valid JSON ({exc.__class__.__name__}: {exc}); "
            f"the file is truncated or was edited; {fix}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineCorrupt(
            f"baseline {source}: not a driftwarden baseline (expected format {FORMAT!r}); "
            f"point --baseline at a file written by 'driftwarden baseline build'"
        )
    body = document.get("body")
    expected = document.get("content_sha256")
    if not isinstance(body, dict) or not isinstance(expected, str):
        raise BaselineCorrupt(f"baseline {source}: missing body or content hash; {fix}")
    ref = f"{body.get('model_id', '?')}@{body.get('version', '?')}"
    actual = content_hash(body)
    if actual != expected:
        raise BaselineCorrupt(
            f"baseline '{ref}' ({source}) hash mismatch: the file was modified after it was "
            f"frozen (expected sha256 {expected[:12]}..., found {actual[:12]}...); {fix}"
        )
    if key is not None:
        _verify_signature(document.get(SIGNATURE_FIELD), body, key, ref=ref, source=source)
    check_body(body, source=source)
    try:
        baseline = baseline_from_body(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise BaselineCorrupt(
            f"baseline {source}: hash matches but the body is not readable by this "
            f"driftwarden version ({exc!r}); rebuild it with this version"
        ) from None
    check_row_floor(
        ref=ref,
        source=source,
        row_count=baseline.row_count,
        few_rows_accepted=baseline.few_rows_accepted,
    )
    return baseline


def _verify_signature(
    claimed: object, body: Mapping[str, Any], key: BaselineKey, *, ref: str, source: str
) -> None:
    if claimed is None:
        raise BaselineSignatureError(
            f"baseline '{ref}' ({source}) is not signed, but a verify key is configured "
            f"({key.source}); rebuild it with 'driftwarden baseline build --sign-key-file', "
            f"or remove the verify key to accept unsigned baselines"
        )
    if not isinstance(claimed, str) or not key.matches(signed_payload(body), claimed):
        raise BaselineSignatureError(
            f"baseline '{ref}' ({source}) signature does not match the key in {key.source}: "
            f"the file was edited after it was signed, or signed with another key; restore "
            f"the original file, or rebuild it with 'driftwarden baseline build "
            f"--sign-key-file' and that key"
        )


# --- shared spellings ---------------------------------------------------------------

MODEL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_model_id(model_id: str) -> str:
    """Return `model_id` if it can name a store directory, else raise with the rule.

    Model ids become directory names (`<root>/<model_id>/`), so they are limited
    to letters, digits, `.`, `_` and `-`, starting with a letter or digit.
    """
    if not MODEL_ID_PATTERN.fullmatch(model_id):
        raise BaselineError(
            f"model id {model_id!r} cannot name a baseline: use 1-128 letters, digits, "
            f"'.', '_' or '-', starting with a letter or digit (e.g. 'credit-risk')"
        )
    return model_id


def category_label(value: object) -> str:
    """The string a categorical value is counted under, in training and live alike.

    Categories are compared as strings spelled the way JSON spells the value:
    `"web"` stays `web`, `49` becomes `"49"`, `true` becomes `"true"`. A float
    with an integral value is spelled as the integer (`49.0` -> `"49"`) because
    JSON does not tell 49 from 49.0 and neither should a baseline. Missing values
    (None, NaN) have no label; callers count them as missing first.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    raise TypeError(f"{type(value).__name__} value {value!r} is not a category")
