"""Scrubbing a receiver's own credentials out of error text before it is logged or stored.

A receiver's answer (or an httpx exception) can echo what it was sent: the
request URL (a Slack webhook URL *is* the credential; a webhook URL may carry
`?token=` or `user:password@`), a header (`Authorization: Bearer ...`), a routing
key. Every error string a receiver makes passes through its `Redactor` first:
each configured secret value, and every part of its URL (the whole URL, the
user info and its Basic-auth encoding, the host, the path and each path
segment, the query and each query value), is replaced by `[redacted]` in the
spellings it can come back in (as is, percent-encoded, JSON-escaped, as a
Python repr; case-insensitively), and only
then is the text cut to `MAX_REASON` characters, so a cut can never leave half
a secret behind.

Pieces shorter than `MIN_PIECE` characters (`v2`, `api`) are left alone: they
carry no secret worth the garbled message.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

MAX_REASON = 200
MIN_PIECE = 4
REDACTED = "[redacted]"


def _spellings(piece: str) -> set[str]:
    out = {piece, quote(piece, safe=""), quote(piece, safe="/:@"), quote_plus(piece)}
    out.add(unquote(piece))
    out.add(json.dumps(piece)[1:-1])
    out.add(json.dumps(piece)[1:-1].replace("/", "\\/"))
    out.add(repr(piece)[1:-1])
    out.add(repr(piece.encode("utf-8", "replace"))[2:-1])
    return out


def url_pieces(url: str) -> set[str]:
    """The parts of a URL that may identify or authorise: everything but the scheme."""
    pieces = {url, url.rstrip("/")}
    try:
        parts = urlsplit(url)
    except ValueError:
        return pieces
    pieces.update({parts.netloc, parts.path, parts.query, parts.fragment})
    pieces.add(parts.path.rstrip("/"))
    pieces.add(url.split("://", 1)[-1])
    if "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        pieces.update({userinfo, hostport, *userinfo.split(":", 1)})
        # httpx sends user info as `Authorization: Basic base64(user:password)`.
        basic = base64.b64encode(unquote(userinfo).encode("utf-8")).decode("ascii")
        pieces.update({basic, basic.rstrip("=")})
    if parts.hostname:
        pieces.add(parts.hostname)
    pieces.update(parts.path.split("/"))
    for pair in re.split(r"[&;]", parts.query):
        _, _, value = pair.partition("=")
        pieces.update({pair, value})
    return pieces


class Redactor:
    """Replaces known secrets in text; built once per receiver from its config."""

    __slots__ = ("_pattern",)

    def __init__(self, *, urls: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        pieces: set[str] = set()
        for url in urls:
            pieces |= url_pieces(url)
        for secret in secrets:
            pieces.add(secret)
            pieces.add(secret.strip())
        spelled: set[str] = set()
        for piece in pieces:
            if len(piece) >= MIN_PIECE:
                spelled |= {s for s in _spellings(piece) if len(s) >= MIN_PIECE}
        ordered = sorted(spelled, key=lambda s: (-len(s), s))  # longest first
        self._pattern = (
            re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
        )

    def scrub(self, text: str, *, limit: int | None = MAX_REASON) -> str:
        """`text` without any known secret, then cut to `limit` characters (None: no cut)."""
        clean = self._pattern.sub(REDACTED, text) if self._pattern is not None else text
        if limit is not None and len(clean) > limit:
            clean = clean[: limit - 1] + "…"
        return clean


NO_SECRETS = Redactor()
