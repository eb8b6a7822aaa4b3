"""Reading training data from CSV, JSON lines and Parquet into one column table."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.baselines.errors import TrainingDataError
from driftwarden.baselines.readers import (
    SUPPORTED_FORMATS,
    data_format,
    read_training_data,
    read_training_file,
)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _values(array: np.ndarray[Any, Any]) -> list[Any]:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in array.tolist()]


def test_csv_numbers_are_float64_and_text_is_objects_with_none_for_missing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "train.csv"
    path.write_text("amount,country,flag\n12.5,US,true\n,NA,false\n7,,\n")
    data = read_training_file(path)
    assert data.columns["amount"].dtype == np.float64
    assert _values(data.columns["amount"]) == [12.5, None, 7.0]
    assert data.columns["country"].tolist() == ["US", "NA", None]  # NA is Namibia
    assert data.columns["flag"].tolist() == [True, False, None]
    assert data.row_count == 3
    (source,) = data.sources
    assert source.name == "train.csv"
    assert source.rows == 3
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_event_identifiers_are_never_columns(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("model_id,timestamp,request_id,x\nm,2026-01-05T00:00:00Z,r-1,1\n")
    assert list(read_training_file(path).columns) == ["x"]


def test_skipped_columns_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("x,signup,y\n1,2026-01-05,a\n")
    assert list(read_training_file(path, skip={"signup"}).columns) == ["x", "y"]


def test_columns_of_unsupported_types_name_the_file_column_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("x,signup\n1,2026-01-05\n")
    with pytest.raises(TrainingDataError, match=r"train\.csv: column 'signup' has type date32"):
        read_training_file(path)


def test_gzipped_csv_is_read_transparently(tmp_path: Path) -> None:
    path = tmp_path / "train.csv.gz"
    path.write_bytes(gzip.compress(b"x,y\n1,a\n2,b\n"))
    data = read_training_file(path)
    assert data.columns["x"].tolist() == [1.0, 2.0]


def test_jsonl_flattens_features_and_prediction_and_keeps_top_level_scalars(
    tmp_path: Path,
) -> None:
    path = _write_jsonl(
        tmp_path / "events.jsonl",
        [
            {
                "model_id": "credit-risk",
                "timestamp": "2026-01-05T00:00:00Z",
                "request_id": "r-1",
                "segment": "retail",
                "features": {"amount": 10.5, "country": "US"},
                "prediction": {"score": 0.3, "label": "approve"},
            },
            {
                "segment": "retail",
                "features": {"amount": 7, "country": None},
                "prediction": {"score": 0.9, "label": "decline"},
            },
            {"segment": "sme", "features": {"country": "DE"}, "prediction": None},
        ],
    )
    data = read_training_file(path)
    assert list(data.columns) == ["segment", "amount", "country", "score", "label"]
    assert _values(data.columns["amount"]) == [10.5, 7.0, None]
    assert data.columns["country"].tolist() == ["US", None, "DE"]
    assert _values(data.columns["score"]) == [0.3, 0.9, None]
    assert data.outputs == ("score", "label")


def test_jsonl_key_in_two_places_is_refused(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "x.jsonl", [{"amount": 1, "features": {"amount": 2}}])
    with pytest.raises(TrainingDataError, match=r"'amount' appears both as 'amount'"):
        read_training_file(path)


def test_other_nested_objects_are_refused_unless_ignored(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "x.jsonl", [{"meta": {"a": 1}, "features": {"x": 1}}])
    with pytest.raises(TrainingDataError, match=r"'meta' has type struct.*under features"):
        read_training_file(path)
    assert list(read_training_file(path, skip={"meta"}).columns) == ["x"]


def test_jsonl_with_a_value_of_the_wrong_type_names_the_file(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "bad.jsonl", [{"features": {"x": 1}}, {"features": {"x": "one"}}]
    )
    with pytest.raises(TrainingDataError, match=r"bad\.jsonl: cannot read it as JSON lines"):
        read_training_file(path)


def test_parquet_struct_and_dictionary_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "features": pa.array(
                [{"amount": 1.5, "n": 2}, {"amount": None, "n": 3}],
                type=pa.struct([("amount", pa.float64()), ("n", pa.int32())]),
            ),
            "channel": pa.array(["web", "branch"]).dictionary_encode(),
            "prediction": pa.array([{"score": 0.1}, {"score": 0.2}]),
        }
    )
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    data = read_training_file(path)
    assert list(data.columns) == ["amount", "n", "channel", "score"]
    assert data.columns["n"].tolist() == [2.0, 3.0]
    assert data.columns["channel"].tolist() == ["web", "branch"]
    assert data.outputs == ("score",)


def test_several_files_are_concatenated_in_order(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("x,c\n1,a\n2,b\n")
    second = _write_jsonl(tmp_path / "b.jsonl", [{"c": "z", "x": 3.5}])
    data = read_training_data([first, second])
    assert data.columns["x"].tolist() == [1.0, 2.0, 3.5]
    assert data.columns["c"].tolist() == ["a", "b", "z"]
    assert [s.name for s in data.sources] == ["a.csv", "b.jsonl"]
    assert data.row_count == 3


def test_a_column_missing_everywhere_in_one_file_still_concatenates(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("x,c\n1,a\n")
    second = tmp_path / "b.csv"
    second.write_text("x,c\n,\n")
    data = read_training_data([first, second])
    assert _values(data.columns["x"]) == [1.0, None]
    assert data.columns["c"].tolist() == ["a", None]


def test_files_with_different_columns_are_refused_naming_file_and_column(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("x,c\n1,a\n")
    second = tmp_path / "b.csv"
    second.write_text("x,d\n1,a\n")
    with pytest.raises(TrainingDataError, match=r"b\.csv: columns differ.*missing 'c'.*extra 'd'"):
        read_training_data([first, second])


def test_files_disagreeing_on_a_columns_kind_are_refused(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("x\n1\n")
    second = tmp_path / "b.csv"
    second.write_text("x\nabc\n")
    with pytest.raises(TrainingDataError, match=r"b\.csv: column 'x' holds text.*numbers in"):
        read_training_data([first, second])


def test_unknown_extensions_name_the_file_and_the_supported_formats(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match=r"train\.xlsx: unknown.*\.csv, .*\.parquet"):
        read_training_data([tmp_path / "train.xlsx"])
    assert data_format(Path("x.NDJSON.gz")) == "JSON lines"
    assert set(SUPPORTED_FORMATS.values()) == {"CSV", "JSON lines", "Parquet"}


def test_missing_files_and_no_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match=r"absent\.csv: no such file"):
        read_training_data([tmp_path / "absent.csv"])
    with pytest.raises(TrainingDataError, match="at least one --data"):
        read_training_data([])
