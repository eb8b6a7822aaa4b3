"""Which training columns a baseline covers, what kind each one is, and its role.

Kinds are inferred from the data: numeric dtypes (integer-valued ones included)
are numeric, strings and booleans are categorical. A schema file can override
any of it, for instance to count a numeric code as a category:

```yaml
columns:
  branch_code: {kind: categorical}
  score: {role: output}
outputs: [score, label]
ignore: [customer_id]
```

A column is an output when the schema says so (`outputs:` or `role: output`),
when `--outputs` names it, or when a JSON-lines reader took it from the
`prediction` object; everything else is a feature. `model_id`, `timestamp` and
`request_id` identify events and are never columns.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from driftwarden.baselines.artifact import ColumnRole
from driftwarden.baselines.errors import SchemaError, TrainingDataError

ColumnKind = Literal["numeric", "categorical"]
RESERVED_COLUMNS: frozenset[str] = frozenset({"model_id", "timestamp", "request_id"})

# A text column is suspicious when at least this share of its values are numbers:
# it is almost certainly a numeric column with a few bad entries, not categories.
LOOKS_NUMERIC_SHARE = 0.9


class ColumnSpec(BaseModel):
    """Overrides for one column; unset fields keep the inferred value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ColumnKind | None = None
    role: ColumnRole | None = None


class Schema(BaseModel):
    """The schema file's content; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, ColumnSpec] = {}
    outputs: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Schema:
        named = set(self.columns) | set(self.outputs)
        reserved = sorted(named & RESERVED_COLUMNS)
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} identify events and are never columns; "
                f"remove them from 'columns' and 'outputs'"
            )
        both = sorted(named & set(self.ignore))
        if both:
            raise ValueError(
                f"{', '.join(both)} listed under 'ignore' and also described; keep one"
            )
        for name in self.outputs:
            spec = self.columns.get(name)
            if spec is not None and spec.role == "feature":
                raise ValueError(f"column {name!r} is in 'outputs' but has role: feature; keep one")
        return self

    def with_outputs(self, names: Iterable[str]) -> Schema:
        """This schema with more output columns (from `--outputs`)."""
        merged = tuple(dict.fromkeys((*self.outputs, *names)))
        try:
            return Schema(columns=self.columns, outputs=merged, ignore=self.ignore)
        except ValidationError as exc:
            raise SchemaError(f"--outputs: {_first_message(exc)}") from None

    @property
    def skipped(self) -> frozenset[str]:
        """Columns never read: the ignored ones and the event identifiers."""
        return RESERVED_COLUMNS | frozenset(self.ignore)


@dataclass(frozen=True, slots=True)
class ResolvedColumn:
    """A training column with its final kind and role."""

    name: str
    kind: ColumnKind
    role: ColumnRole


def load_schema(path: Path) -> Schema:
    """Read a YAML (`.yaml`, `.yml`) or JSON (`.json`) schema file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            f"schema {path}: cannot read it ({exc.strerror}); check the --schema path"
        ) from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SchemaError(f"schema {path}: not valid YAML/JSON ({exc}); fix the syntax") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SchemaError(
            f"schema {path}: expected a mapping with 'columns', 'outputs' and 'ignore', "
            f"found {type(raw).__name__}"
        )
    try:
        return Schema.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(f"schema {path}: {_first_message(exc)}") from None


def _first_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key; the keys are columns, outputs, ignore (and kind, role)"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def resolve_columns(
    table: Mapping[str, npt.NDArray[Any]],
    schema: Schema,
    *,
    default_outputs: Collection[str] = (),
) -> tuple[ResolvedColumn, ...]:
    """Every baseline column with its kind and role: features first, then outputs.

    Within each role the table's column order is kept, so the artifact lists
    columns the way the training data does.
    """
    present = [name for name in table if name not in schema.skipped]
    unknown = sorted((set(schema.columns) | set(schema.outputs)) - set(present))
    if unknown:
        raise SchemaError(
            f"schema names {', '.join(map(repr, unknown))} but the training data has no such "
            f"column (it has {', '.join(present) or 'none'}); fix the name or remove it"
        )
    if not present:
        raise TrainingDataError(
            "the training data has no columns left to describe; check 'ignore' in the schema"
        )
    resolved = []
    for name in present:
        spec = schema.columns.get(name, ColumnSpec())
        kind = spec.kind or infer_kind(name, table[name])
        role: ColumnRole
        if spec.role is not None:
            role = spec.role
        elif name in schema.outputs or name in default_outputs:
            role = "output"
        else:
            role = "feature"
        resolved.append(ResolvedColumn(name=name, kind=kind, role=role))
    return tuple(
        sorted(resolved, key=lambda c: c.role == "output")  # stable: keeps data order
    )


