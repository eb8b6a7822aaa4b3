"""Checkpoints: the engine's state together with the offsets it covers, saved atomically.

Why both in one record: the daemon promises at-least-once reading with *exact*
state. After a crash it must restore state that counted exactly the records
before the saved offsets, then read on from those offsets. Saving state and
offsets separately would let a crash fall between the two writes and count some
records twice or not at all. Group offsets are committed to Kafka only after the
checkpoint is safe, for lag tooling; the checkpoint is the source of truth.

One checkpoint belongs to one group member and the partitions it owned at the
time ("member key" = group id + those partitions). When partitions move between
members, the new owner restores each partition from the checkpoint that holds it
at the highest offset (`latest_per_partition`): any checkpoint's state for a
partition is consistent with its offset for that partition, so the one that got
furthest wins and nothing is counted twice, whoever wrote it. Older member keys
whose every partition is covered further elsewhere are `superseded` and deleted.

Wire format (version 1), identical in files and topic values::

    b"DWCP" | u16 version | u32 header length | header (UTF-8 JSON) | state | sha256

The header holds group id, fingerprint, created-at, offsets and the state's
length; the trailing SHA-256 covers every byte before it, so a torn or modified
checkpoint is detected and skipped instead of restoring garbage.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import structlog

from driftwarden.monitor.config import CheckpointSettings
from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.kafka.client import KafkaClientConfig

log = structlog.get_logger(__name__)

Partition = tuple[str, int]
"""(topic, partition). kafka-python's TopicPartition is a namedtuple and compares equal."""

