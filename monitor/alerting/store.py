"""Where alert state lives: a small key -> bytes store with two backends.

The pipeline keeps three kinds of pieces, each under its own key:

- `state`: incidents, groups, what each receiver received, the digest;
- `outbox/<seq>`: one pending notification each (12 digits, so keys sort in order);
- `silences`: the silences `driftwarden silence add` wrote.

A store does not know what the bytes mean (`state.py` decodes them); it only
promises that `write` is durable when it returns, and that `load` gives back
the latest value of every key. Two backends:

- `DirectoryAlertStore`: the files the pipeline has always written
  (`alerting-state.json`, `outbox/<seq>.json`, `silences.json`), each replaced
  atomically. For the StatefulSet mode (a PVC) and for single hosts.
- `KafkaAlertStore` (`kafka_store.py`): keyed records in the compacted
  checkpoint topic, for the Deployment mode, where the pod has no writable disk.

`open_alert_store(settings)` picks one: an explicit `alerting.state_directory`
forces the directory, otherwise the store follows `checkpoint.backend`, so alert
state always lives next to the window checkpoints and survives exactly what they
survive.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol

from driftwarden.errors import DriftwardenError
from driftwarden.monitor.config import Settings

STATE_KEY: Final = "state"
SILENCES_KEY: Final = "silences"
OUTBOX_PREFIX: Final = "outbox/"

STATE_FILE: Final = "alerting-state.json"
SILENCES_FILE: Final = "silences.json"
OUTBOX_DIR: Final = "outbox"

FaultHook = Callable[[str, str | None], None]
"""`on_store_fault(component, error)`, called from the thread that hit the fault.

- component `alert_state` is a condition: `error` set on every failed write attempt
  (so a counter can count them), then `None` once every kept write is written
  (recovered). A readiness check can say "degraded" in between.
- component `alert_state_corrupt` is an event, never followed by `None`: a piece
  could not be read and was set aside; the daemon goes on with that piece empty.
"""

WRITE_FAULT: Final = "alert_state"
CORRUPT: Final = "alert_state_corrupt"


class AlertStateError(DriftwardenError):
    """Alert state cannot be written or read now (full disk, no broker); usually transient."""

    retryable = True


def outbox_key(seq: int) -> str:
    return f"{OUTBOX_PREFIX}{seq:012d}"


def outbox_seq(key: str) -> int | None:
    """The sequence number of an outbox key, None for any other key."""
    if not key.startswith(OUTBOX_PREFIX):
        return None
    digits = key[len(OUTBOX_PREFIX) :]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def is_alert_key(key: str) -> bool:
    return key in (STATE_KEY, SILENCES_KEY) or outbox_seq(key) is not None


class AlertStateStore(Protocol):
    """A key -> bytes store for alert state. Callers serialise access (the pipeline's lock)."""

    @property
    def where(self) -> str:
        """Where the state lives, for log lines and messages (never a secret)."""

    def load(self) -> dict[str, bytes]:
        """The latest value of every key (deleted keys absent)."""

    def write(self, changes: Mapping[str, bytes | None]) -> None:
        """Put (bytes) or delete (None) keys, durably before returning.

        Raises `AlertStateError` (or `OSError`) when it cannot; nothing is
        half-written per key, but earlier keys of the batch may have landed.
        """

    def poll(self) -> dict[str, bytes | None]:
        """Keys changed since `load` or the last `poll`, by anyone (at least `silences`)."""

    def quarantine(self, key: str, reason: str) -> str:
        """Move a piece that cannot be decoded out of the way; returns where it went."""

    def close(self) -> None:
        """Release files, connections, threads."""


class DirectoryAlertStore:
    """The alert state as files in one directory (the format of every earlier release).

    Each write goes to a temporary file in the same directory, is fsynced, then
    renamed over the old one, and the directory is fsynced too: a crash or a
    power cut leaves the old or the new file, never half of one. `poll` watches
    `silences.json` (the only file another process writes) by mtime, size and
    inode, so a running daemon sees a CLI change without re-reading every time.
    """

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._dir = directory
        self._clock = clock
        self._silences_stamp: tuple[int, int, int] | None = None

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def where(self) -> str:
        return f"directory {self._dir}"

    def _path(self, key: str) -> Path:
        if key == STATE_KEY:
            return self._dir / STATE_FILE
        if key == SILENCES_KEY:
            return self._dir / SILENCES_FILE
        seq = outbox_seq(key)
        if seq is None:
            raise ValueError(f"not an alert state key: {key!r}")
        return self._dir / OUTBOX_DIR / f"{seq:012d}.json"

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self._dir / SILENCES_FILE).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def load(self) -> dict[str, bytes]:
        try:
            return self._load()
        except OSError as exc:
            raise AlertStateError(
                f"alert state directory {self._dir} cannot be read ({exc.strerror or exc}); "
                "check its permissions and the volume, or point alerting.state_directory "
                "at a readable, writable directory"
            ) from None

    def _load(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        self._silences_stamp = self._stamp()
        for key in (STATE_KEY, SILENCES_KEY):
            with contextlib.suppress(FileNotFoundError):
                out[key] = self._path(key).read_bytes()
        try:
            names = sorted(os.listdir(self._dir / OUTBOX_DIR))
        except FileNotFoundError:
            names = []
        for name in names:
            stem, dot, ext = name.partition(".")
            if dot and ext == "json" and stem.isdigit():  # not .tmp files, not .corrupt-*
                with contextlib.suppress(FileNotFoundError):
                    out[outbox_key(int(stem))] = (self._dir / OUTBOX_DIR / name).read_bytes()
        return out

    def write(self, changes: Mapping[str, bytes | None]) -> None:
        for key, value in changes.items():
            path = self._path(key)
            if value is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                write_atomic(path, value)
            if key == SILENCES_KEY:
                self._silences_stamp = self._stamp()

    def poll(self) -> dict[str, bytes | None]:
        stamp = self._stamp()
        if stamp == self._silences_stamp:
            return {}
        self._silences_stamp = stamp
        if stamp is None:
            return {SILENCES_KEY: None}
        try:
            return {SILENCES_KEY: (self._dir / SILENCES_FILE).read_bytes()}
        except FileNotFoundError:
            return {SILENCES_KEY: None}

    def quarantine(self, key: str, reason: str) -> str:
        """Rename the file to `<name>.corrupt-<UTC timestamp>`, kept for a post-mortem."""
        path = self._path(key)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, target)
        return str(target)

    def close(self) -> None:
        """Nothing to release: every write opens and closes its own file."""


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync the directory (see `DirectoryAlertStore`)."""
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


def state_directory(settings: Settings) -> Path:
    """`alerting.state_directory`, else `alerting/` next to the checkpoints."""
    if settings.alerting.state_directory is not None:
        return settings.alerting.state_directory
    return settings.checkpoint.directory.parent / "alerting"


def uses_kafka(settings: Settings) -> bool:
    """Alert state goes to the checkpoint topic unless a directory is forced."""
    return settings.alerting.state_directory is None and settings.checkpoint.backend == "kafka"


def open_alert_store(settings: Settings) -> AlertStateStore:
    """The store for this configuration (see the module docstring)."""
    if uses_kafka(settings):
        from driftwarden.monitor.alerting.kafka_store import KafkaAlertStore  # noqa: PLC0415 - kafka import
        from driftwarden.monitor.kafka.client import KafkaClientConfig  # noqa: PLC0415

        return KafkaAlertStore(
            KafkaClientConfig.from_settings(settings.kafka),
            settings.checkpoint,
            group_id=settings.kafka.group_id,
        )
    return DirectoryAlertStore(state_directory(settings))
