"""A directory of immutable, versioned baseline artifacts.

Layout: `<root>/<model_id>/v<version:04d>.baseline.json`, for instance
`baselines/credit-risk/v0003.baseline.json`. Versions only go up: the next one
is the highest existing version plus one, starting at 1, and a version that
exists is never overwritten. Writes go to a temporary file in the same
directory, are fsynced, made read-only (0444) and then hard-linked into place,
which fails instead of replacing when the name is taken; readers therefore see
either no file or the complete one. Every load verifies the content hash, the
body's shape and the training-row floor, and the signature when given a key;
a write refuses what a load would refuse.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from driftwarden.baselines.artifact import (
    Baseline,
    check_model_id,
    decode_artifact,
    encode_artifact,
)
from driftwarden.baselines.errors import (
    BaselineCorrupt,
    BaselineError,
    BaselineExists,
    BaselineNotFound,
)
from driftwarden.baselines.signing import BaselineKey
from driftwarden.baselines.validation import check_row_floor

ARTIFACT_SUFFIX = ".baseline.json"
_ARTIFACT_NAME = re.compile(r"^v(\d{4,})\.baseline\.json$")
READ_ONLY = 0o444


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One artifact in a store, as `list()` reports it.

    `problem` is set (and the other details are empty) when the file does not
    load, so one bad artifact does not hide the rest of the listing.
    """

    model_id: str
    version: int
    path: Path
    created_at: str = ""
    row_count: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None


def artifact_name(version: int) -> str:
    return f"v{version:04d}{ARTIFACT_SUFFIX}"


def artifact_version(path: Path) -> int | None:
    """The version a file name claims (`v0003.baseline.json` -> 3), or None."""
    match = _ARTIFACT_NAME.fullmatch(path.name)
    return int(match.group(1)) if match else None


class BaselineStore:
    """Baselines under one root directory, one sub-directory per model."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, model_id: str, version: int) -> Path:
        return self.root / check_model_id(model_id) / artifact_name(version)

    def versions(self, model_id: str) -> list[int]:
        """Existing versions of a model, ascending (empty when there are none)."""
        return _versions_in(self.root / check_model_id(model_id))

    def next_version(self, model_id: str) -> int:
        existing = self.versions(model_id)
        return existing[-1] + 1 if existing else 1

    def write(self, baseline: Baseline, *, key: BaselineKey | None = None) -> Path:
        """Write a new version, signed with `key` if given; refuse if that version is taken."""
        path = self.path_for(baseline.model_id, baseline.version)
        if path.exists():
            raise self._exists(baseline, path)
        check_row_floor(
            ref=baseline.ref,
            source=str(path),
            row_count=baseline.row_count,
            few_rows_accepted=baseline.few_rows_accepted,
        )
        data = encode_artifact(baseline, key=key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_exclusive(path, data)
        except FileExistsError:
            raise self._exists(baseline, path) from None
        except OSError as exc:
            raise BaselineError(
                f"cannot write baseline '{baseline.ref}' to {path} ({exc.strerror}); check "
                f"that the --output directory is writable"
            ) from None
        return path

    def load(
        self, model_id: str, version: int | None = None, *, key: BaselineKey | None = None
    ) -> Baseline:
        """A stored version (the latest when `version` is None), verified."""
        if version is None:
            return load_baseline(self.root / check_model_id(model_id), key=key)
        baseline = load_baseline(self.path_for(model_id, version), key=key)
        if baseline.model_id != model_id:
            raise BaselineCorrupt(
                f"baseline {self.path_for(model_id, version)} is for model "
                f"{baseline.model_id!r}, not {model_id!r}: the file was moved; put it back "
                f"under {self.root / baseline.model_id}"
            )
        return baseline

    def list(self, *, key: BaselineKey | None = None) -> list[StoredVersion]:
        """Every artifact in the store, by model id then version."""
        listed: list[StoredVersion] = []
        if not self.root.is_dir():
            return listed
        for model_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for version in _versions_in(model_dir):
                path = model_dir / artifact_name(version)
                try:
                    baseline = load_baseline(path, key=key)
                except BaselineError as exc:
                    listed.append(StoredVersion(model_dir.name, version, path, problem=str(exc)))
                    continue
                listed.append(
                    StoredVersion(
                        model_id=model_dir.name,
                        version=version,
                        path=path,
                        created_at=baseline.created_at,
                        row_count=baseline.row_count,
                        labels=baseline.labels,
                    )
                )
        return listed

    def _exists(self, baseline: Baseline, path: Path) -> BaselineExists:
        return BaselineExists(
            f"baseline '{baseline.ref}' already exists at {path}; versions are immutable: "
            f"build without --version to write the next one "
            f"(v{self.next_version(baseline.model_id)})"
        )


def load_baseline(path: Path | str, *, key: BaselineKey | None = None) -> Baseline:
    """Load and verify an artifact file, or the latest version in a model directory.

    With `key`, an unsigned artifact or one whose signature does not match is refused.
    """
    path = Path(path)
    if path.is_dir():
        versions = _versions_in(path)
        if not versions:
            raise BaselineNotFound(
                f"baseline directory {path} holds no v<NNNN>{ARTIFACT_SUFFIX} files; point at "
                f"a model directory written by 'driftwarden baseline build' or at one artifact"
            )
        path = path / artifact_name(versions[-1])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BaselineNotFound(
            f"baseline {path}: no such file or directory; build one with 'driftwarden baseline "
            f"build' or fix the path (list a store with 'driftwarden baseline list DIR')"
        ) from None
    except OSError as exc:
        raise BaselineNotFound(
            f"baseline {path}: cannot read it ({exc.strerror}); check the path and permissions"
        ) from None
    baseline = decode_artifact(data, source=str(path), key=key)
    claimed = artifact_version(path)
    if claimed is not None and claimed != baseline.version:
        raise BaselineCorrupt(
            f"baseline {path}: the file name says version {claimed} but the artifact is "
            f"'{baseline.ref}'; the file was renamed; restore its original name "
            f"({artifact_name(baseline.version)})"
        )
    return baseline


def _versions_in(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    found = (artifact_version(p) for p in directory.iterdir())
    return sorted(v for v in found if v is not None)


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create `path` with `data`, atomically and never replacing an existing file."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(READ_ONLY)
        try:
            os.link(temp, path)  # fails with FileExistsError instead of replacing
        except FileExistsError:
            raise
        except OSError:
            # A file system without hard links: fall back to an exclusive create.
            # A reader may then briefly see a partial file, which the content hash
            # refuses, so it is never mistaken for a baseline.
            _create_exclusive(path, data)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _create_exclusive(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
