"""The directory backend of the alert state store, and which backend a config gets."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from driftwarden.monitor.alerting.store import (
    SILENCES_KEY,
    STATE_KEY,
    AlertStateError,
    DirectoryAlertStore,
    open_alert_store,
    outbox_key,
    outbox_seq,
    state_directory,
    uses_kafka,
)
from driftwarden.monitor.config import Settings


def test_keys_map_to_the_files_of_earlier_releases(tmp_path: Path) -> None:
    store = DirectoryAlertStore(tmp_path)
    store.write({STATE_KEY: b"{}", SILENCES_KEY: b'{"silences":[]}', outbox_key(7): b"{}"})
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json")) == [
        "alerting-state.json",
        "outbox/000000000007.json",
        "silences.json",
    ]
    assert DirectoryAlertStore(tmp_path).load() == {
        STATE_KEY: b"{}",
        SILENCES_KEY: b'{"silences":[]}',
        "outbox/000000000007": b"{}",
    }


def test_a_delete_removes_the_file_and_deleting_twice_is_harmless(tmp_path: Path) -> None:
    store = DirectoryAlertStore(tmp_path)
    store.write({outbox_key(1): b"{}"})
    store.write({outbox_key(1): None})
    store.write({outbox_key(1): None})
    assert store.load() == {}


def test_temporary_and_quarantined_files_are_not_loaded(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / ".000000000001.json.x.tmp").write_bytes(b"{")
    (outbox / "000000000002.json.corrupt-20261206T010000Z").write_bytes(b"{")
    assert DirectoryAlertStore(tmp_path).load() == {}


def test_quarantine_renames_the_file_with_a_utc_timestamp(tmp_path: Path) -> None:
    store = DirectoryAlertStore(tmp_path, clock=lambda: 1_796_000_000.0)
    store.write({STATE_KEY: b"{truncated"})
    moved = store.quarantine(STATE_KEY, "bad json")
    assert moved == str(tmp_path / "alerting-state.json.corrupt-20261130T005320Z")
    assert Path(moved).read_bytes() == b"{truncated"
    assert store.load() == {}


def test_poll_reports_a_silences_change_by_another_process_once(tmp_path: Path) -> None:
    daemon, cli = DirectoryAlertStore(tmp_path), DirectoryAlertStore(tmp_path)
    daemon.load()
    assert daemon.poll() == {}
    cli.write({SILENCES_KEY: b"one"})
    assert daemon.poll() == {SILENCES_KEY: b"one"}
    assert daemon.poll() == {}
    cli.write({SILENCES_KEY: b"two"})  # same size, new inode: still seen
    cli.write({SILENCES_KEY: b"tw2"})
    assert daemon.poll() == {SILENCES_KEY: b"tw2"}
    cli.write({SILENCES_KEY: None})
    assert daemon.poll() == {SILENCES_KEY: None}


def test_a_write_into_an_unwritable_place_raises_oserror_for_the_writer_to_handle() -> None:
    store = DirectoryAlertStore(Path("/proc/driftwarden-alerting"))
    with pytest.raises(OSError, match=r"No such file|Permission|Read-only") as caught:
        store.write({STATE_KEY: b"{}"})
    assert caught.value.errno in (errno.ENOENT, errno.EACCES, errno.EROFS)


def test_an_unreadable_directory_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "alerting-state.json").mkdir()  # reading it fails with EISDIR
    with pytest.raises(AlertStateError, match="cannot be read"):
        DirectoryAlertStore(tmp_path).load()


def test_outbox_keys_round_trip_and_other_keys_are_not_outbox() -> None:
    assert outbox_seq(outbox_key(42)) == 42
    assert outbox_seq("outbox/x1") is None
    assert outbox_seq(STATE_KEY) is None


def test_the_store_follows_the_checkpoint_backend_unless_a_directory_is_given(
    tmp_path: Path,
) -> None:
    kafka = Settings.model_validate({"checkpoint": {"backend": "kafka"}})
    assert uses_kafka(kafka)
    forced = Settings.model_validate(
        {"checkpoint": {"backend": "kafka"}, "alerting": {"state_directory": str(tmp_path)}}
    )
    assert not uses_kafka(forced)
    assert isinstance(open_alert_store(forced), DirectoryAlertStore)
    beside = Settings.model_validate({"checkpoint": {"directory": str(tmp_path / "cp")}})
    assert not uses_kafka(beside)
    assert state_directory(beside) == tmp_path / "alerting"
