"""Graph API errors, and the one place that decides what to do about each.

Exception tree (catch the parent you care about)::

    GraphError                      anything that went wrong talking to the Graph API
    ├── TransportError              no usable HTTP answer: connection refused/reset, timeout,
    │                               a body that is not JSON
    ├── GraphAPIError               Graph answered with an error body ({"error": {...}})
    │   ├── TransientError          codes 1 (with HTTP 5xx or is_transient), 2, 341, 368,
    │   │                           is_transient, HTTP 5xx: try again later
    │   ├── ThrottledError          4, 17, 32, 613, 80000-80008: Meta asks us to slow down
    │   ├── TokenError              190, 102: the token is expired, invalid or revoked
    │   ├── PermissionDenied        3, 10, 200-299: the token lacks a permission or task
    │   │   └── PageTokenRequired   190/2069032: this call needs the Page's own token; the
    │   │                           token itself is fine (docs/graph-api.md §0)
    │   ├── NotFound                100/33, 803: the Page or post does not exist (any more)
    │   └── InvalidRequest          other 100s, code 1 with HTTP 4xx: a bad field, metric,
    │       │                       parameter or window; never retried
    │       └── NoInsights          2874008: Meta keeps no insights for this (small) Page
    └── PaginationLoop              paging.next pointed back at a page already read

Graph signals throttling with a code in the JSON body, usually with HTTP 400, not 429
(docs/graph-api.md §8), so classification reads the code and subcode, never only the status.
Messages never contain a token: URLs are redacted before they get here (``redact``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

THROTTLE_CODES = frozenset({4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006,
                            80008})
APP_WIDE_THROTTLES = frozenset({4, 17})  # app or token-wide: every Page is affected
TRANSIENT_CODES = frozenset({1, 2, 341, 368})
TOKEN_CODES = frozenset({102, 190})
PAGE_TOKEN_REQUIRED = 2069032  # 190 with this subcode: use the Page's own token (§0)
NO_INSIGHTS = 2874008  # "Facebook Page insights are only available for Pages with at l…" (§0)

TOKEN_SUBCODES = {
    458: "the app is no longer installed for the user who made the token",
    459: "the user is checkpointed and must log in at facebook.com",
    460: "the password was changed since the token was made",
    463: "the token has expired",
    464: "the user account is unconfirmed",
    467: "the token is invalid",
    492: "the session is invalid",
}

_SECRET_PARAMS = re.compile(
    r"((?:access_token|appsecret_proof|input_token|client_secret|fb_exchange_token)=)[^&\s\"'#]+",
    re.IGNORECASE,
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove tokens from a URL or message (query parameters and any known secret value)."""
    text = _SECRET_PARAMS.sub(r"\1REDACTED", text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "REDACTED")
    return text


class GraphError(Exception):
    """Base of every Graph API failure."""

    retryable = False

    def reason(self) -> str:
        """The failure in words for a person reading `fanpulse status`."""
        return str(self)


class TransportError(GraphError):
    retryable = True

    def reason(self) -> str:
        return f"Graph API unreachable: {self}"


class PaginationLoop(GraphError):
    pass


