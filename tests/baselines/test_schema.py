"""Column kinds and roles: inferred from the data, overridden by a schema file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftwarden.baselines.errors import SchemaError, TrainingDataError
from driftwarden.baselines.schema import (
    RESERVED_COLUMNS,
    ColumnSpec,
    ResolvedColumn,
    Schema,
    infer_kind,
    load_schema,
    resolve_columns,
)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (np.array([1, 2, 3]), "numeric"),
        (np.array([1.5, np.nan]), "numeric"),
        (np.array([True, False]), "categorical"),
        (np.array(["a", "b"]), "categorical"),
        (np.array(["a", None, True], dtype=object), "categorical"),
        (np.array([1, None, 2.5], dtype=object), "numeric"),
        (np.array(["02134", "10001"], dtype=object), "categorical"),
    ],
)
def test_kinds_are_inferred_from_the_values(values: np.ndarray[Any, Any], kind: str) -> None:
    assert infer_kind("x", values) == kind


def test_numbers_mixed_with_text_are_refused_with_the_schema_fix() -> None:
    with pytest.raises(TrainingDataError, match=r"'x' mixes numbers.*kind: categorical"):
        infer_kind("x", np.array([1, "a"], dtype=object))


def test_text_that_is_mostly_numbers_is_refused() -> None:
    values = np.array([str(i) for i in range(30)] + ["n/a"], dtype=object)
    with pytest.raises(TrainingDataError, match=r"'amount' looks numeric \(96\.8%.*'n/a'"):
        infer_kind("amount", values)


@pytest.mark.parametrize("values", [[None, None], [None, float("nan")], [np.float32("nan")]])
def test_a_column_missing_everywhere_has_no_inferable_kind(values: list[object]) -> None:
    with pytest.raises(TrainingDataError, match="missing in every row"):
        infer_kind("x", np.array(values, dtype=object))


def test_unbinnable_values_are_refused() -> None:
    with pytest.raises(TrainingDataError, match="holds dict values"):
        infer_kind("x", np.array([{"a": 1}], dtype=object))


def test_schema_files_in_yaml_and_json_mean_the_same(tmp_path: Path) -> None:
    yaml_path = tmp_path / "schema.yaml"
    yaml_path.write_text(
        "columns:\n  branch: {kind: categorical}\n  score: {role: output}\n"
        "outputs: [label]\nignore: [customer_id]\n"
    )
    json_path = tmp_path / "schema.json"
    json_path.write_text(
        '{"columns": {"branch": {"kind": "categorical"}, "score": {"role": "output"}},'
        ' "outputs": ["label"], "ignore": ["customer_id"]}'
    )
    expected = Schema(
        columns={"branch": ColumnSpec(kind="categorical"), "score": ColumnSpec(role="output")},
        outputs=("label",),
        ignore=("customer_id",),
    )
    assert load_schema(yaml_path) == expected
    assert load_schema(json_path) == expected
    assert expected.skipped == RESERVED_COLUMNS | {"customer_id"}


def test_an_empty_schema_file_is_the_empty_schema(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("")
    assert load_schema(path) == Schema()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colums: {}", r"colums: unknown key"),
        ("columns: {x: {kind: text}}", r"columns\.x\.kind"),
        ("outputs: [timestamp]", "identify events"),
        ("columns: {x: {}}\nignore: [x]", "listed under 'ignore' and also described"),
        ("columns: {x: {role: feature}}\noutputs: [x]", "has role: feature"),
        ("- a\n- b", "expected a mapping"),
        ("columns: {", "not valid YAML"),
    ],
)
def test_bad_schema_files_are_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    with pytest.raises(SchemaError, match=rf"schema {path}: .*{message}"):
        load_schema(path)


def test_an_unreadable_schema_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read it"):
        load_schema(tmp_path / "absent.yaml")


def _table() -> dict[str, np.ndarray[Any, Any]]:
    return {
        "score": np.array([0.1, 0.9]),
        "amount": np.array([1.0, 2.0]),
        "label": np.array(["approve", "decline"], dtype=object),
        "branch": np.array([7, 12]),
        "customer_id": np.array(["c1", "c2"], dtype=object),
    }


def test_resolve_puts_features_first_then_outputs_in_data_order() -> None:
    schema = Schema(
        columns={"branch": ColumnSpec(kind="categorical")},
        ignore=("customer_id",),
    ).with_outputs(["label", "score"])
    assert resolve_columns(_table(), schema) == (
        ResolvedColumn("amount", "numeric", "feature"),
        ResolvedColumn("branch", "categorical", "feature"),
        ResolvedColumn("score", "numeric", "output"),
        ResolvedColumn("label", "categorical", "output"),
    )


def test_reader_outputs_are_outputs_unless_the_schema_says_feature() -> None:
    schema = Schema(columns={"score": ColumnSpec(role="feature")}, ignore=("customer_id",))
    resolved = resolve_columns(_table(), schema, default_outputs=("score", "label"))
    roles = {c.name: c.role for c in resolved}
    assert roles == {
        "amount": "feature",
        "branch": "feature",
        "score": "feature",
        "label": "output",
    }


def test_schema_names_absent_from_the_data_are_refused() -> None:
    with pytest.raises(SchemaError, match=r"'scroe' but the training data has no such column"):
        resolve_columns(_table(), Schema(outputs=("scroe",)))


def test_outputs_conflicting_with_the_schema_are_refused() -> None:
    schema = Schema(columns={"score": ColumnSpec(role="feature")})
    with pytest.raises(SchemaError, match=r"--outputs: .*has role: feature"):
        schema.with_outputs(["score"])
