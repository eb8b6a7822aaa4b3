"""Receiver error text never carries the receiver's own URL or secrets."""

from __future__ import annotations

import json
import string
from urllib.parse import quote

import httpx
from hypothesis import given
from hypothesis import strategies as st

from driftwarden.monitor.alerting.delivery import Rejected, RetryLater, classify_response
from driftwarden.monitor.alerting.receivers.http import classify_error
from driftwarden.monitor.alerting.redaction import MAX_REASON, REDACTED, Redactor

SLACK = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xoxbSecretPathToken123"
WEBHOOK = "https://deploy:PassW0rdXyz@rollback.internal:8443/hooks/run?token=QueryTok3n&x=1"


def test_every_part_of_a_url_is_scrubbed_from_an_echo() -> None:
    redactor = Redactor(urls=[WEBHOOK])
    echo = (
        f"POST {WEBHOOK} failed; user deploy:PassW0rdXyz host rollback.internal "
        f"path /hooks/run token QueryTok3n"
    )
    clean = redactor.scrub(echo, limit=None)
    for piece in ("PassW0rdXyz", "rollback.internal", "/hooks/run", "QueryTok3n"):
        assert piece not in clean
    assert REDACTED in clean


def test_encoded_spellings_of_a_secret_are_scrubbed() -> None:
    redactor = Redactor(urls=[SLACK])
    for spelling in (
        SLACK,
        quote(SLACK, safe=""),
        json.dumps({"url": SLACK}),
        SLACK.upper(),
        repr(SLACK.encode()),
    ):
        assert "xoxbSecretPathToken123".lower() not in redactor.scrub(spelling).lower()


def test_configured_secret_values_are_scrubbed() -> None:
    redactor = Redactor(secrets=["Bearer abcDEF123456", "R0utingKey0000000000000000000000"])
    text = "echo: authorization=Bearer abcDEF123456 key=R0utingKey0000000000000000000000"
    clean = redactor.scrub(text)
    assert "abcDEF123456" not in clean
    assert "R0utingKey" not in clean


def test_scrubbing_happens_before_the_cut_so_no_half_secret_survives() -> None:
    secret = "S" * 40 + "tail-of-the-secret"
    redactor = Redactor(secrets=[secret])
    text = "x" * (MAX_REASON - 20) + secret
    clean = redactor.scrub(text)
    assert len(clean) <= MAX_REASON
    assert "SSSS" not in clean


def test_short_pieces_are_left_alone() -> None:
    redactor = Redactor(urls=["http://am:9093/api/v2/alerts"])
    assert redactor.scrub("api v2 returned 500") == "api v2 returned 500"


@given(
    secret=st.text(alphabet=string.ascii_letters + string.digits + "-_./:+=", min_size=8),
    before=st.text(max_size=300),
    after=st.text(max_size=300),
)
def test_a_secret_never_survives_scrubbing_wherever_it_sits(
    secret: str, before: str, after: str
) -> None:
    clean = Redactor(secrets=[secret]).scrub(before + secret + after, limit=None)
    assert secret.lower() not in clean.lower()


def test_an_error_answer_is_scrubbed_and_truncated() -> None:
    body = f"invalid_token for {SLACK} " + "x" * 1000
    response = httpx.Response(403, text=body)
    result = classify_response(response, now=0.0, fix="fix it", redactor=Redactor(urls=[SLACK]))
    assert isinstance(result, Rejected)
    assert "xoxbSecretPathToken123" not in result.reason
    assert "hooks.slack.com" not in result.reason
    assert len(result.reason) <= MAX_REASON
    assert result.reason.startswith("HTTP 403 invalid_token for ")


def test_a_retryable_answer_and_a_redirect_are_scrubbed() -> None:
    redactor = Redactor(urls=[WEBHOOK])
    retry = classify_response(
        httpx.Response(503, text=f"upstream {WEBHOOK}"), now=0.0, fix="f", redactor=redactor
    )
    assert isinstance(retry, RetryLater)
    assert "QueryTok3n" not in retry.reason
    moved = classify_response(
        httpx.Response(302, headers={"location": WEBHOOK + "&moved=1"}),
        now=0.0,
        fix="f",
        redactor=redactor,
    )
    assert isinstance(moved, Rejected)
    assert "PassW0rdXyz" not in moved.reason
    assert "QueryTok3n" not in moved.reason


def test_an_exception_quoting_a_header_value_is_scrubbed() -> None:
    exc = httpx.LocalProtocolError("Illegal header value b'Bearer abcDEF123456\\n'")
    result = classify_error(exc, redactor=Redactor(secrets=["Bearer abcDEF123456\n"]))
    assert "abcDEF123456" not in result.reason
    assert result.reason.startswith("LocalProtocolError: Illegal header value")


def test_user_info_is_scrubbed_in_its_basic_auth_encoding_too() -> None:
    """httpx turns `user:password@` into an Authorization header a receiver may echo."""
    token = httpx.BasicAuth("deploy", "PassW0rdXyz")._auth_header
    clean = Redactor(urls=[WEBHOOK]).scrub(f"got authorization: {token}", limit=None)
    assert token.removeprefix("Basic ") not in clean
