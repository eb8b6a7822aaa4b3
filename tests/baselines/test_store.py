"""The baseline store: layout, immutable versions, verified loads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.artifact import Baseline, encode_artifact
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.errors import (
    BaselineCorrupt,
    BaselineError,
    BaselineExists,
    BaselineNotFound,
)
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.store import BaselineStore, artifact_version, load_baseline


def _baseline(version: int = 1, model_id: str = "credit-risk", rows: int = 10) -> Baseline:
    return build_baseline(
        model_id,
        {"x": np.arange(float(rows)), "c": np.array(["a", "b"] * (rows // 2), dtype=object)},
        Schema(),
        version=version,
        created_at=f"2026-01-0{version}T00:00:00Z",
        labels={"data_version": f"v{version}"},
        driftwarden_version="9.9",
        allow_few_rows=True,  # small on purpose: these tests are about the store
    )


def _writable(path: Path) -> None:
    path.chmod(0o644)


def test_layout_is_model_directory_and_zero_padded_version(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    path = store.write(_baseline())
    assert path == tmp_path / "credit-risk" / "v0001.baseline.json"
    assert artifact_version(path) == 1
    assert path.read_bytes() == encode_artifact(_baseline())


def test_next_version_is_the_highest_existing_plus_one(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    assert store.next_version("credit-risk") == 1
    store.write(_baseline(1))
    assert store.next_version("credit-risk") == 2
    store.write(_baseline(5))
    assert store.versions("credit-risk") == [1, 5]
    assert store.next_version("credit-risk") == 6
    assert store.next_version("other-model") == 1


def test_written_artifacts_are_read_only_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline())
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert sorted(p.name for p in path.parent.iterdir()) == ["v0001.baseline.json"]


def test_an_existing_version_is_never_overwritten(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    path = store.write(_baseline(1, rows=10))
    original = path.read_bytes()
    with pytest.raises(BaselineExists, match=r"'credit-risk@1' already exists.*immutable.*v2"):
        store.write(_baseline(1, rows=20))
    assert path.read_bytes() == original


def test_a_version_created_concurrently_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The existence check and the write race; the link must still refuse to replace."""
    store = BaselineStore(tmp_path)
    target = store.path_for("credit-risk", 1)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"written by someone else")
    monkeypatch.setattr(Path, "exists", lambda self: False)
    with pytest.raises(BaselineExists):
        store.write(_baseline(1))
    assert target.read_bytes() == b"written by someone else"
    assert [p.name for p in target.parent.iterdir()] == ["v0001.baseline.json"]


def test_load_baseline_reads_a_file_or_the_latest_version_in_a_model_directory(
    tmp_path: Path,
) -> None:
    store = BaselineStore(tmp_path)
    first = store.write(_baseline(1))
    store.write(_baseline(2))
    assert load_baseline(first).version == 1
    assert load_baseline(tmp_path / "credit-risk").version == 2
    assert store.load("credit-risk").version == 2
    assert encode_artifact(store.load("credit-risk", 1)) == first.read_bytes()


def test_missing_paths_raise_not_found_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(BaselineNotFound, match=r"nope\.baseline\.json.*driftwarden baseline"):
        load_baseline(tmp_path / "nope.baseline.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BaselineNotFound, match="holds no v<NNNN>"):
        load_baseline(tmp_path / "empty")


def test_a_modified_artifact_is_refused_on_load(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline())
    _writable(path)
    path.write_text(path.read_text().replace('"n": 10', '"n": 11', 1))
    with pytest.raises(BaselineCorrupt, match=rf"{path}.*hash mismatch.*rebuild"):
        load_baseline(path)


def test_a_truncated_artifact_is_refused_on_load(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline())
    _writable(path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(BaselineCorrupt, match=rf"{path}.*truncated"):
        load_baseline(path)


def test_a_renamed_artifact_is_refused(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline(1))
    renamed = path.with_name("v0002.baseline.json")
    os.link(path, renamed)
    with pytest.raises(BaselineCorrupt, match=r"renamed.*v0001"):
        load_baseline(renamed)


def test_artifacts_copied_under_other_names_still_load(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline(3))
    copy = tmp_path / "credit-risk-current.json"
    copy.write_bytes(path.read_bytes())
    assert load_baseline(copy).version == 3


def test_a_model_directory_holding_another_models_artifact_is_refused(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    path = store.write(_baseline(1, model_id="fraud"))
    moved = tmp_path / "credit-risk" / "v0001.baseline.json"
    moved.parent.mkdir()
    os.link(path, moved)
    with pytest.raises(BaselineCorrupt, match="is for model 'fraud'"):
        store.load("credit-risk", 1)


def test_list_reports_every_version_with_its_details(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    store.write(_baseline(1, rows=10))
    store.write(_baseline(2, rows=20))
    store.write(_baseline(1, model_id="fraud", rows=30))
    (tmp_path / "credit-risk" / "notes.txt").write_text("ignored")
    listed = store.list()
    assert [(e.model_id, e.version, e.row_count) for e in listed] == [
        ("credit-risk", 1, 10),
        ("credit-risk", 2, 20),
        ("fraud", 1, 30),
    ]
    assert listed[1].created_at == "2026-01-02T00:00:00Z"
    assert dict(listed[1].labels) == {"data_version": "v2"}
    assert all(e.problem is None for e in listed)


def test_list_keeps_going_past_a_corrupt_artifact(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    bad = store.write(_baseline(1))
    store.write(_baseline(2))
    _writable(bad)
    bad.write_bytes(b"{")
    listed = store.list()
    assert listed[0].problem is not None
    assert "not valid JSON" in listed[0].problem
    assert listed[1].problem is None
    assert BaselineStore(tmp_path / "absent").list() == []


def test_model_ids_that_are_not_directory_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot name a baseline"):
        BaselineStore(tmp_path).next_version("../outside")
