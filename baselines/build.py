"""Build a baseline from a training column table: the statistics that get frozen.

Defaults (also in docs/baselines.md): 20 quantile bins per numeric column
(`baselines.binning.DEFAULT_BINS`), the 20 most frequent categories per
categorical column (`DEFAULT_TOP_K`), and up to 10,000 further training
categories remembered by name (`DEFAULT_MAX_KNOWN_CATEGORIES`) so a live value
can be told apart as rare-but-known or never seen.

Values are read strictly, because a baseline that quietly absorbed bad training
data would make every later comparison wrong:

- numeric columns: None and NaN are missing; numbers spelled as text (`"12.5"`)
  are accepted; any other text, a boolean, or an infinity is an error that names
  the column, a few of the offending values, and the fix;
- categorical columns: None and NaN are missing; every other value is counted
  under its JSON spelling (`baselines.artifact.category_label`: 49 -> "49",
  true -> "true"); an empty string is a category, not a missing value.

The result is deterministic: the same table, schema and arguments give the same
artifact bytes, so a baseline build can be reproduced and its hash compared.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import (
    Baseline,
    CategoricalColumn,
    ColumnRole,
    NumericColumn,
    SourceFile,
    category_label,
    check_model_id,
)
from driftwarden.baselines.binning import DEFAULT_BINS, bin_counts, quantile_edges
from driftwarden.baselines.build_performance import PerformanceSpec, build_performance
from driftwarden.baselines.errors import BaselineError, TrainingDataError
from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.baselines.schema import ResolvedColumn, Schema, parse_number, resolve_columns
from driftwarden.baselines.validation import MIN_TRAINING_ROWS

DEFAULT_TOP_K = 20
DEFAULT_MAX_KNOWN_CATEGORIES = 10_000
QUANTILES: Mapping[str, float] = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
_CATEGORY_TYPES = (type(None), str, bool, int, float, np.bool_, np.number)
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")

Float64Array = npt.NDArray[np.float64]


def build_baseline(
    model_id: str,
    table: Mapping[str, npt.NDArray[Any]],
    schema: Schema,
    *,
    version: int,
    created_at: str,
    sources: Sequence[SourceFile] = (),
    labels: Mapping[str, str] | None = None,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    max_known_categories: int = DEFAULT_MAX_KNOWN_CATEGORIES,
    default_outputs: Sequence[str] = (),
    driftwarden_version: str | None = None,
    allow_few_rows: bool = False,
    performance: PerformanceSpec | None = None,
) -> Baseline:
    """Freeze `table` (column name -> values, all the same length) into a Baseline.

    `default_outputs` are output columns the reader knows (keys of a `prediction` object);
    the schema may override them. Below `validation.MIN_TRAINING_ROWS` rows a table builds,
    but the store writes and loads it only if `allow_few_rows` recorded the opt-in.
    """
    check_model_id(model_id)
    _check_arguments(version, created_at, bins, top_k, max_known_categories)
    row_count = _row_count(table, sources)
    described = _without_target(table, schema, performance, default_outputs)
    resolved = resolve_columns(described, schema, default_outputs=default_outputs)
    columns = [
        build_numeric_column(spec.name, spec.role, np.asarray(table[spec.name]), bins=bins)
        if spec.kind == "numeric"
        else build_categorical_column(
            spec.name,
            spec.role,
            np.asarray(table[spec.name]),
            top_k=top_k,
            max_known_categories=max_known_categories,
        )
        for spec in resolved
    ]
    clean_labels = _check_labels(labels or {})
    reference = _reference(table, performance, resolved)
    return Baseline(
        model_id=model_id,
        version=version,
        created_at=created_at,
        driftwarden_version=driftwarden_version or installed_version(),
        row_count=row_count,
        columns=tuple(columns),
        sources=tuple(sources),
        labels=clean_labels,
        few_rows_accepted=allow_few_rows and row_count < MIN_TRAINING_ROWS,
        performance=reference,
    )


def _reference(
    table: Mapping[str, npt.NDArray[Any]],
    performance: PerformanceSpec | None,
    resolved: Sequence[ResolvedColumn],
) -> ReferencePerformance | None:
    """The model's reference performance (`--target`), over the described output columns."""
    if performance is None:
        return None
    return build_performance(
        table,
        performance,
        outputs=[c.name for c in resolved if c.role == "output"],
        kinds={c.name: c.kind for c in resolved},
    )


def _without_target(
    table: Mapping[str, npt.NDArray[Any]],
    schema: Schema,
    performance: PerformanceSpec | None,
    default_outputs: Sequence[str],
) -> Mapping[str, npt.NDArray[Any]]:
    """The columns the baseline describes: live events carry no target, so it is not one."""
    if performance is None:
        return table
    if performance.target in schema.outputs or performance.target in default_outputs:
        raise BaselineError(
            f"--target {performance.target!r} is also a model output; the target is the true "
            f"outcome, not what the model predicted: name the outcome column"
        )
    return {name: values for name, values in table.items() if name != performance.target}


