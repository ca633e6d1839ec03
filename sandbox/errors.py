"""Graph API errors as the sandbox returns them (docs/graph-api.md §8).

Every failure is a ``GraphError`` carrying the HTTP status and the JSON body fields; handlers
raise it and the dispatcher renders ``{"error": {...}}``. The messages are the ones recorded
from Facebook where a recording exists; docs/sandbox.md lists the ones we had to choose.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

from . import rand
from .timeutil import fb_expiry_text

_trace_counter = itertools.count()
_trace_lock = threading.Lock()
_TRACE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def new_fbtrace_id() -> str:
    """A 23-character trace id shaped like Facebook's (``AK5w64sspf_nMUi-7r8eg31``)."""
    with _trace_lock:
        n = next(_trace_counter)
    h = rand.h64("fbtrace", n) << 64 | rand.h64("fbtrace2", n)
    chars = []
    for _ in range(23):
        h, r = divmod(h, len(_TRACE_ALPHABET))
        chars.append(_TRACE_ALPHABET[r])
    return "A" + "".join(chars[1:])


class GraphError(Exception):
    """A Graph API error: HTTP status plus the fields of the ``error`` object."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int,
        type_: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        usage_minutes: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type_
        self.subcode = subcode
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg
        # For throttling raised by fault injection: minutes to show in the usage header.
        self.usage_minutes = usage_minutes

    def body(self, fbtrace_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        err["code"] = self.code
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.user_title is not None:
            err["error_user_title"] = self.user_title
        if self.user_msg is not None:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = fbtrace_id or new_fbtrace_id()
        return {"error": err}


# -- invalid requests (#100 and friends), HTTP 400 ---------------------------------------------


def nonexisting_field(name: str, node_type: str) -> GraphError:
    return GraphError(
        400, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
    )


def unknown_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        400,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
        subcode=33,
    )


def unsupported_request(method: str = "get") -> GraphError:
    return GraphError(
        400,
        f"Unsupported {method} request. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
    )


def aliases_missing(aliases: list[str]) -> GraphError:
    return GraphError(
        400, f"(#803) Some of the aliases you requested do not exist: {','.join(aliases)}", 803
    )


def too_many_ids(provided: int) -> GraphError:
    return GraphError(400, f"(#100) Too many IDs. Maximum: 50. Provided: {provided}.", 100)


def limit_too_high(maximum: int = 100) -> GraphError:
    return GraphError(400, f"(#100) The 'limit' parameter should not exceed {maximum}", 100)


def bad_param(message: str) -> GraphError:
    return GraphError(400, f"(#100) {message}", 100)


def invalid_metric() -> GraphError:
    return GraphError(400, "(#100) The value must be a valid insights metric", 100)


def invalid_period() -> GraphError:
    return GraphError(
        400,
        "(#100) period must be one of the following values: day, week, days_28, month, "
        "lifetime, total_over_range",
        100,
    )


def no_metric() -> GraphError:
    return GraphError(
        400,
        "Invalid query",
        3001,
        subcode=1504028,
        user_title="No Metric Specified",
        user_msg="No metric was specified to be fetched. Please specify one or more metrics "
        "to be fetched and try again.",
    )


def range_too_long(days: int = 90) -> GraphError:
    # Recorded elsewhere as code 1 with 93 days; docs/graph-api.md §4 says 90 (docs/sandbox.md).
    return GraphError(
        400,
        f"There cannot be more than {days} days ({days * 86400} s) between since and until",
        1,
    )


def syntax_error(detail: str, position: int, text: str) -> GraphError:
    return GraphError(400, f'Syntax error "{detail}" at character {position}: {text}', 2500)


def unknown_path(rest: str) -> GraphError:
    return GraphError(400, f"Unknown path components: {rest}", 2500)


def batch_too_large() -> GraphError:
    return GraphError(
        400,
        "Too many requests in batch message. Maximum batch size is 50",
        100,
        "GraphBatchException",
    )


def batch_invalid(message: str) -> GraphError:
    return GraphError(400, message, 100, "GraphBatchException")


# -- tokens (190) and app secret proof ----------------------------------------------------------


def token_missing() -> GraphError:
    return GraphError(400, "An access token is required to request this resource.", 104)


def token_unparseable() -> GraphError:
    return GraphError(400, "Invalid OAuth access token - Cannot parse access token", 190)


def token_expired(expired_at: datetime, now: datetime) -> GraphError:
    return GraphError(
        400,
        f"Error validating access token: Session has expired on {fb_expiry_text(expired_at)}. "
        f"The current time is {fb_expiry_text(now)}.",
        190,
        subcode=463,
    )


def token_password_changed() -> GraphError:
    return GraphError(
        400,
        "Error validating access token: The session has been invalidated because the user "
        "changed their password or Facebook has changed the session for security reasons.",
        190,
        subcode=460,
    )


def token_invalidated() -> GraphError:
    return GraphError(
        400,
        "Error validating access token: The session is invalid because the user logged out.",
        190,
        subcode=467,
    )


def token_role_removed() -> GraphError:
    """A Page token whose Page stopped sharing with the Business Manager (§10: role removal
    invalidates it). Subcode 492 ("invalid session") is in the table of §8; the wording is ours.
    """
    return GraphError(
        400,
        "Error validating access token: The session is invalid because the user no longer has "
        "a role on the Page.",
        190,
        subcode=492,
    )


def proof_missing() -> GraphError:
    return GraphError(
        400,
        "API calls from the server require an appsecret_proof argument",
        100,
        "GraphMethodException",
    )


def proof_invalid() -> GraphError:
    return GraphError(
        400, "Invalid appsecret_proof provided in the API argument", 100, "GraphMethodException"
    )


# -- permissions (10, 200), HTTP 403 ------------------------------------------------------------


def permission_scope(scope: str) -> GraphError:
    if scope == "pages_read_engagement":
        text = (
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page "
            "Public Content Access' feature. Refer to "
            "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages and "
            "https://developers.facebook.com/docs/apps/review/"
            "feature#reference-PAGES_ACCESS_FEATURE for details."
        )
    else:
        text = f"(#10) This endpoint requires the '{scope}' permission."
    return GraphError(403, text, 10)


def permission_object(scope: str = "pages_read_engagement") -> GraphError:
    return GraphError(403, f"(#200) Requires {scope} permission to manage the object", 200)


def insights_not_available() -> GraphError:
    """Insights of a Page the caller has no ANALYZE task on: never readable (§0, §10)."""
    return GraphError(
        403,
        "(#10) This endpoint requires the 'read_insights' permission and a Page access token "
        "of a Page you have a role on with the ANALYZE task. Insights are not available for "
        "Pages you do not manage.",
        10,
    )


# -- the New Pages Experience: wrong token type (§0) ---------------------------------------------


def page_token_required() -> GraphError:
    """A user or system-user token where the Page's own token is needed (190 / 2069032, §0).

    Not a dead token: the caller should ask ``/me/accounts`` for the Page token and retry.
    """
    return GraphError(400, "A Page access token is required for this call.", 190, subcode=2069032)


# -- legacy features a new app may not use (§0) ---------------------------------------------------


def multi_id_refused(version_wide: bool = False) -> GraphError:
    if version_wide:
        # An existing app on v26.0+: the root ids parameter is gone for every app (§0, S51).
        return GraphError(
            400,
            "(#100) Multi-ID requests (the ids parameter on the root node) are not supported "
            "from v26.0. Use per-object requests or supported batching.",
            100,
        )
    return GraphError(
        400,
        "(#100) Multi-ID requests are not available to this app. Use per-object requests or "
        "supported batching.",
        100,
    )


def aliases_refused(aliases: list[str]) -> GraphError:
    named = ", ".join(f".as({a})" for a in aliases)
    return GraphError(400, f"(#100) Field aliases are not available to this app: {named}", 100)


def legacy_param_refused(param: str, feature: str) -> GraphError:
    message = f"(#100) {feature} is not available to this app (parameter {param})"
    return GraphError(400, message, 100)


def async_batch_refused() -> GraphError:
    return GraphError(
        400,
        "(#100) Asynchronous batch requests are not available to this app. Use synchronous "
        "batch requests (POST / with batch=) instead.",
        100,
    )


# -- server trouble and throttling --------------------------------------------------------------


def reduce_data() -> GraphError:
    return GraphError(
        500,
        "Please reduce the amount of data you're asking for, then retry your request",
        1,
        is_transient=True,
    )


def transient(status: int = 500) -> GraphError:
    return GraphError(
        status,
        "An unexpected error has occurred. Please retry your request later.",
        2,
        is_transient=True,
    )


THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


def throttled(code: int, usage_minutes: int | None = None) -> GraphError:
    return GraphError(
        400, THROTTLE_MESSAGES[code], code, is_transient=True, usage_minutes=usage_minutes
    )
