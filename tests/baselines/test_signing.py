"""Keyed integrity: an artifact edited without the key is refused, even with a fresh sha256."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.artifact import (
    Baseline,
    content_hash,
    decode_artifact,
    encode_artifact,
    signed_payload,
)
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.errors import BaselineKeyError, BaselineSignatureError
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.signing import MIN_KEY_BYTES, BaselineKey, read_key_file
from driftwarden.baselines.store import BaselineStore, load_baseline

KEY = BaselineKey(secret=b"k" * 32, source="key-a")
OTHER = BaselineKey(secret=b"o" * 32, source="key-b")


def _baseline() -> Baseline:
    rng = np.random.default_rng(3)
    return build_baseline(
        "credit-risk",
        {"x": rng.normal(size=1000), "c": np.array(rng.choice(["a", "b"], 1000), dtype=object)},
        Schema(),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="test",
    )


def _tamper(data: bytes) -> bytes:
    """Move one mean and recompute the plain sha256, as an attacker without the key can."""
    document = json.loads(data)
    document["body"]["columns"][0]["mean"] += 1.0
    document["content_sha256"] = content_hash(document["body"])
    return json.dumps(document).encode()


def test_a_signed_artifact_round_trips_with_its_key_and_loads_without_one() -> None:
    data = encode_artifact(_baseline(), key=KEY)
    document = json.loads(data)
    assert document["hmac_sha256"] == KEY.sign(signed_payload(document["body"]))
    verified = decode_artifact(data, source="a", key=KEY)
    assert encode_artifact(verified, key=KEY) == data
    assert encode_artifact(decode_artifact(data, source="a"), key=KEY) == data


def test_the_signature_does_not_change_the_body_or_its_hash() -> None:
    plain, signed = (json.loads(encode_artifact(_baseline(), key=k)) for k in (None, KEY))
    assert plain["body"] == signed["body"]
    assert plain["content_sha256"] == signed["content_sha256"]


def test_an_edit_with_a_recomputed_sha256_is_refused_by_the_key() -> None:
    edited = _tamper(encode_artifact(_baseline(), key=KEY))
    decode_artifact(edited, source="a")  # the plain hash alone cannot tell
    with pytest.raises(BaselineSignatureError) as info:
        decode_artifact(edited, source="a.json", key=KEY)
    assert str(info.value).startswith(
        "baseline 'credit-risk@1' (a.json) signature does not match the key in key-a: "
        "the file was edited after it was signed"
    )


def test_an_unsigned_artifact_is_refused_when_a_key_is_configured() -> None:
    with pytest.raises(BaselineSignatureError, match=r"is not signed, but a verify key"):
        decode_artifact(encode_artifact(_baseline()), source="a", key=KEY)


def test_a_signature_made_with_another_key_is_refused() -> None:
    with pytest.raises(BaselineSignatureError, match="signed with another key"):
        decode_artifact(encode_artifact(_baseline(), key=OTHER), source="a", key=KEY)


def test_a_stripped_or_mangled_signature_is_refused() -> None:
    document = json.loads(encode_artifact(_baseline(), key=KEY))
    for value in (None, 42, "00" * 32):
        if value is None:
            document.pop("hmac_sha256", None)
        else:
            document["hmac_sha256"] = value
        with pytest.raises(BaselineSignatureError):
            decode_artifact(json.dumps(document).encode(), source="a", key=KEY)


def test_the_store_writes_signed_and_loads_verified(tmp_path: Path) -> None:
    path = BaselineStore(tmp_path).write(_baseline(), key=KEY)
    assert load_baseline(path, key=KEY).ref == "credit-risk@1"
    with pytest.raises(BaselineSignatureError):
        load_baseline(path, key=OTHER)


def test_a_key_file_loses_its_line_ending_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b" k" * 16 + b"\n")
    key = read_key_file(path)
    assert key.secret == b" k" * 16
    assert "k k" not in repr(key)


def test_a_short_or_missing_key_file_is_a_clear_error_without_the_key(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"Tiny-key\n")
    with pytest.raises(BaselineKeyError) as info:
        read_key_file(short)
    assert f"the key has 8 bytes, fewer than {MIN_KEY_BYTES}" in str(info.value)
    assert "Tiny-key" not in str(info.value)
    with pytest.raises(BaselineKeyError, match=r"cannot read it \(No such file or directory\)"):
        read_key_file(tmp_path / "absent")