class GraphAPIError(GraphError):
    """An error body returned by the Graph API."""

    kind = "other"

    def __init__(self, message: str, *, code: int | None = None, subcode: int | None = None,
                 error_type: str | None = None, http_status: int | None = None,
                 fbtrace_id: str | None = None, is_transient: bool = False,
                 retry_after_minutes: int | None = None, object_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.error_type = error_type
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.is_transient = is_transient
        self.retry_after_minutes = retry_after_minutes
        self.object_id = object_id

    def __str__(self) -> str:
        code = f"code {self.code}" + (f"/{self.subcode}" if self.subcode else "")
        return f"{self.message} ({code}, HTTP {self.http_status})"


class TransientError(GraphAPIError):
    kind = "transient"
    retryable = True

    def reason(self) -> str:
        return f"Facebook had a temporary problem: {self.message}"


class ThrottledError(GraphAPIError):
    kind = "throttled"
    retryable = True

    @property
    def app_wide(self) -> bool:
        return self.code in APP_WIDE_THROTTLES

    def reason(self) -> str:
        scope = "app" if self.app_wide else "Page"
        if self.retry_after_minutes:
            return f"quota ({scope}, code {self.code}): retry after {self.retry_after_minutes} min"
        return f"quota ({scope}, code {self.code}): Meta asked to slow down"


class TokenError(GraphAPIError):
    kind = "token"

    def reason(self) -> str:
        meaning = TOKEN_SUBCODES.get(self.subcode or 0, "the token was refused")
        expired = _expiry_date(self.message)
        if self.subcode == 463 and expired:
            return f"token expired on {expired}"
        return f"access token problem: {meaning}"


class PermissionDenied(GraphAPIError):
    kind = "permission"

    def reason(self) -> str:
        return f"permission missing: {self.message}"


class PageTokenRequired(PermissionDenied):
    """190/2069032: on New Page Experience Pages every edge needs that Page's own token. An
    access problem of one Page, never a sign that the configured token is dead."""

    def reason(self) -> str:
        return ("this call needs the Page's own access token (code 190/2069032); the token "
                "has no role on this Page")


class NotFound(GraphAPIError):
    kind = "not_found"

    def reason(self) -> str:
        return "Page or post not found (deleted, unpublished to this token, or a wrong id)"


class InvalidRequest(GraphAPIError):
    kind = "invalid"

    @property
    def bad_metric(self) -> bool:
        return "valid insights metric" in self.message

    def reason(self) -> str:
        return f"request refused: {self.message}"


class NoInsights(InvalidRequest):
    """Meta keeps no insights for this Page (too small); not a failure of the collector."""

    def reason(self) -> str:
        return "Facebook keeps no insights for this Page"


_EXPIRED_ON = re.compile(r"expired on \w+, (\d{1,2})-(\w{3})-(\d{2,4})")
_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def _expiry_date(message: str) -> str | None:
    """'Session has expired on Tuesday, 24-Nov-26 ...' -> '24/11/2026' (Vietnamese order)."""
    match = _EXPIRED_ON.search(message)
    if not match or match.group(2) not in _MONTHS:
        return None
    day, month, year = int(match.group(1)), _MONTHS[match.group(2)], int(match.group(3))
    year = year + 2000 if year < 100 else year
    try:
        return dt.date(year, month, day).strftime("%d/%m/%Y")
    except ValueError:
        return None


def error_class(code: int | None, subcode: int | None, http_status: int | None,
                is_transient: bool) -> type[GraphAPIError]:
    """The single decision of what kind of failure a Graph error is (style.md 6)."""
    if code in THROTTLE_CODES:
        return ThrottledError
    if code == 190 and subcode == PAGE_TOKEN_REQUIRED:
        return PageTokenRequired
    if code in TOKEN_CODES:
        return TokenError
    if code == 1 and not is_transient and (http_status is None or http_status < 500):
        # Code 1 with HTTP 400 and no is_transient is a refusal (e.g. "There cannot be more
        # than 90 days between since and until"): asking again gets the same answer.
        return InvalidRequest
    if is_transient or code in TRANSIENT_CODES:
        return TransientError
    if code == 803 or (code == 100 and subcode == 33):
        return NotFound
    if code == NO_INSIGHTS or subcode == NO_INSIGHTS:
        return NoInsights
    if code is not None and (code in (3, 10) or 200 <= code <= 299):
        return PermissionDenied
    if code == 100:
        return InvalidRequest
    if http_status is not None and http_status >= 500:
        return TransientError
    return GraphAPIError


def error_from_body(body: Any, http_status: int | None,
                    retry_after_minutes: int | None = None,
                    secrets: Iterable[str] = ()) -> GraphAPIError:
    """Build the right exception from a parsed ``{"error": {...}}`` body."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    code = err.get("code")
    subcode = err.get("error_subcode")
    code = code if isinstance(code, int) else None
    subcode = subcode if isinstance(subcode, int) else None
    transient = bool(err.get("is_transient", False))
    cls = error_class(code, subcode, http_status, transient)
    message = redact(str(err.get("message") or f"HTTP {http_status}"), secrets)
    return cls(message, code=code, subcode=subcode, error_type=err.get("type"),
               http_status=http_status, fbtrace_id=err.get("fbtrace_id"),
               is_transient=transient, retry_after_minutes=retry_after_minutes)
