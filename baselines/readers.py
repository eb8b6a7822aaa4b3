"""Training data from CSV, JSON lines and Parquet files, as one column table.

Every reader returns the same shape: a dict of column name -> numpy array, with
numbers as float64 (NaN where missing) and everything else as an object array of
Python strings and booleans (None where missing). That is all the builder needs,
and it is what `examples.synthetic.training_table` returns too.

Formats, chosen by file extension (`.gz` variants of the text formats are
decompressed on the fly):

- CSV (`.csv`): a header row; pyarrow infers each column's type. An empty field,
  `null`, `NULL`, `NaN` and `nan` are missing. `NA` is deliberately *not*
  missing: it is Namibia's country code, and a country column is exactly the
  kind of data a baseline describes.
- JSON lines (`.jsonl`, `.ndjson`): one object per line. Objects under the
  `features` and `prediction` keys are flattened, their keys becoming columns,
  so the documented event shape (`{"features": {...}, "prediction": {...}}`)
  reads as training data directly. Top-level scalar keys are columns too. Keys of
  `prediction` are outputs unless the schema says otherwise.
- Parquet (`.parquet`, `.pq`): read with its own types; `features` and
  `prediction` struct columns are flattened the same way.

Several files are concatenated in the order given; they must have the same
columns, and each column the same kind (numbers or text) in every file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from driftwarden.baselines.artifact import SourceFile
from driftwarden.baselines.errors import TrainingDataError

# pyarrow is the optional `parquet` extra: the daemon and replay never read training data,
# so the image and a plain install do not carry its ~100 MB. Without it, this module says
# which extra to install instead of an ImportError naming a package the user never chose.
try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq
except ModuleNotFoundError as missing:
    if missing.name is None or missing.name.partition(".")[0] != "pyarrow":
        raise
    raise TrainingDataError(
        "reading training data (CSV, JSON lines, Parquet) needs pyarrow, which is not "
        "installed; install driftwarden with its 'parquet' extra: "
        "pip install 'driftwarden[parquet]'"
    ) from missing
from driftwarden.baselines.schema import RESERVED_COLUMNS

SUPPORTED_FORMATS: dict[str, str] = {
    ".csv": "CSV",
    ".csv.gz": "CSV",
    ".jsonl": "JSON lines",
    ".jsonl.gz": "JSON lines",
    ".ndjson": "JSON lines",
    ".ndjson.gz": "JSON lines",
    ".parquet": "Parquet",
    ".pq": "Parquet",
}
NESTED_OBJECTS = ("features", "prediction")
CSV_NULL_VALUES = ("", "null", "NULL", "NaN", "nan")

ColumnArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class TrainingData:
    """Columns read from one or more files, with provenance for the baseline.

    `outputs` lists the columns that came from a `prediction` object, which the
    schema treats as outputs by default.
    """

    columns: dict[str, ColumnArray]
    sources: tuple[SourceFile, ...]
    outputs: tuple[str, ...] = field(default=())

    @property
    def row_count(self) -> int:
        return sum(source.rows for source in self.sources)


def read_training_data(
    paths: Sequence[Path], *, skip: Collection[str] = RESERVED_COLUMNS
) -> TrainingData:
    """Read and concatenate training files; `skip` names columns not to load at all."""
    if not paths:
        raise TrainingDataError("no training data given; pass at least one --data FILE")
    parts = [read_training_file(path, skip=skip) for path in paths]
    if len(parts) == 1:
        return parts[0]
    return _concatenate(parts, paths)


def read_training_file(path: Path, *, skip: Collection[str] = RESERVED_COLUMNS) -> TrainingData:
    """Read one file, choosing the reader by extension."""
    fmt = data_format(path)
    if not path.is_file():
        raise TrainingDataError(f"{path}: no such file; check the --data path")
    try:
        if fmt == "CSV":
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    null_values=list(CSV_NULL_VALUES), strings_can_be_null=True
                ),
            )
        elif fmt == "JSON lines":
            table = pajson.read_json(path)
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        hint = (
            "; every value of a column must have the same JSON type, with null for missing"
            if fmt == "JSON lines"
            else ""
        )
        raise TrainingDataError(
            f"{path}: cannot read it as {fmt} ({exc}){hint}; fix the file or its extension"
        ) from None
    columns, outputs = _flatten(table, path, frozenset(skip))
    source = SourceFile(name=path.name, rows=table.num_rows, sha256=file_sha256(path))
    return TrainingData(columns=columns, sources=(source,), outputs=tuple(outputs))


def data_format(path: Path) -> str:
    """The format name for a file, or a TrainingDataError listing the supported ones."""
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return SUPPORTED_FORMATS[suffix]
    supported = ", ".join(SUPPORTED_FORMATS)
    raise TrainingDataError(
        f"{path}: unknown training data format; supported extensions are {supported}"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _flatten(
    table: pa.Table, path: Path, skip: frozenset[str]
) -> tuple[dict[str, ColumnArray], list[str]]:
    columns: dict[str, ColumnArray] = {}
    origins: dict[str, str] = {}
    outputs: list[str] = []

    def add(name: str, origin: str, values: pa.ChunkedArray) -> None:
        if name in skip:
            return
        if name in columns:
            raise TrainingDataError(
                f"{path}: column {name!r} appears both as {origins[name]!r} and as "
                f"{origin!r}; rename one of them"
            )
        columns[name] = _to_numpy(values, path, origin)
        origins[name] = origin

    for arrow_field, values in zip(table.schema, table.columns, strict=True):
        name = arrow_field.name
        if name in skip:
            continue
        if name in NESTED_OBJECTS and pa.types.is_struct(arrow_field.type):
            for index in range(arrow_field.type.num_fields):
                child = arrow_field.type.field(index).name
                add(child, f"{name}.{child}", pc.struct_field(values, [index]))
                if name == "prediction" and child not in skip:
                    outputs.append(child)
        else:
            add(name, name, values)
    return columns, outputs


def _to_numpy(values: pa.ChunkedArray, path: Path, origin: str) -> ColumnArray:
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers: ColumnArray = values.cast(pa.float64()).to_numpy()
        return numbers
    if pa.types.is_null(kind):
        return np.full(len(values), None, dtype=object)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_struct(kind):
        fix = f"move its keys under {' or '.join(NESTED_OBJECTS)}"
    else:
        fix = "convert it to numbers or strings"
    raise TrainingDataError(
        f"{path}: column {origin!r} has type {kind}, which a baseline cannot describe; "
        f"{fix}, or list it under 'ignore' in the schema"
    )


def _concatenate(parts: Sequence[TrainingData], paths: Sequence[Path]) -> TrainingData:
    first, first_path = parts[0], paths[0]
    for part, path in zip(parts[1:], paths[1:], strict=True):
        missing = [name for name in first.columns if name not in part.columns]
        extra = [name for name in part.columns if name not in first.columns]
        if missing or extra:
            details = []
            if missing:
                details.append(f"missing {', '.join(map(repr, missing))}")
            if extra:
                details.append(f"extra {', '.join(map(repr, extra))}")
            raise TrainingDataError(
                f"{path}: columns differ from {first_path} ({'; '.join(details)}); every "
                f"--data file must have the same columns"
            )
    columns: dict[str, ColumnArray] = {}
    for name in first.columns:
        arrays = [part.columns[name] for part in parts]
        numeric = [a.dtype.kind == "f" for a in arrays]
        if all(numeric):
            columns[name] = np.concatenate(arrays)
            continue
        texts = [
            not is_numeric and _has_values(a) for a, is_numeric in zip(arrays, numeric, strict=True)
        ]
        if any(numeric) and any(texts):
            number_file = paths[numeric.index(True)]
            text_file = paths[texts.index(True)]
            raise TrainingDataError(
                f"{text_file}: column {name!r} holds text or booleans here but numbers in "
                f"{number_file}; make the files agree on the column's values"
            )
        if any(numeric):  # the rest are entirely missing
            arrays = [a if a.dtype.kind == "f" else np.full(len(a), np.nan) for a in arrays]
            columns[name] = np.concatenate(arrays)
        else:
            columns[name] = np.concatenate(arrays).astype(object, copy=False)
    outputs = tuple(dict.fromkeys(name for part in parts for name in part.outputs))
    sources = tuple(source for part in parts for source in part.sources)
    return TrainingData(columns=columns, sources=sources, outputs=outputs)


def _has_values(values: ColumnArray) -> bool:
    return any(value is not None for value in values.tolist())
