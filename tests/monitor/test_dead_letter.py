"""Dead-letter sinks: the JSONL format replay relies on, and the topic sink's headers."""

from __future__ import annotations

import base64
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.errors import SinkUnavailable
from driftwarden.monitor.ingest.dead_letter import (
    HEADER_PAYLOAD_SIZE,
    HEADER_REASON,
    HEADER_TRUNCATED,
    TOPIC_HEADROOM,
    JsonlDeadLetterSink,
    KafkaDeadLetterSink,
    parse_dead_letter,
    read_dead_letters,
)

SOURCE: dict[str, str | int] = {"topic": "predictions", "partition": 2, "offset": 1234}


def _sink(tmp_path: Path, **kwargs: Any) -> JsonlDeadLetterSink:
    return JsonlDeadLetterSink(
        tmp_path / "dl" / "dead-letter.jsonl", clock=lambda: 1_700_000_000.5, **kwargs
    )


def test_utf8_payload_is_stored_as_text_with_reason_and_source(tmp_path: Path) -> None:
    with _sink(tmp_path) as sink:
        sink.write('{"model_id": "m", "x": "é"}'.encode(), "missing_field:features", SOURCE)
    [line] = (tmp_path / "dl" / "dead-letter.jsonl").read_text(encoding="utf-8").splitlines()
    raw = json.loads(line)
    assert raw == {
        "v": 1,
        "time": "2023-11-14T22:13:20.500000Z",
        "reason": "missing_field:features",
        "source": SOURCE,
        "payload": '{"model_id": "m", "x": "é"}',
        "payload_encoding": "utf-8",
        "payload_size": len('{"model_id": "m", "x": "é"}'.encode()),
        "truncated": False,
    }


def test_binary_payload_is_base64_with_a_flag(tmp_path: Path) -> None:
    payload = b"\x00\xff\xfe binary"
    with _sink(tmp_path) as sink:
        sink.write(payload, "not_json", SOURCE)
    [record] = read_dead_letters(sink.path)
    assert record.payload_encoding == "base64"
    assert base64.b64decode(record.payload) == payload
    assert record.payload_bytes() == payload


def test_long_payload_is_cut_to_the_cap_keeping_the_original_length(tmp_path: Path) -> None:
    payload = b"a" * 1000
    with _sink(tmp_path, max_payload_bytes=256) as sink:
        sink.write(payload, "too_large", SOURCE)
    [record] = read_dead_letters(sink.path)
    assert record.truncated is True
    assert record.payload == "a" * 256
    assert record.payload_size == 1000


def test_cut_never_splits_a_utf8_character(tmp_path: Path) -> None:
    payload = ("x" * 255 + "€").encode()  # the euro sign's 3 bytes straddle the 256-byte cap
    with _sink(tmp_path, max_payload_bytes=256) as sink:
        sink.write(payload, "too_large", SOURCE)
    [record] = read_dead_letters(sink.path)
    assert record.payload_encoding == "utf-8"
    assert record.payload == "x" * 255
    assert record.truncated is True
    assert record.payload_size == 258


def test_invalid_utf8_before_the_cut_still_means_base64(tmp_path: Path) -> None:
    payload = b"ab\xffcd" + b"e" * 300
    with _sink(tmp_path, max_payload_bytes=256) as sink:
        sink.write(payload, "not_json", SOURCE)
    [record] = read_dead_letters(sink.path)
    assert record.payload_encoding == "base64"
    assert record.payload_bytes() == payload[:256]


@settings(max_examples=200)
@given(
    payload=st.one_of(st.binary(max_size=400), st.text(max_size=200).map(str.encode)),
    reason=st.text(max_size=40),
    line=st.integers(0, 2**40),
)
def test_every_write_reads_back_as_one_line(
    tmp_path_factory: pytest.TempPathFactory, payload: bytes, reason: str, line: int
) -> None:
    path = tmp_path_factory.mktemp("dl") / "d.jsonl"
    with JsonlDeadLetterSink(path, max_payload_bytes=300) as sink:
        sink.write(payload, reason, {"file": "in\nput.jsonl", "line": line})
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 1
    [record] = read_dead_letters(path)
    assert record.reason == reason
    assert record.source == {"file": "in\nput.jsonl", "line": line}
    assert record.payload_size == len(payload)
    assert payload.startswith(record.payload_bytes())
    assert record.truncated == (len(payload) > 300)
    if not record.truncated:
        assert record.payload_bytes() == payload