MAGIC: Final = b"DWCP"
VERSION: Final = 1
_PREFIX = struct.Struct(">4sHI")
_DIGEST_LEN: Final = 32


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Opaque engine state plus the next offset to read for each partition it covers.

    `offsets[p]` is the offset of the first record of `p` *not* reflected in
    `state`. `fingerprint` identifies the configuration the state was built
    under (baselines, windows); state from another configuration is not restored.
    `created_at` is wall-clock unix time, informational and a tie-breaker.
    """

    group_id: str
    offsets: Mapping[Partition, int]
    state: bytes
    fingerprint: str
    created_at: float = field(default_factory=time.time)

    @property
    def partitions(self) -> frozenset[Partition]:
        return frozenset(self.offsets)

    @property
    def key(self) -> str:
        return member_key(self.group_id, self.offsets)


def member_key(group_id: str, partitions: Iterable[Partition]) -> str:
    """`group|topic:0,1;other:3`: one key per member and the partitions it owned.

    Topic names cannot contain `|`, `:`, `,` or `;`, so the key is unambiguous
    whatever characters the group id holds.
    """
    by_topic: dict[str, list[int]] = {}
    for topic, partition in partitions:
        by_topic.setdefault(topic, []).append(partition)
    body = ";".join(
        f"{topic}:{','.join(str(p) for p in sorted(set(parts)))}"
        for topic, parts in sorted(by_topic.items())
    )
    return f"{group_id}|{body}"


def encode(checkpoint: Checkpoint) -> bytes:
    """The versioned, checksummed bytes of `checkpoint` (see the module docstring)."""
    header = {
        "group_id": checkpoint.group_id,
        "fingerprint": checkpoint.fingerprint,
        "created_at": checkpoint.created_at,
        "offsets": [[t, p, o] for (t, p), o in sorted(checkpoint.offsets.items())],
        "state_length": len(checkpoint.state),
    }
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    body = _PREFIX.pack(MAGIC, VERSION, len(head)) + head + checkpoint.state
    return body + hashlib.sha256(body).digest()


def decode(data: bytes) -> Checkpoint:
    """Parse and verify checkpoint bytes; `CheckpointError` says what is wrong."""
    if len(data) < _PREFIX.size + _DIGEST_LEN:
        raise CheckpointError(f"checkpoint truncated: {len(data)} bytes")
    magic, version, head_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointError("not a driftwarden checkpoint (bad magic)")
    if version != VERSION:
        raise CheckpointError(
            f"checkpoint format version {version} is not supported (this build reads "
            f"{VERSION}); run the driftwarden version that wrote it, or delete it to start afresh"
        )
    body, digest = data[:-_DIGEST_LEN], data[-_DIGEST_LEN:]
    if hashlib.sha256(body).digest() != digest:
        raise CheckpointError("checkpoint checksum mismatch: torn write or modified file")
    head_end = _PREFIX.size + head_len
    try:
        header = json.loads(body[_PREFIX.size : head_end].decode("utf-8"))
        state = body[head_end:]
        if header["state_length"] != len(state):
            raise CheckpointError("checkpoint state length does not match its header")
        offsets = {(str(t), int(p)): int(o) for t, p, o in header["offsets"]}
        return Checkpoint(
            group_id=str(header["group_id"]),
            offsets=offsets,
            state=bytes(state),
            fingerprint=str(header["fingerprint"]),
            created_at=float(header["created_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint header unreadable: {exc}") from None


def _rank(checkpoint: Checkpoint, partition: Partition) -> tuple[int, float]:
    return (checkpoint.offsets[partition], checkpoint.created_at)


def latest_per_partition(checkpoints: Iterable[Checkpoint]) -> dict[Partition, Checkpoint]:
    """For each partition, the checkpoint that read it furthest (newest on a tie)."""
    best: dict[Partition, Checkpoint] = {}
    for cp in checkpoints:
        for partition in cp.offsets:
            current = best.get(partition)
            if current is None or _rank(cp, partition) > _rank(current, partition):
                best[partition] = cp
    return best


def superseded(checkpoints: Iterable[Checkpoint]) -> list[Checkpoint]:
    """Checkpoints that `latest_per_partition` would pick for none of their partitions."""
    items = list(checkpoints)
    chosen = {id(cp) for cp in latest_per_partition(items).values()}
    return [cp for cp in items if id(cp) not in chosen]


class CheckpointStore(Protocol):
    """Where checkpoints live. Implementations are used from one thread at a time."""

    def save(self, checkpoint: Checkpoint) -> None:
        """Durably store `checkpoint` before returning; `CheckpointError` if not possible."""

    def load(self, group_id: str) -> list[Checkpoint]:
        """The newest valid checkpoint of each member key of `group_id`."""

    def discard(self, checkpoint: Checkpoint) -> None:
        """Forget every checkpoint under `checkpoint.key` (it is superseded)."""

    def close(self) -> None:
        """Release connections or handles."""


# --- directory backend ---------------------------------------------------------------


class DirectoryCheckpointStore:
    """Checkpoints as files: `<directory>/<member-key digest>/<sequence>.dwcp`.

    A save writes a temporary file, fsyncs it, renames it into place and fsyncs
    the directory, so a crash leaves either the old or the new checkpoint, never
    a half-written one under a final name. A save that fails (ENOSPC, EMFILE,
    EIO) removes its temporary file, so retries on a full disk do not fill it
    further, and raises `CheckpointError`; the older checkpoints stay.

    The last `keep` checkpoints per member key are kept: when the newest is
    unreadable anyway (disk corruption, a torn write on a filesystem that
    ignores fsync), `load` falls back to the one before instead of losing all
    state, and moves the corrupt file aside (`.corrupt-<name>`, kept for
    inspection, never read again) with an error log line and a call of
    `on_fault("checkpoint", message)`, which the daemon points at
    `StorageFaults.on_store_fault` (cleared by the next successful checkpoint).
    A directory that cannot be read is skipped the same way: start-up never
    blocks on one bad file; what is lost is the progress since the last good
    checkpoint of that member key, which is read again from Kafka.
    """

    SUFFIX: Final = ".dwcp"
    _TMP_PREFIX: Final = ".tmp-"
    _CORRUPT_PREFIX: Final = ".corrupt-"
    _STALE_TMP_SECONDS: Final = 600.0

    def __init__(
        self,
        directory: Path,
        *,
        keep: int = 3,
        on_fault: Callable[[str, str | None], None] | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._directory = directory
        self._keep = keep
        self._on_fault = on_fault

    @classmethod
    def from_settings(
        cls,
        settings: CheckpointSettings,
        *,
        on_fault: Callable[[str, str | None], None] | None = None,
    ) -> DirectoryCheckpointStore:
        return cls(settings.directory, keep=settings.keep, on_fault=on_fault)

    @property
    def directory(self) -> Path:
        return self._directory

    def _key_dir(self, key: str) -> Path:
        return self._directory / hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def save(self, checkpoint: Checkpoint) -> None:
        data = encode(checkpoint)
        key_dir = self._key_dir(checkpoint.key)
        try:
            created = _mkdirs(key_dir)
            for parent in created:
                _fsync_dir(parent.parent)
            sequence = max((seq for seq, _ in self._files(key_dir)), default=0) + 1
            final = key_dir / f"{sequence:016d}{self.SUFFIX}"
            tmp = key_dir / f"{self._TMP_PREFIX}{sequence:016d}-{uuid.uuid4().hex}"
            self._write_new(tmp, data)
            os.replace(tmp, final)
            _fsync_dir(key_dir)
        except OSError as exc:
            raise CheckpointError(
                f"cannot write checkpoint into {key_dir}: {exc.strerror or exc}; check that "
                "checkpoint.directory is a writable, mounted volume with free space"
            ) from None
        try:
            self._prune(key_dir)
        except OSError as exc:  # the new checkpoint is durable; pruning retries next save
            log.warning("checkpoint_prune_failed", directory=str(key_dir), error=exc.strerror)

    @staticmethod
    def _write_new(tmp: Path, data: bytes) -> None:
        """Write and fsync `tmp`; on failure remove it, so no partial file holds space."""
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def _prune(self, key_dir: Path) -> None:
        files = self._files(key_dir)
        for _, path in files[: -self._keep]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        now = time.time()
        for tmp in key_dir.glob(f"{self._TMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                if now - tmp.stat().st_mtime > self._STALE_TMP_SECONDS:
                    tmp.unlink()

    def _files(self, key_dir: Path) -> list[tuple[int, Path]]:
        """Checkpoint files in write order (oldest first); temporary files excluded."""
        out: list[tuple[int, Path]] = []
        try:
            entries = list(key_dir.iterdir())
        except FileNotFoundError:
            return out
        for path in entries:
            if path.name.endswith(self.SUFFIX) and not path.name.startswith("."):
                stem = path.name[: -len(self.SUFFIX)]
                if stem.isdigit():
                    out.append((int(stem), path))
        out.sort()
        return out

    def _load_key_dir(self, key_dir: Path) -> Checkpoint | None:
        try:
            files = self._files(key_dir)
        except OSError as exc:
            self._fault(f"checkpoint directory {key_dir} unreadable ({exc.strerror}); skipped")
            return None
        for _, path in reversed(files):
            try:
                return decode(path.read_bytes())
            except FileNotFoundError:
                continue  # pruned by a concurrent writer
            except CheckpointError as exc:
                self._move_aside(path, str(exc))
            except OSError as exc:  # perhaps transient (EIO, EMFILE): left in place
                log.warning("checkpoint_skipped", path=str(path), reason=exc.strerror)
        return None

    def _move_aside(self, path: Path, reason: str) -> None:
        aside = path.with_name(f"{self._CORRUPT_PREFIX}{path.name}")
        try:
            path.rename(aside)
        except OSError as exc:
            aside_note = f"not moved aside ({exc.strerror})"
        else:
            aside_note = f"moved aside to {aside.name}"
        log.error(
            "checkpoint_corrupt",
            path=str(path),
            reason=reason,
            moved_to=str(aside) if aside.exists() else None,
            fallback="the previous checkpoint of this member key, else an empty state",
        )
        self._fault(f"corrupt checkpoint {path.name} {aside_note}: {reason}")

    def _fault(self, message: str) -> None:
        if self._on_fault is not None:
            self._on_fault("checkpoint", message)

    def load(self, group_id: str) -> list[Checkpoint]:
        try:
            key_dirs = sorted(p for p in self._directory.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CheckpointError(
                f"cannot list checkpoint directory {self._directory}: {exc.strerror}"
            ) from None
        found = []
        for key_dir in key_dirs:
            checkpoint = self._load_key_dir(key_dir)
            if checkpoint is not None and checkpoint.group_id == group_id:
                found.append(checkpoint)
        return found

    def discard(self, checkpoint: Checkpoint) -> None:
        key_dir = self._key_dir(checkpoint.key)
        for path in sorted(key_dir.glob("*")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError, OSError):
            key_dir.rmdir()
            _fsync_dir(self._directory)

    def close(self) -> None:
        """Nothing to release: every save opens and closes its own file."""


def _mkdirs(path: Path) -> list[Path]:
    """mkdir -p, returning the directories it created (their parents need an fsync)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
    return list(reversed(missing))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Kafka topic backend -------------------------------------------------------------