def _check_arguments(
    version: int, created_at: str, bins: int, top_k: int, max_known_categories: int
) -> None:
    if version < 1:
        raise BaselineError(f"baseline version must be 1 or more, got {version}")
    if not _RFC3339_UTC.fullmatch(created_at):
        raise BaselineError(
            f"created_at {created_at!r} is not an RFC 3339 UTC time; "
            f"write it like 2026-01-01T00:00:00Z"
        )
    if bins < 1 or top_k < 1 or max_known_categories < 0:
        raise BaselineError(
            f"bins and top_k must be at least 1 and max_known_categories at least 0, got "
            f"bins={bins}, top_k={top_k}, max_known_categories={max_known_categories}"
        )


def build_numeric_column(
    name: str, role: ColumnRole, values: npt.NDArray[Any], *, bins: int = DEFAULT_BINS
) -> NumericColumn:
    """Quantile bins, reference counts and summary statistics of one column."""
    present, missing = numeric_values(name, values)
    if present.size == 0:
        raise TrainingDataError(
            f"column {name!r} is numeric but missing in every row; a baseline needs at least "
            f"one value to bin; list it under 'ignore' in the schema or fix the data"
        )
    ordered = np.sort(present)
    edges = quantile_edges(ordered, bins)
    quantiles = np.quantile(ordered, list(QUANTILES.values()))
    return NumericColumn(
        name=name,
        role=role,
        edges=edges,
        counts=bin_counts(ordered, edges),
        n=int(ordered.size),
        missing=missing,
        minimum=float(ordered[0]),
        maximum=float(ordered[-1]),
        mean=float(np.mean(ordered)),
        std=float(np.std(ordered)),
        quantiles={key: float(q) for key, q in zip(QUANTILES, quantiles, strict=True)},
    )


def build_categorical_column(
    name: str,
    role: ColumnRole,
    values: npt.NDArray[Any],
    *,
    top_k: int = DEFAULT_TOP_K,
    max_known_categories: int = DEFAULT_MAX_KNOWN_CATEGORIES,
) -> CategoricalColumn:
    """Top-k categories by frequency (ties by name), one "other" bucket, known others."""
    counts, missing = category_counts(name, values)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    top, rest = ranked[:top_k], ranked[top_k:]
    other = sum(count for _, count in rest)
    known_other = tuple(sorted(label for label, _ in rest))
    return CategoricalColumn(
        name=name,
        role=role,
        categories=tuple(label for label, _ in top),
        counts=np.asarray([count for _, count in top] + [other], dtype=np.int64),
        known_other=known_other if len(known_other) <= max_known_categories else None,
        n=sum(counts.values()),
        missing=missing,
    )


def numeric_values(name: str, values: npt.NDArray[Any]) -> tuple[Float64Array, int]:
    """The present values of a numeric column as float64, and the missing count."""
    kind = values.dtype.kind
    if kind in "iu":
        return values.astype(np.float64), 0
    if kind == "f":
        numbers = values.astype(np.float64, copy=False)
    elif kind in "OUS":
        numbers = _numbers_from_objects(name, values)
    else:
        raise TrainingDataError(
            f"column {name!r} is numeric but holds {values.dtype} values; convert them to "
            f"numbers, or declare kind: categorical for it in the schema"
        )
    missing_mask = np.isnan(numbers)
    present = numbers[~missing_mask]
    infinite = int(np.isinf(present).sum())
    if infinite:
        raise TrainingDataError(
            f"column {name!r} has {infinite} infinite values; replace them with finite "
            f"numbers or leave them empty (missing)"
        )
    return present, int(missing_mask.sum())


def _numbers_from_objects(name: str, values: npt.NDArray[Any]) -> Float64Array:
    numbers: list[float] = []
    bad: Counter[str] = Counter()
    for value in values.tolist():
        if value is None:
            numbers.append(math.nan)
        elif isinstance(value, bool):
            bad[repr(value)] += 1
            numbers.append(math.nan)
        elif isinstance(value, int | float):
            numbers.append(float(value))
        elif isinstance(value, str):
            parsed = parse_number(value)
            if parsed is None:
                bad[repr(value)] += 1
                numbers.append(math.nan)
            else:
                numbers.append(parsed)
        else:
            bad[f"{type(value).__name__} {value!r}"] += 1
            numbers.append(math.nan)
    if bad:
        examples = ", ".join(text for text, _ in bad.most_common(3))
        raise TrainingDataError(
            f"column {name!r} is numeric but {bad.total()} of its values are not numbers "
            f"(e.g. {examples}); fix or blank them (empty is missing), or declare "
            f"kind: categorical for it in the schema"
        )
    return np.asarray(numbers, dtype=np.float64)