def infer_kind(name: str, values: npt.NDArray[Any]) -> ColumnKind:
    """Numeric for numbers, categorical for strings and booleans.

    Object arrays (JSON values, text columns) are looked at value by value:
    only numbers is numeric; only strings or booleans is categorical; a mix of
    numbers and strings, or text that is mostly numbers, is refused because the
    right answer depends on what the column means, which the schema can say.
    """
    dtype_kind = values.dtype.kind
    if dtype_kind in "iuf":
        return "numeric"
    if dtype_kind in "bUS":
        return "categorical"
    if dtype_kind != "O":
        raise TrainingDataError(
            f"column {name!r} has dtype {values.dtype}, which cannot be binned; convert it "
            f"to numbers or strings, or list it under 'ignore' in the schema"
        )
    as_list = values.tolist()
    numbers, text_rows = _tally(name, as_list)
    if numbers == 0 and text_rows == 0:
        raise TrainingDataError(
            f"column {name!r} is missing in every row, so its kind cannot be inferred; list "
            f"it under 'ignore' in the schema, or declare its kind under 'columns'"
        )
    if numbers and text_rows:
        examples = ", ".join(
            repr(v) for v in itertools.islice((v for v in as_list if _is_text(v)), 3)
        )
        raise TrainingDataError(
            f"column {name!r} mixes numbers ({numbers} rows) and text ({text_rows} rows, "
            f"e.g. {examples}); fix the data, or declare its kind in the schema "
            f"(kind: categorical keeps every value as a category)"
        )
    if numbers:
        return "numeric"
    _refuse_mostly_numeric_text(name, as_list)
    return "categorical"


def _tally(name: str, as_list: list[Any]) -> tuple[int, int]:
    """(numbers, text or boolean values) in an object column; None and NaN count in neither.

    Classifies by type first (C speed), and looks at values only to discount NaN.
    """
    by_type = Counter(map(type, as_list))
    numbers = 0
    text_rows = 0
    others: set[str] = set()
    for value_type, count in by_type.items():
        if value_type is type(None):
            continue
        if issubclass(value_type, bool | np.bool_ | str):  # before int: bool is an int
            text_rows += count
        elif issubclass(value_type, int | float | np.integer | np.floating):
            numbers += count
        else:
            others.add(value_type.__name__)
    if others:
        raise TrainingDataError(
            f"column {name!r} holds {', '.join(sorted(others))} values, which cannot be "
            f"binned; flatten or convert them, or list the column under 'ignore' in the schema"
        )
    if numbers and any(issubclass(t, float | np.floating) for t in by_type):
        numbers -= sum(1 for v in as_list if isinstance(v, float | np.floating) and np.isnan(v))
    return numbers, text_rows


def _refuse_mostly_numeric_text(name: str, as_list: list[Any]) -> None:
    """A text column whose values are nearly all numbers is a numeric column with typos."""
    texts = {v: c for v, c in Counter(as_list).items() if isinstance(v, str)}
    total = sum(texts.values())
    numeric_text = sum(count for text, count in texts.items() if _parses_as_number(text))
    if total and numeric_text < total and numeric_text >= LOOKS_NUMERIC_SHARE * total:
        ranked = sorted(texts.items(), key=lambda item: -item[1])
        bad = [t for t, _ in ranked if not _parses_as_number(t)][:3]
        raise TrainingDataError(
            f"column {name!r} looks numeric ({numeric_text / total:.1%} of its values "
            f"are numbers) but has values that are not, e.g. {', '.join(map(repr, bad))}; "
            f"fix or blank them (an empty field is missing), or declare kind: categorical "
            f"for it in the schema to count every value as a category"
        )


def _is_text(value: object) -> bool:
    return isinstance(value, bool | np.bool_ | str)


def _parses_as_number(text: str) -> bool:
    return parse_number(text) is not None


def parse_number(text: str) -> float | None:
    """A finite number spelled as text, or None when the text is not one."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