ALERTING_KEY_PREFIX: Final = "alerting/"
"""Keys of the checkpoint topic that hold alert state (monitor/alerting/kafka_store.py).

The alert pipeline keeps its state in the same compacted topic, so it lives and
dies with the checkpoints. The loader skips these records; a real checkpoint
(whose group id might start with the same word) is still recognised by its magic.
"""

_ALERTING_KEY: Final = ALERTING_KEY_PREFIX.encode("utf-8")

FRAME_SLACK: Final = 64 * 1024
"""Record headers and batch framing around a value, added to `checkpoint.max_bytes`."""


def ensure_topic(
    client: KafkaClientConfig, settings: CheckpointSettings, admin_factory: Callable[..., Any]
) -> None:
    """Create the checkpoint topic when missing: one partition, compacted, hourly segments."""
    from kafka.errors import TopicAlreadyExistsError  # noqa: PLC0415

    topic = settings.topic
    admin = admin_factory(**client.admin_kwargs(client_suffix="checkpoint-admin"))
    try:
        if topic in admin.list_topics():
            return
        spec: dict[str, Any] = {
            "num_partitions": 1,
            "replication_factor": settings.topic_replication_factor or -1,
            "configs": {
                "cleanup.policy": "compact",
                "max.message.bytes": str(settings.max_bytes + FRAME_SLACK),
                "segment.ms": "3600000",
                "min.cleanable.dirty.ratio": "0.1",
            },
        }
        try:
            admin.create_topics({topic: spec}, wait_for_metadata=True)
            log.info("checkpoint_topic_created", topic=topic)
        except TopicAlreadyExistsError:
            pass
    finally:
        admin.close()


