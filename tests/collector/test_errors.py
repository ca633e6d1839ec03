"""One row per Graph error: which exception, retried or not, and the words a person reads."""

from __future__ import annotations

import logging
import random

import pytest

from fanpulse.collector.errors import (
    GraphAPIError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ThrottledError,
    TokenError,
    TransientError,
    TransportError,
    error_from_body,
    redact,
)
from fanpulse.collector.graph import GraphClient, UsageTracker
from fanpulse.logs import RedactSecrets


def body(code: int, subcode: int | None = None, message: str = "m", **extra: object) -> dict:
    err: dict[str, object] = {"message": message, "type": "OAuthException", "code": code,
                              "fbtrace_id": "Axyz", **extra}
    if subcode is not None:
        err["error_subcode"] = subcode
    return {"error": err}


@pytest.mark.parametrize(
    ("code", "subcode", "status", "cls", "retryable", "reason"),
    [
        (1, None, 500, TransientError, True, "temporary problem"),
        (2, None, 503, TransientError, True, "temporary problem"),
        (4, None, 400, ThrottledError, True, "quota (app, code 4)"),
        (17, None, 400, ThrottledError, True, "quota (app, code 17)"),
        (32, None, 400, ThrottledError, True, "quota (Page, code 32)"),
        (613, None, 400, ThrottledError, True, "quota (Page, code 613)"),
        (80001, None, 400, ThrottledError, True, "quota (Page, code 80001)"),
        (190, 460, 400, TokenError, False, "password was changed"),
        (190, 463, 400, TokenError, False, "token has expired"),
        (190, 467, 400, TokenError, False, "token is invalid"),
        (102, None, 400, TokenError, False, "access token problem"),
        (10, None, 403, PermissionDenied, False, "permission missing"),
        (200, None, 403, PermissionDenied, False, "permission missing"),
        (100, 33, 400, NotFound, False, "not found"),
        (803, None, 400, NotFound, False, "not found"),
        (100, None, 400, InvalidRequest, False, "request refused"),
        (999, None, 502, TransientError, True, "temporary problem"),
        (999, None, 400, GraphAPIError, False, "m"),
    ],
)
def test_classification(code: int, subcode: int | None, status: int, cls: type,
                        retryable: bool, reason: str) -> None:
    exc = error_from_body(body(code, subcode), status)
    assert type(exc) is cls
    assert exc.retryable is retryable
    assert reason in exc.reason()


def test_is_transient_flag_makes_any_code_retryable() -> None:
    exc = error_from_body(body(100, message="oops", is_transient=True), 400)
    assert isinstance(exc, TransientError)


def test_expired_token_reason_names_the_day() -> None:
    exc = error_from_body(body(190, 463, "Error validating access token: Session has expired "
                               "on Tuesday, 24-Nov-26 10:00:00 PST. The current time is ..."), 400)
    assert exc.reason() == "token expired on 24/11/2026"


def test_retry_after_minutes_in_reason() -> None:
    exc = error_from_body(body(80001), 400, retry_after_minutes=19)
    assert exc.reason() == "quota (Page, code 80001): retry after 19 min"


def test_bad_metric_is_recognised() -> None:
    exc = error_from_body(body(100, message="(#100) The value must be a valid insights metric"),
                          400)
    assert isinstance(exc, InvalidRequest) and exc.bad_metric


@pytest.mark.parametrize(
    "text",
    [
        "https://graph.facebook.com/v26.0/1/posts?access_token=EAAGsecret123&after=x",
        "GET /v26.0/?ids=1&appsecret_proof=abcdef0123&access_token=EAAGsecret123",
        "debug_token?input_token=EAAGsecret123&access_token=1|2",
    ],
)
def test_redact_query_tokens(text: str) -> None:
    out = redact(text)
    assert "EAAGsecret123" not in out and "abcdef0123" not in out
    assert "REDACTED" in out


def test_redact_known_secret_anywhere() -> None:
    assert redact("token EAAGsecret123 leaked", ["EAAGsecret123"]) == "token REDACTED leaked"


def test_error_messages_never_carry_the_token() -> None:
    exc = error_from_body(body(190, 467, "Invalid OAuth access token EAAGsecret123"), 400,
                          secrets=["EAAGsecret123"])
    assert "EAAGsecret123" not in str(exc) and "EAAGsecret123" not in exc.reason()


def test_log_filter_redacts(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("fanpulse.test")
    record = logger.makeRecord("x", logging.INFO, "f", 1, "calling %s with %s",
                               ("https://h/?access_token=EAAGsecret123", "EAAGsecret123"), None)
    RedactSecrets(["EAAGsecret123"]).filter(record)
    assert "EAAGsecret123" not in record.getMessage()


def test_usage_headers_are_read() -> None:
    tracker = UsageTracker()
    tracker.update({
        "X-App-Usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
        "x-business-use-case-usage": '{"123":[{"type":"pages","call_count":96,'
                                     '"total_cputime":10,"total_time":10,'
                                     '"estimated_time_to_regain_access":19}]}',
    })
    assert tracker.app_percent == 28
    assert tracker.page("123").percent == 96 and tracker.page("123").regain_minutes == 19
    assert tracker.page("999").percent == 0
    tracker.update({"X-App-Usage": "not json"})
    assert tracker.app_percent == 28


def make_client(**kw: object) -> GraphClient:
    return GraphClient("http://127.0.0.1:9", "v26.0", "EAAGsecret123", rng=random.Random(1),
                       sleep=lambda s: None, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "attempt", "expected"),
    [
        (TransientError("x"), 0, (0.5, 1.0)),
        (TransientError("x"), 3, (4.0, 8.0)),
        (TransientError("x"), 4, None),  # max_retries reached
        (TransportError("x"), 1, (1.0, 2.0)),
        (ThrottledError("x", code=80001, retry_after_minutes=1), 0, (60.0, 60.0)),
        (ThrottledError("x", code=80001, retry_after_minutes=19), 0, None),  # > max_wait
        (ThrottledError("x", code=4), 0, (5.0, 10.0)),
        (TokenError("x", code=190), 0, None),
        (NotFound("x", code=803), 0, None),
    ],
)
def test_one_retry_policy(exc: Exception, attempt: int,
                          expected: tuple[float, float] | None) -> None:
    wait = make_client(max_wait=120.0).backoff(exc, attempt)  # type: ignore[arg-type]
    if expected is None:
        assert wait is None
    else:
        assert wait is not None and expected[0] <= wait <= expected[1]


def test_next_links_are_rebased_and_lose_their_token() -> None:
    client = make_client()
    path, params = client.next_request(
        "https://graph.facebook.com/v25.0/123/posts?fields=id&limit=100"
        "&access_token=OTHER&after=QVFI")
    assert path == "123/posts"
    assert params == {"fields": "id", "limit": "100", "after": "QVFI"}


def test_client_hmac_proof() -> None:
    import hashlib
    import hmac
    client = make_client(app_secret="s3cret")
    expected = hmac.new(b"s3cret", b"EAAGsecret123", hashlib.sha256).hexdigest()
    assert client._auth()["appsecret_proof"] == expected
    assert "s3cret" not in client.redact("x s3cret y")
