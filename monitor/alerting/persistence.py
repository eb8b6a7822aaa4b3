"""Atomic JSON files: the only way alerting state touches the disk.

Write to a temporary file in the same directory, fsync, then `os.replace`: a
crash leaves either the old or the new file, never half of one. The directory is
fsynced too so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TypeVar

import msgspec

from monitor.errors import ConfigError

T = TypeVar("T")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_struct(path: Path, value: object) -> None:
    write_atomic(path, msgspec.json.encode(value))


def load_struct(path: Path, kind: type[T]) -> T | None:
    """The decoded file, or None when it does not exist; a corrupt file is a clear error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(
            f"alerting state file {path} cannot be read ({exc}); move it aside to start with "
            "empty alert state (open incidents will be re-notified once)"
        ) from None