def test_appends_across_reopen(tmp_path: Path) -> None:
    for i in range(3):
        with _sink(tmp_path) as sink:
            sink.write(f"event {i}".encode(), "r", {"line": i})
    assert [r.payload for r in read_dead_letters(tmp_path / "dl" / "dead-letter.jsonl")] == [
        "event 0",
        "event 1",
        "event 2",
    ]


def test_reader_skips_a_torn_last_line_but_rejects_a_bad_middle_line(tmp_path: Path) -> None:
    with _sink(tmp_path) as sink:
        sink.write(b"one", "r", SOURCE)
        sink.write(b"two", "r", SOURCE)
    path = sink.path
    good = path.read_text(encoding="utf-8")
    path.write_text(good + '{"v": 1, "time": "2023', encoding="utf-8")
    assert [r.payload for r in read_dead_letters(path)] == ["one", "two"]
    path.write_text("garbage\n" + good, encoding="utf-8")
    with pytest.raises(ValueError, match=r"dead-letter.jsonl:1: not a dead-letter record"):
        list(read_dead_letters(path))


def test_source_fields_must_be_strings_or_integers(tmp_path: Path) -> None:
    with _sink(tmp_path) as sink, pytest.raises(TypeError, match=r"str -> str \| int"):
        sink.write(b"x", "r", {"offset": 1.5})  # type: ignore[dict-item]


def test_write_after_close_raises_sink_unavailable(tmp_path: Path) -> None:
    sink = _sink(tmp_path)
    sink.close()
    with pytest.raises(SinkUnavailable, match="closed"):
        sink.write(b"x", "r", SOURCE)


def test_flush_makes_lines_visible_to_readers(tmp_path: Path) -> None:
    sink = _sink(tmp_path)
    sink.write(b"x", "r", SOURCE)
    sink.flush()
    assert [r.payload for r in read_dead_letters(sink.path)] == ["x"]
    sink.close()


def test_unopenable_path_raises_sink_unavailable_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SinkUnavailable, match=r"dead_letter\.path"):
        JsonlDeadLetterSink(blocker / "d.jsonl")


def test_parse_rejects_other_versions() -> None:
    with pytest.raises(ValueError, match="version-1"):
        parse_dead_letter('{"v": 2}')


# --- topic sink, against a fake producer (the real broker: tests/integration) ---------


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def add_errback(self, fn: Any) -> None:
        if self.error is not None:
            fn(self.error)


class _Producer:
    def __init__(
        self, acks: Any = -1, error: Exception | None = None, max_request_size: int = 1_048_576
    ) -> None:
        self.config = {"acks": acks, "max_request_size": max_request_size}
        self.sent: list[dict[str, Any]] = []
        self.error = error
        self.flushed = 0

    def send(self, topic: str, **kwargs: Any) -> _Future:
        self.sent.append({"topic": topic, **kwargs})
        return _Future(self.error)

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1


def test_topic_sink_sends_original_bytes_with_reason_and_source_headers() -> None:
    producer = _Producer()
    sink = KafkaDeadLetterSink(producer, "dlq")
    sink.write(b"\x00raw", "not_json", SOURCE)
    sink.flush()
    [sent] = producer.sent
    assert sent["topic"] == "dlq"
    assert sent["value"] == b"\x00raw"
    assert sent["headers"] == [
        (HEADER_REASON, b"not_json"),
        ("driftwarden.source.topic", b"predictions"),
        ("driftwarden.source.partition", b"2"),
        ("driftwarden.source.offset", b"1234"),
    ]
    assert producer.flushed == 1


def test_topic_sink_cuts_a_payload_the_producer_could_not_send_and_says_so() -> None:
    """A record that just fit the source topic no longer fits once headers are added."""
    producer = _Producer(max_request_size=100_000)
    sink = KafkaDeadLetterSink(producer, "dlq")
    kept = 100_000 - TOPIC_HEADROOM
    sink.write(b"x" * kept, "invalid_json", SOURCE)
    sink.write(b"y" * 100_000, "invalid_json", SOURCE)
    whole, cut = producer.sent
    assert whole["value"] == b"x" * kept
    assert HEADER_TRUNCATED not in dict(whole["headers"])
    assert cut["value"] == b"y" * kept
    assert dict(cut["headers"])[HEADER_TRUNCATED] == b"true"
    assert dict(cut["headers"])[HEADER_PAYLOAD_SIZE] == b"100000"