def category_counts(name: str, values: npt.NDArray[Any]) -> tuple[dict[str, int], int]:
    """Counts per category label, and the missing count (None and NaN)."""
    kind = values.dtype.kind
    labels: Counter[str] = Counter()
    if kind in "iub":
        distinct, counts = np.unique(values, return_counts=True)
        for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
            labels[category_label(value)] += count
        return dict(labels), 0
    if kind == "f":
        missing_mask = np.isnan(values)
        distinct, counts = np.unique(values[~missing_mask], return_counts=True)
        for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
            labels[category_label(value)] += count
        return dict(labels), int(missing_mask.sum())
    if kind not in "OUS":
        raise TrainingDataError(
            f"column {name!r} holds {values.dtype} values, which are not categories; "
            f"convert them to strings, or list the column under 'ignore' in the schema"
        )
    as_list = values.tolist()
    types = set(map(type, as_list))
    unsupported = sorted(t.__name__ for t in types if not issubclass(t, _CATEGORY_TYPES))
    if unsupported:
        raise TrainingDataError(
            f"column {name!r} holds {', '.join(unsupported)} values, which are not categories; "
            f"flatten or convert them, or list the column under 'ignore' in the schema"
        )
    if any(issubclass(t, bool | np.bool_) for t in types) and any(
        issubclass(t, int | float | np.number) and not issubclass(t, bool) for t in types
    ):
        # True == 1 in Python, so spell booleans out before counting.
        as_list = [category_label(v) if isinstance(v, bool | np.bool_) else v for v in as_list]
    missing = 0
    for value, count in Counter(as_list).items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing += count
        else:
            labels[category_label(value)] += count
    return dict(labels), missing


def _row_count(table: Mapping[str, npt.NDArray[Any]], sources: Sequence[SourceFile] = ()) -> int:
    """The table's rows, which every column and the sources' row counts must agree on."""
    rows = _even_rows(table)
    if sources and sum(s.rows for s in sources) != rows:
        raise ValueError(f"sources describe {sum(s.rows for s in sources)} rows, table has {rows}")
    return rows


def _even_rows(table: Mapping[str, npt.NDArray[Any]]) -> int:
    lengths = {name: len(values) for name, values in table.items()}
    if not lengths:
        raise TrainingDataError("the training data has no columns")
    rows = next(iter(lengths.values()))
    uneven = {name: n for name, n in lengths.items() if n != rows}
    if uneven:
        name, n = next(iter(uneven.items()))
        raise TrainingDataError(
            f"column {name!r} has {n} rows but the others have {rows}; every column of a "
            f"training table needs one value (or missing) per row"
        )
    if rows == 0:
        raise TrainingDataError("the training data has no rows; a baseline needs data")
    return rows


def _check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise BaselineError(
                f"label {key!r}={value!r} is not a non-empty string key with a string value"
            )
    return dict(sorted(labels.items()))


# --- provenance ------------------------------------------------------------------------


def installed_version() -> str:
    """The driftwarden version recorded in every baseline."""
    try:
        return distribution_version("driftwarden")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def format_created_at(moment: datetime) -> str:
    """RFC 3339 UTC with second precision: `2026-01-05T00:00:00Z`."""
    if moment.tzinfo is None:
        raise ValueError("created_at needs a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_created_at(
    *,
    explicit: str | None = None,
    source_date_epoch: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """The build time: an explicit RFC 3339 time, else SOURCE_DATE_EPOCH, else the clock.

    SOURCE_DATE_EPOCH (seconds since the epoch) is the reproducible-builds
    convention: with it, rebuilding from the same data gives the same bytes.
    """
    if explicit is not None:
        try:
            moment = datetime.fromisoformat(explicit)
        except ValueError:
            raise BaselineError(
                f"--created-at {explicit!r} is not an RFC 3339 time; "
                f"write it like 2026-01-01T00:00:00Z"
            ) from None
        if moment.tzinfo is None:
            raise BaselineError(
                f"--created-at {explicit!r} has no timezone; add Z for UTC "
                f"(e.g. 2026-01-01T00:00:00Z)"
            )
        return format_created_at(moment)
    if source_date_epoch:
        try:
            seconds = int(source_date_epoch)
        except ValueError:
            raise BaselineError(
                f"SOURCE_DATE_EPOCH={source_date_epoch!r} is not a whole number of seconds "
                f"since 1970-01-01; fix or unset it"
            ) from None
        return format_created_at(datetime.fromtimestamp(seconds, UTC))
    return format_created_at(clock())
