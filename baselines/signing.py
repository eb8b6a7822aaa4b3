"""Keyed integrity for baseline artifacts: an HMAC-SHA256 only the key holder can make.

The plain `content_sha256` catches truncation and accidental edits, but anyone
who can edit the file can recompute it. With a key (a file, in Kubernetes a
mounted Secret) `baseline build --sign-key-file` adds `hmac_sha256` over
`b"driftwarden.baseline/1\\n" + canonical body bytes`, and every load given the
key (`run` via `baseline_verify_key_file`, `replay --verify-key-file`) refuses
an artifact whose signature is missing or does not match. The prefix keeps a
signature made with the same key for anything else from passing as one here.

The key's bytes live only inside `BaselineKey`, whose repr never shows them,
and no error message quotes them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from driftwarden.baselines.errors import BaselineKeyError

MIN_KEY_BYTES = 16
SIGNATURE_FIELD = "hmac_sha256"


@dataclass(frozen=True, slots=True, repr=False)
class BaselineKey:
    """An HMAC key and the file it came from (named in messages; the bytes never are)."""

    secret: bytes
    source: str

    def __repr__(self) -> str:
        return f"BaselineKey(source={self.source!r})"

    def sign(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()

    def matches(self, payload: bytes, claimed: str) -> bool:
        """Constant-time comparison, so timing does not reveal how much of a forgery was right."""
        return hmac.compare_digest(self.sign(payload), claimed)


def read_key_file(path: Path) -> BaselineKey:
    """The key in `path`, without the line ending `echo` or an editor adds.

    At least `MIN_KEY_BYTES` bytes: a short key can be guessed from any signed
    artifact. `openssl rand -hex 32 > key` makes a good one.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BaselineKeyError(
            f"baseline key file {path}: cannot read it ({exc.strerror}); mount the key there "
            f"(e.g. from a Kubernetes Secret) or fix the path"
        ) from None
    secret = data.rstrip(b"\r\n")
    if len(secret) < MIN_KEY_BYTES:
        raise BaselineKeyError(
            f"baseline key file {path}: the key has {len(secret)} bytes, fewer than "
            f"{MIN_KEY_BYTES}; write a random one, e.g. 'openssl rand -hex 32 > {path}'"
        )
    return BaselineKey(secret=secret, source=str(path))