class KafkaTopicCheckpointStore:
    """Checkpoints as records of a compacted topic, keyed by member key.

    For deployments without a persistent volume. Writes use an idempotent
    producer with acks=all and wait for the acknowledgement. `load` reads the
    whole topic from its start to the end offsets it saw when it began and keeps
    the newest valid record per key (a tombstone deletes the key); log compaction
    keeps that read short. The topic is created when missing (one partition,
    `cleanup.policy=compact`, hourly segments so compaction can run, and
    `max.message.bytes` raised to `checkpoint.max_bytes`), unless
    `checkpoint.create_topic` is off.
    """

    _FRAME_SLACK: Final = FRAME_SLACK

    def __init__(
        self,
        client: KafkaClientConfig,
        settings: CheckpointSettings,
        *,
        producer_factory: Callable[..., Any] | None = None,
        consumer_factory: Callable[..., Any] | None = None,
        admin_factory: Callable[..., Any] | None = None,
    ) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: PLC0415

        self._client = client
        self._settings = settings
        self._topic = settings.topic
        self._timeout = settings.timeout
        self._consumer_factory = consumer_factory or KafkaConsumer
        max_request = settings.max_bytes + self._FRAME_SLACK
        try:
            if settings.create_topic:
                self._ensure_topic(admin_factory or KafkaAdminClient)
            self._producer = (producer_factory or KafkaProducer)(
                **client.producer_kwargs(client_suffix="checkpoint", max_request_size=max_request)
            )
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint topic {self._topic!r}: cannot connect to Kafka ({exc}); check "
                "kafka.bootstrap_servers and that the brokers are up"
            ) from None

    @property
    def topic(self) -> str:
        return self._topic

    def _ensure_topic(self, admin_factory: Callable[..., Any]) -> None:
        ensure_topic(self._client, self._settings, admin_factory)

    def save(self, checkpoint: Checkpoint) -> None:
        data = encode(checkpoint)
        if len(data) > self._settings.max_bytes:
            raise CheckpointError(
                f"checkpoint of {len(data)} bytes exceeds checkpoint.max_bytes "
                f"({self._settings.max_bytes}); raise it (and the topic's max.message.bytes)"
            )
        self._send(checkpoint.key.encode("utf-8"), data)

    def _send(self, key: bytes, value: bytes | None) -> None:
        try:
            self._producer.send(self._topic, key=key, value=value).get(timeout=self._timeout)
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint topic {self._topic!r}: write not acknowledged within "
                f"{self._timeout}s ({type(exc).__name__}: {exc}); check the brokers and the "
                "topic's permissions"
            ) from None

    def _read_to_end(
        self, consumer: Any, tps: list[Any], latest: dict[bytes, Checkpoint], group_id: str
    ) -> None:
        """Apply every record up to each partition's end offset as of now (`_apply`)."""
        consumer.assign(tps)
        timeout_ms = int(self._timeout * 1000)
        ends = consumer.end_offsets(tps, timeout_ms=timeout_ms)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + self._timeout
        remaining = {tp for tp in tps if ends.get(tp, 0) > 0}
        while remaining:
            if time.monotonic() > deadline:
                raise CheckpointError(
                    f"checkpoint topic {self._topic!r}: not read to its end within "
                    f"{self._timeout}s; raise checkpoint.timeout"
                )
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < ends[tp]:
                        self._apply(latest, record, group_id)
            for tp in list(remaining):
                if consumer.position(tp, timeout_ms=timeout_ms) >= ends[tp]:
                    remaining.discard(tp)

    def load(self, group_id: str) -> list[Checkpoint]:
        from kafka import TopicPartition  # noqa: PLC0415

        try:
            consumer = self._consumer_factory(
                **self._client.consumer_kwargs(group=False, client_suffix="checkpoint-reader")
            )
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint topic {self._topic!r}: cannot connect to read it ({exc})"
            ) from None
        latest: dict[bytes, Checkpoint] = {}
        try:
            partitions = consumer.partitions_for_topic(self._topic)
            if not partitions:
                return []
            self._read_to_end(
                consumer,
                [TopicPartition(self._topic, p) for p in sorted(partitions)],
                latest,
                group_id,
            )
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint topic {self._topic!r}: read failed ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            consumer.close(autocommit=False)
        return list(latest.values())

    def _apply(self, latest: dict[bytes, Checkpoint], record: Any, group_id: str) -> None:
        key = record.key
        if key is None:
            return
        if record.value is None:
            latest.pop(key, None)
            return
        if key.startswith(_ALERTING_KEY) and not record.value.startswith(MAGIC):
            return  # alert state, not a checkpoint
        try:
            checkpoint = decode(record.value)
        except CheckpointError as exc:
            # The previous valid record of this key stays the answer.
            log.warning(
                "checkpoint_skipped",
                topic=self._topic,
                partition=record.partition,
                offset=record.offset,
                reason=str(exc),
            )
            return
        if checkpoint.group_id == group_id:
            latest[key] = checkpoint

    def discard(self, checkpoint: Checkpoint) -> None:
        self._send(checkpoint.key.encode("utf-8"), None)

    def close(self) -> None:
        self._producer.close(timeout=self._timeout)


def open_store(
    settings: CheckpointSettings,
    client: KafkaClientConfig | None = None,
    *,
    on_fault: Callable[[str, str | None], None] | None = None,
) -> CheckpointStore:
    """The store `checkpoint.backend` names. `on_fault` hears of corrupt checkpoint
    files (directory backend; see `DirectoryCheckpointStore`)."""
    if settings.backend == "directory":
        return DirectoryCheckpointStore.from_settings(settings, on_fault=on_fault)
    if client is None:
        raise CheckpointError("checkpoint.backend kafka needs the Kafka client settings")
    return KafkaTopicCheckpointStore(client, settings)
