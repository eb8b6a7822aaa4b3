"""What an artifact body must satisfy before anything is compared with it.

A hash proves the bytes did not change since they were hashed, not that they
make sense: reversed edges or counts of the wrong length would otherwise load
and fail only at the first window evaluation, after the data was read. So every
load (and every write) checks the body's whole shape: each column has a unique
name, a known kind and role, `n + missing` equal to the row count, counts that
are non-negative integers summing to `n`; numeric columns have non-empty,
finite, strictly increasing edges and `len(edges) + 1` counts; categorical ones
unique categories and `len(categories) + 1` counts. The first problem found
raises `BaselineCorrupt` with one line naming the baseline, the column, the
problem and the fix.

The row floor (`MIN_TRAINING_ROWS`) is a separate check (`check_row_floor`):
below it a baseline's rates are too noisy to page on, unless the build opted in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from driftwarden.baselines.errors import BaselineCorrupt, BaselineTooSmall
from driftwarden.baselines.performance import PERFORMANCE_FIELD, TASKS

MIN_TRAINING_ROWS = 1000
"""The floor on training rows (docs/baselines.md, "Minimum training rows").

A category or a missing value never seen in n rows may still have a rate up to
about 3/n (the rule of three): 0.3% at 1,000 rows, below every default
data-quality threshold, but 3% at 100. It is also the default
`policy.significance.min_reference`, below which no drift test is evaluated.
"""

FEW_ROWS_FIELD = "few_rows_accepted"
KINDS = ("numeric", "categorical")
ROLES = ("feature", "output")
REBUILD = "rebuild it with 'driftwarden baseline build' or restore the original file"


def _fail(where: str, problem: str) -> NoReturn:
    raise BaselineCorrupt(f"{where}: {problem}; {REBUILD}")


def _count(where: str, name: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(where, f"'{name}' must be a whole number >= {minimum}, found {value!r}")
    return value


def _finite(where: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(where, f"'{name}' must be a finite number, found {value!r}")
    return float(value)


def _text(where: str, name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        _fail(where, f"'{name}' must be a non-empty string, found {value!r}")
    return value


def _list(where: str, name: str, value: object) -> Sequence[Any]:
    if not isinstance(value, list):
        _fail(where, f"'{name}' must be a list, found {type(value).__name__}")
    return value


def check_body(body: Mapping[str, Any], *, source: str) -> None:
    """Raise `BaselineCorrupt` for the first thing in `body` a baseline cannot be."""
    ref = f"{body.get('model_id', '?')}@{body.get('version', '?')}"
    where = f"baseline '{ref}' ({source})"
    _text(where, "model_id", body.get("model_id"))
    _count(where, "version", body.get("version"), minimum=1)
    _text(where, "created_at", body.get("created_at"))
    _text(where, "driftwarden_version", body.get("driftwarden_version"))
    rows = _count(where, "row_count", body.get("row_count"), minimum=1)
    few = body.get(FEW_ROWS_FIELD, False)
    if not isinstance(few, bool):
        _fail(where, f"'{FEW_ROWS_FIELD}' must be true or false, found {few!r}")
    labels = body.get("labels", {})
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        _fail(where, "'labels' must map strings to strings")
    for i, source_file in enumerate(_list(where, "sources", body.get("sources", []))):
        _check_source(f"{where} source [{i}]", source_file)
    columns = _list(where, "columns", body.get("columns"))
    if not columns:
        _fail(where, "it describes no columns")
    seen: set[str] = set()
    for i, column in enumerate(columns):
        if not isinstance(column, dict):
            _fail(f"{where} column [{i}]", "must be an object")
        name = column.get("name")
        if not isinstance(name, str) or not name:
            _fail(f"{where} column [{i}]", f"'name' must be a non-empty string, found {name!r}")
        at = f"{where} column '{name}'"
        if name in seen:
            _fail(at, "the column is described twice (column names must be unique)")
        seen.add(name)
        _check_column(at, column, rows=rows)
    if PERFORMANCE_FIELD in body:
        _check_performance(where, body[PERFORMANCE_FIELD], columns=columns, rows=rows)


def _check_source(at: str, source_file: object) -> None:
    if not isinstance(source_file, dict):
        _fail(at, "must be an object with name, rows and sha256")
    _text(at, "name", source_file.get("name"))
    _count(at, "rows", source_file.get("rows"))
    _text(at, "sha256", source_file.get("sha256"))


def _check_performance(
    where: str, section: object, *, columns: Sequence[Mapping[str, Any]], rows: int
) -> None:
    """The performance section names real output columns and holds finite metrics.

    The window state and calibration map inside are checked when they are read
    (`baselines.performance.performance_from_dict`).
    """
    at = f"{where} performance"
    if not isinstance(section, dict):
        _fail(at, "must be an object")
    target = _text(at, "target", section.get("target"))
    if any(c.get("name") == target for c in columns):
        _fail(at, f"the target {target!r} is also described as a column")
    task = section.get("task")
    if task not in TASKS:
        _fail(at, f"'task' must be one of {', '.join(TASKS)}, found {task!r}")
    outputs = {c.get("name") for c in columns if c.get("role") == "output"}
    _check_outputs_named(at, section, outputs)
    n = _count(at, "n", section.get("n"), minimum=1)
    missing = _count(at, "missing", section.get("missing"))
    if n + missing != rows:
        _fail(at, f"n ({n}) + missing ({missing}) is not the baseline's row_count ({rows})")
    metrics = section.get("metrics")
    if not isinstance(metrics, dict):
        _fail(at, "'metrics' must be an object")
    for metric, entry in metrics.items():
        _check_metric(at, metric, entry)


def _check_outputs_named(at: str, section: Mapping[str, Any], outputs: set[Any]) -> None:
    scores = section.get("scores")
    if not isinstance(scores, dict):
        _fail(at, "'scores' must map classes to output columns")
    for name in [section.get("prediction"), *scores.values()]:
        if name is not None and name not in outputs:
            _fail(at, f"{name!r} is not one of the baseline's output columns")


def _check_metric(at: str, metric: str, entry: object) -> None:
    if not isinstance(entry, dict):
        _fail(at, f"metric {metric!r} must be an object with value, std, rows, n_reference")
    _finite(at, f"metrics.{metric}.value", entry.get("value"))
    if _finite(at, f"metrics.{metric}.std", entry.get("std")) < 0:
        _fail(at, f"metrics.{metric}.std is negative")
    _count(at, f"metrics.{metric}.rows", entry.get("rows"), minimum=1)
    _count(at, f"metrics.{metric}.n_reference", entry.get("n_reference"), minimum=1)


def _check_column(at: str, column: Mapping[str, Any], *, rows: int) -> None:
    kind = column.get("kind")
    if kind not in KINDS:
        _fail(at, f"'kind' must be one of {', '.join(KINDS)}, found {kind!r}")
    role = column.get("role")
    if role not in ROLES:
        _fail(at, f"'role' must be one of {', '.join(ROLES)}, found {role!r}")
    n = _count(at, "n", column.get("n"))
    missing = _count(at, "missing", column.get("missing"))
    if n + missing != rows:
        _fail(at, f"n ({n}) + missing ({missing}) is not the baseline's row_count ({rows})")
    counts = [
        _count(at, f"counts[{j}]", c)
        for j, c in enumerate(_list(at, "counts", column.get("counts")))
    ]
    if kind == "numeric":
        _check_numeric(at, column, n_counts=len(counts), n=n)
    else:
        _check_categorical(at, column, n_counts=len(counts))
    if sum(counts) != n:
        _fail(at, f"the counts sum to {sum(counts)}, not to n ({n})")


def _check_numeric(at: str, column: Mapping[str, Any], *, n_counts: int, n: int) -> None:
    edges = [
        _finite(at, f"edges[{j}]", e) for j, e in enumerate(_list(at, "edges", column.get("edges")))
    ]
    if not edges:
        _fail(at, "'edges' is empty; a numeric column needs at least one bin edge")
    for j in range(1, len(edges)):
        if not edges[j] > edges[j - 1]:
            _fail(
                at,
                f"edges are not strictly increasing (edges[{j - 1}] = {edges[j - 1]!r}, "
                f"edges[{j}] = {edges[j]!r})",
            )
    if n_counts != len(edges) + 1:
        _fail(
            at,
            f"{n_counts} counts for {len(edges)} edges; a numeric column has "
            f"len(edges) + 1 = {len(edges) + 1} (underflow, bins, overflow)",
        )
    if n == 0:
        _fail(at, "a numeric column needs at least one present value (n is 0)")
    low = _finite(at, "min", column.get("min"))
    high = _finite(at, "max", column.get("max"))
    if low > high:
        _fail(at, f"min ({low!r}) is above max ({high!r})")
    _finite(at, "mean", column.get("mean"))
    if _finite(at, "std", column.get("std")) < 0:
        _fail(at, "'std' is negative")
    quantiles = column.get("quantiles")
    if not isinstance(quantiles, dict):
        _fail(at, "'quantiles' must be an object of finite numbers")
    for key, value in quantiles.items():
        _finite(at, f"quantiles.{key}", value)


def _check_categorical(at: str, column: Mapping[str, Any], *, n_counts: int) -> None:
    raw = _list(at, "categories", column.get("categories"))
    categories = [_category(at, j, c) for j, c in enumerate(raw)]
    if len(set(categories)) != len(categories):
        dup = next(c for c in categories if categories.count(c) > 1)
        _fail(at, f"category {dup!r} is listed twice")
    if n_counts != len(categories) + 1:
        _fail(
            at,
            f"{n_counts} counts for {len(categories)} categories; a categorical column "
            f"has len(categories) + 1 = {len(categories) + 1} (the last one is 'other')",
        )
    known = column.get("known_other")
    if known is not None:
        others = [_category(at, j, c) for j, c in enumerate(_list(at, "known_other", known))]
        overlap = set(others) & set(categories)
        if overlap:
            _fail(at, f"known_other repeats the top categories {sorted(overlap)!r}")


def _category(at: str, j: int, value: object) -> str:
    if not isinstance(value, str):
        _fail(at, f"category [{j}] must be a string, found {value!r}")
    return value


def check_row_floor(
    *,
    ref: str,
    source: str,
    row_count: int,
    few_rows_accepted: bool,
    floor: int = MIN_TRAINING_ROWS,
) -> None:
    """Refuse a baseline built from fewer than `floor` rows unless its build opted in."""
    if row_count >= floor or few_rows_accepted:
        return
    raise BaselineTooSmall(
        f"baseline '{ref}' ({source}): built from {row_count:,} training rows, below the "
        f"floor of {floor:,}; its rates are too noisy to alert on; rebuild it from more "
        f"data, or rebuild with 'driftwarden baseline build --allow-few-rows' to accept that"
    )