def test_a_detail_no_encoder_can_write_never_fails_a_sink(tmp_path: Path) -> None:
    """Details quote what producers sent; a lone surrogate in one must not stop the daemon."""
    source: dict[str, str | int] = {**SOURCE, "detail": "model '\ud800'"}
    producer = _Producer()
    KafkaDeadLetterSink(producer, "dlq").write(b"x", "invalid_json", source)
    assert dict(producer.sent[0]["headers"])["driftwarden.source.detail"] == b"model '\\ud800'"
    with _sink(tmp_path) as sink:
        sink.write(b"x", "invalid_json", source)
    (record,) = read_dead_letters(sink.path)
    assert record.source["detail"] == "model '\ud800'"


def test_topic_sink_refuses_a_producer_without_acks_all() -> None:
    with pytest.raises(ValueError, match="acks='all'"):
        KafkaDeadLetterSink(_Producer(acks=1), "dlq")


def test_topic_sink_keeps_failed_sends_and_sends_them_again_until_acknowledged() -> None:
    """A dead letter the topic refused must hold the checkpoint until it is safe: reporting
    the error once and forgetting the record would let the next checkpoint commit past it."""
    producer = _Producer(error=RuntimeError("boom"))
    sink = KafkaDeadLetterSink(producer, "dlq")
    sink.write(b"x", "r", SOURCE)
    with pytest.raises(SinkUnavailable, match=r"1 write\(s\) failed, kept and sent again"):
        sink.flush()
    with pytest.raises(SinkUnavailable, match=r"1 write\(s\) failed"):
        sink.flush()  # still refused: still held
    producer.error = None  # the topic is back
    sink.flush()
    assert [r["value"] for r in producer.sent] == [b"x"] * 4  # written, then 3 flushes
    sink.flush()  # acknowledged: nothing left to send
    assert len(producer.sent) == 4


def test_topic_sink_close_flushes_and_refuses_more_writes() -> None:
    producer = _Producer()
    sink = KafkaDeadLetterSink(producer, "dlq")
    sink.close()
    assert producer.flushed == 1
    with pytest.raises(SinkUnavailable):
        sink.write(b"x", "r", SOURCE)


class _FullDisk:
    """`os.write` that writes a few bytes and then fails with ENOSPC while `full`."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.full = True

    def __call__(self, fd: int, data: Any) -> int:
        if not self.full:
            return int(self.real(fd, data))
        self.real(fd, bytes(data[:7]))  # a torn line, as a real full disk leaves one
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_tears_no_line_and_loses_no_dead_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dl.jsonl"
    disk = _FullDisk(os.write)
    monkeypatch.setattr("driftwarden.monitor.ingest.dead_letter.os.write", disk)
    sink = JsonlDeadLetterSink(path)
    for i in range(3):
        sink.write(b"{oops %d" % i, "invalid_json", {"file": "f", "line": i})
    with pytest.raises(SinkUnavailable, match=r"No space left on device.*kept in memory"):
        sink.flush()
    assert path.read_bytes() == b""
    disk.full = False
    sink.write(b"{oops 3", "invalid_json", {"file": "f", "line": 3})
    sink.close()
    assert [r.source["line"] for r in read_dead_letters(path)] == [0, 1, 2, 3]


def test_write_raises_only_past_the_memory_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("driftwarden.monitor.ingest.dead_letter.os.write", _FullDisk(os.write))
    sink = JsonlDeadLetterSink(tmp_path / "dl.jsonl", max_backlog_bytes=200_000)
    big = b"x" * 60_000
    sink.write(big, "too_large", {"file": "f", "line": 1})
    sink.write(big, "too_large", {"file": "f", "line": 2})  # over the write threshold: kept
    sink.write(big, "too_large", {"file": "f", "line": 3})
    with pytest.raises(SinkUnavailable, match="wait in memory; free space"):
        sink.write(big, "too_large", {"file": "f", "line": 4})
