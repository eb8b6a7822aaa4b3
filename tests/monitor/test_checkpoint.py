"""Checkpoint envelope, partition selection and the directory store (the Kafka topic store
is tested against the real broker in tests/integration/test_kafka_checkpoint.py)."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.kafka.checkpoint import (
    Checkpoint,
    DirectoryCheckpointStore,
    decode,
    encode,
    latest_per_partition,
    member_key,
    superseded,
)


def _cp(
    offsets: dict[tuple[str, int], int],
    state: bytes = b"s",
    *,
    at: float = 1.0,
    group: str = "g",
    fingerprint: str = "f1",
) -> Checkpoint:
    return Checkpoint(
        group_id=group, offsets=offsets, state=state, fingerprint=fingerprint, created_at=at
    )


offsets_strategy = st.dictionaries(
    st.tuples(st.sampled_from(["a", "b.c", "t-1"]), st.integers(0, 50)),
    st.integers(0, 2**62),
    max_size=8,
)


@given(
    group=st.text(max_size=20),
    offsets=offsets_strategy,
    state=st.binary(max_size=512),
    fingerprint=st.text(max_size=64),
    at=st.floats(0, 4e9, allow_nan=False),
)
def test_encode_decode_round_trips(
    group: str, offsets: dict[tuple[str, int], int], state: bytes, fingerprint: str, at: float
) -> None:
    cp = Checkpoint(
        group_id=group, offsets=offsets, state=state, fingerprint=fingerprint, created_at=at
    )
    back = decode(encode(cp))
    assert back == cp


def test_any_flipped_byte_is_detected() -> None:
    data = encode(_cp({("t", 0): 10, ("t", 1): 20}, b"state" * 20))
    rng = random.Random(7)
    for _ in range(200):
        i = rng.randrange(len(data))
        corrupted = bytearray(data)
        corrupted[i] ^= 1 << rng.randrange(8)
        with pytest.raises(CheckpointError):
            decode(bytes(corrupted))


def test_every_truncation_is_detected() -> None:
    data = encode(_cp({("t", 0): 10}, b"x" * 100))
    for length in range(len(data)):
        with pytest.raises(CheckpointError):
            decode(data[:length])


def test_unknown_version_names_the_fix() -> None:
    data = bytearray(encode(_cp({("t", 0): 1})))
    struct.pack_into(">H", data, 4, 99)
    with pytest.raises(CheckpointError, match="version 99 is not supported"):
        decode(bytes(data))


def test_member_key_is_independent_of_partition_order() -> None:
    assert member_key("g", [("t", 2), ("t", 0), ("a", 1)]) == "g|a:1;t:0,2"
    # Topic names cannot hold "|", so the last "|" always ends the group id.
    assert member_key("g|x", [("t", 0)]).rpartition("|")[2] == "t:0"


def test_latest_per_partition_picks_the_highest_offset_then_the_newest() -> None:
    old_all = _cp({("t", 0): 100, ("t", 1): 100, ("t", 2): 100}, at=1.0)
    newer_p0 = _cp({("t", 0): 150}, at=2.0)
    behind_p1 = _cp({("t", 1): 90, ("t", 2): 100}, at=3.0)  # a late writer that got less far
    chosen = latest_per_partition([old_all, newer_p0, behind_p1])
    assert chosen[("t", 0)] is newer_p0
    assert chosen[("t", 1)] is old_all
    assert chosen[("t", 2)] is behind_p1  # same offset, newer
    assert superseded([old_all, newer_p0, behind_p1]) == []
    only_p2 = _cp({("t", 2): 101}, at=0.5)
    assert superseded([old_all, newer_p0, behind_p1, only_p2]) == [behind_p1]


# --- directory store -----------------------------------------------------------------


def test_directory_store_saves_and_loads_the_newest(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path / "ckpt", keep=3)
    assert store.load("g") == []
    for i in range(5):
        store.save(_cp({("t", 0): i}, f"state-{i}".encode(), at=float(i)))
    [loaded] = store.load("g")
    assert loaded.state == b"state-4"
    assert loaded.offsets == {("t", 0): 4}


def test_directory_store_keeps_the_last_n(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path, keep=2)
    for i in range(6):
        store.save(_cp({("t", 0): i}))
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["0000000000000005.dwcp", "0000000000000006.dwcp"]


def test_directory_store_keeps_one_newest_checkpoint_per_member_and_group(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(_cp({("t", 0): 5, ("t", 1): 5}, b"both"))
    store.save(_cp({("t", 1): 9}, b"one"))
    store.save(_cp({("t", 0): 7}, b"other group", group="h"))
    loaded = {cp.key: cp.state for cp in store.load("g")}
    assert loaded == {"g|t:0,1": b"both", "g|t:1": b"one"}
    assert [cp.state for cp in store.load("h")] == [b"other group"]


def test_torn_newest_checkpoint_is_moved_aside_and_the_previous_one_restored(
    tmp_path: Path,
) -> None:
    faults: list[tuple[str, str | None]] = []
    store = DirectoryCheckpointStore(tmp_path, keep=3, on_fault=lambda c, e: faults.append((c, e)))
    store.save(_cp({("t", 0): 10}, b"good"))
    store.save(_cp({("t", 0): 20}, b"torn" * 100))
    [newest] = sorted(tmp_path.rglob("*.dwcp"))[-1:]
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # what a crash mid-write on a lying disk leaves
    with structlog.testing.capture_logs() as logs:
        [loaded] = store.load("g")
    assert loaded.state == b"good"
    assert loaded.offsets == {("t", 0): 10}
    assert [(e["event"], e["log_level"]) for e in logs] == [("checkpoint_corrupt", "error")]
    assert "truncated" in logs[0]["reason"] or "checksum" in logs[0]["reason"]
    aside = newest.with_name(f".corrupt-{newest.name}")
    assert logs[0]["moved_to"] == str(aside)
    assert aside.read_bytes() == data[: len(data) // 2]  # kept for inspection
    assert not newest.exists()
    [(component, error)] = faults
    assert component == "checkpoint"
    assert error is not None
    assert newest.name in error
    with structlog.testing.capture_logs() as again:
        assert store.load("g")[0].state == b"good"
    assert again == []  # read once, reported once


def test_the_next_save_after_a_corrupt_one_is_the_newest(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path, keep=3)
    store.save(_cp({("t", 0): 10}, b"good"))
    store.save(_cp({("t", 0): 20}, b"bad"))
    [newest] = sorted(tmp_path.rglob("*.dwcp"))[-1:]
    newest.write_bytes(b"garbage")
    with structlog.testing.capture_logs():
        assert store.load("g")[0].state == b"good"
    store.save(_cp({("t", 0): 30}, b"after"))
    assert store.load("g")[0].state == b"after"


@pytest.mark.parametrize(
    ("errno_", "fails"),
    [(28, "write"), (24, "open"), (5, "fsync")],
    ids=["ENOSPC-mid-write", "EMFILE-at-open", "EIO-at-fsync"],
)
def test_a_failed_write_raises_leaves_no_partial_file_and_keeps_the_older_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_: int, fails: str
) -> None:
    """A full disk must not fill up further with every retry."""
    store = DirectoryCheckpointStore(tmp_path, keep=3)
    store.save(_cp({("t", 0): 10}, b"good"))
    real_write = os.write

    def half_then_fail(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 8:
            return real_write(fd, bytes(data[:8]))  # part of it lands, then the disk is full
        raise OSError(errno_, os.strerror(errno_))

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errno_, os.strerror(errno_))

    real_open = os.open

    def open_fails_for_new_files(path: object, flags: int, *args: object) -> int:
        if flags & os.O_CREAT:
            fail()
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    if fails == "write":
        monkeypatch.setattr(os, "write", half_then_fail)
    elif fails == "open":
        monkeypatch.setattr(os, "open", open_fails_for_new_files)
    else:
        real_fsync = os.fsync

        def fsync_fails_for_files(fd: int) -> None:
            if not os.path.isdir(f"/proc/self/fd/{fd}"):
                fail()
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync_fails_for_files)
    with pytest.raises(CheckpointError, match=os.strerror(errno_)):
        store.save(_cp({("t", 0): 20}, b"x" * 1000))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.rglob(".tmp-*")] == []
    assert store.load("g")[0].state == b"good"


def test_a_prune_failure_after_a_durable_save_is_only_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DirectoryCheckpointStore(tmp_path, keep=1)
    store.save(_cp({("t", 0): 10}, b"old"))

    def emfile(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(Path, "unlink", emfile)
    with structlog.testing.capture_logs() as logs:
        store.save(_cp({("t", 0): 20}, b"new"))
    monkeypatch.undo()
    assert [e["event"] for e in logs] == ["checkpoint_prune_failed"]
    assert store.load("g")[0].state == b"new"


def test_leftover_temporary_file_is_ignored(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(_cp({("t", 0): 10}, b"good"))
    [key_dir] = [p for p in tmp_path.iterdir() if p.is_dir()]
    (key_dir / ".tmp-0000000000000002-deadbeef").write_bytes(b"half a checkpoint")
    [loaded] = store.load("g")
    assert loaded.state == b"good"
    store.save(_cp({("t", 0): 11}, b"next"))
    assert store.load("g")[0].state == b"next"


def test_all_copies_corrupt_means_no_checkpoint(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    store.save(_cp({("t", 0): 10}))
    for path in tmp_path.rglob("*.dwcp"):
        path.write_bytes(b"garbage")
    with structlog.testing.capture_logs():
        assert store.load("g") == []


def test_discard_removes_a_member_key(tmp_path: Path) -> None:
    store = DirectoryCheckpointStore(tmp_path)
    a = _cp({("t", 0): 1})
    b = _cp({("t", 1): 1})
    store.save(a)
    store.save(b)
    store.discard(a)
    assert [cp.key for cp in store.load("g")] == [b.key]


def test_unwritable_directory_raises_checkpoint_error_naming_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = DirectoryCheckpointStore(blocker / "sub")
    with pytest.raises(CheckpointError, match="writable"):
        store.save(_cp({("t", 0): 1}))


def test_saved_file_is_complete_before_it_gets_its_final_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between write and rename must leave no final-named partial file."""
    store = DirectoryCheckpointStore(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(CheckpointError):
        store.save(_cp({("t", 0): 1}))
    monkeypatch.undo()
    assert list(tmp_path.rglob("*.dwcp")) == []
    assert store.load("g") == []
