"""What the configured token is, which Pages it reaches, and with which token.

Facebook as a new app meets it since November 2026 (docs/graph-api.md §0, §10):

* On New Page Experience Pages (all Pages now) every edge (posts, insights, ...) needs that
  Page's **own** token; a user or system-user token reads only the Page node's public fields.
* Page tokens come from ``/me/accounts``: one paged listing gives, for every Page the token's
  user has a task on, its audience (by field expansion), its Page token and its tasks.
* A Page that was never shared with the Business Manager has no Page token: its audience is
  public, its posts need the Page Public Content Access feature, its insights are out of reach.

A night starts with :func:`check_token` (``/me``, ``/me/permissions``) and
:func:`list_accounts`; a token that cannot work at all raises :class:`UnusableToken` with one
sentence that says what to change, before any Page is tried. The listing takes one call per 100
Pages, one after another (500 at 50,000 Pages): :func:`accounts_told_to` lets the night
collect the Pages of each page of it while the next is asked for. Page tokens live only in memory:
they are registered with the client as secrets (redacted everywhere) and never stored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fanpulse.collector.errors import (
    GraphAPIError,
    GraphError,
    InvalidRequest,
    PermissionDenied,
    TokenError,
)
from fanpulse.collector.graph import GraphClient

log = logging.getLogger(__name__)

ACCOUNT_FIELDS = ("id,name,username,link,fan_count,followers_count,talking_about_count,"
                  "is_published,access_token,tasks")
ACCOUNTS_LIMIT = 100  # the most /me/accounts hands out per page (docs/sandbox.md)
NEEDED = ("pages_show_list", "pages_read_engagement")
EXPIRY_WARNING_DAYS = 14

# What the token can read of a Page (pages.access), best first.
FULL, PARTIAL, AUDIENCE, UNREACHABLE = "full", "partial", "audience", "unreachable"
LEVELS = (FULL, PARTIAL, AUDIENCE, UNREACHABLE)

SHARE_ACTION = ("ask the Page's admin to share the Page with the Business Manager as a partner "
                "asset, with at least the Analyze task (README: Pointing it at real Pages)")
ANALYZE_ACTION = ("ask the Page's admin to give the Business Manager the Analyze task on this "
                  "Page (Business settings > Pages > the Page > partner access)")
INSIGHTS_SCOPE_ACTION = "make a new token that includes the read_insights permission"
REF_ACTION = ("check the Page's id or username in the units file; if it is right, the Page "
              "is unpublished or deleted, or hidden from this token")


class UnusableToken(Exception):
    """The configured token cannot collect anything; the message says what to change."""


@dataclass
class TokenInfo:
    """What fanpulse learned about the configured token."""

    kind: str  # "user" (a user or system user), "page" (one Page's own token)
    id: str | None = None
    name: str | None = None
    permissions: frozenset[str] | None = None  # None: not known (a Page token)
    token_type: str | None = None  # debug_token's type, when the app id and secret are set
    expires_at: dt.datetime | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def read_insights(self) -> bool:
        return self.permissions is None or "read_insights" in self.permissions

    def describe(self) -> str:
        kind = self.token_type or ("PAGE" if self.kind == "page" else "USER or SYSTEM_USER")
        who = f"{self.name} ({self.id})" if self.name else (self.id or "?")
        expiry = ("never expires" if self.expires_at is None and self.token_type
                  else f"expires {self.expires_at:%d/%m/%Y}" if self.expires_at else "")
        scopes = ", ".join(sorted(self.permissions)) if self.permissions is not None else ""
        parts = [f"{kind} token of {who}"]
        if scopes:
            parts.append(f"permissions: {scopes}")
        if expiry:
            parts.append(expiry)
        return "; ".join(parts)


@dataclass
class Account:
    """A Page the token's user has a role on, as ``/me/accounts`` lists it."""

    node: dict[str, Any]  # the Page's fields, access_token removed
    token: str | None = field(repr=False)
    tasks: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return str(self.node.get("id", ""))


def token_problem(exc: GraphError) -> str:
    """One sentence on why the configured token failed, with what to change."""
    if isinstance(exc, TokenError):
        return (f"the configured access token was refused: {exc.reason()} "
                f"(code {exc.code}/{exc.subcode or '-'}). Make a new system-user token and set "
                "FANPULSE_ACCESS_TOKEN (README: Pointing it at real Pages)")
    if isinstance(exc, GraphAPIError) and exc.code == 2500:
        return ("the configured token is an app token (app id|secret), which cannot read "
                "Pages; use a system-user token of the Business Manager that owns the Pages")
    return f"the configured access token could not be checked: {exc.reason()}"


def check_token(client: GraphClient, app_id: str = "", app_secret: str = "",
                now: dt.datetime | None = None) -> TokenInfo:
    """Who the token is and what it may do. Raises UnusableToken when it cannot work at all;
    other GraphErrors (Facebook unreachable) pass through."""
    try:
        me = client.get("me", {"fields": "id,name"})
    except (TokenError, PermissionDenied) as exc:
        raise UnusableToken(token_problem(exc)) from None
    except GraphAPIError as exc:
        if exc.code == 2500:
            raise UnusableToken(token_problem(exc)) from None
        raise
    info = TokenInfo("user", str(me.get("id") or ""), me.get("name"))
    try:
        body = client.get("me/permissions")
        info.permissions = frozenset(
            str(p.get("permission")) for p in body.get("data", [])
            if isinstance(p, dict) and p.get("status") == "granted")
    except InvalidRequest as exc:
        if "node type (Page)" not in exc.message:
            raise
        info.kind = "page"  # /me is a Page: this is one Page's own token
    except TokenError as exc:
        raise UnusableToken(token_problem(exc)) from None
    if app_id and app_secret:
        _debug(client, info, f"{app_id}|{app_secret}", now or dt.datetime.now(dt.UTC))
    if info.permissions is not None:
        missing = [p for p in NEEDED if p not in info.permissions]
        if missing:
            raise UnusableToken(
                f"the configured token lacks {' and '.join(missing)}, without which no Page's "
                "posts can be read; make a new token with pages_show_list, "
                "pages_read_engagement and read_insights (README: Pointing it at real Pages)")
        if "read_insights" not in info.permissions:
            info.warnings.append("the token lacks read_insights: no insights will be collected "
                                 f"({INSIGHTS_SCOPE_ACTION})")
    return info


def _debug(client: GraphClient, info: TokenInfo, app_token: str, now: dt.datetime) -> None:
    """debug_token (needs the app's own token): type, scopes and expiry of the token."""
    client.add_secret(app_token)
    try:
        body = client.get("debug_token", {"input_token": client.token_value()},
                          token=app_token)
    except GraphError as exc:
        info.warnings.append(f"debug_token failed ({exc.reason()}); check FANPULSE_APP_ID")
        return
    data = body.get("data", {}) if isinstance(body, dict) else {}
    if not data.get("is_valid", True):
        error = data.get("error") or {}
        raise UnusableToken(
            "the configured access token is not valid: "
            f"{client.redact(str(error.get('message', '')))} Make a new system-user token "
            "(README: Pointing it at real Pages)")
    info.token_type = str(data.get("type") or "") or None
    if isinstance(data.get("scopes"), list):
        info.permissions = frozenset(str(s) for s in data["scopes"])
    expires = data.get("expires_at")
    if isinstance(expires, int) and expires > 0:
        info.expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
        if info.expires_at - now < dt.timedelta(days=EXPIRY_WARNING_DAYS):
            info.warnings.append(f"the token expires on {info.expires_at:%d/%m/%Y}: make a "
                                 "system-user token, which does not expire")


# Told each page of /me/accounts as it arrives, before the next is asked for (the night
# collects those Pages meanwhile); see accounts_told_to.
AccountsArrived = Callable[[list[Account]], None]
_listener: ContextVar[AccountsArrived | None] = ContextVar("fanpulse_accounts_listener",
                                                           default=None)


@contextmanager
def accounts_told_to(arrived: AccountsArrived) -> Iterator[None]:
    """While inside, :func:`list_accounts` (in this thread) tells ``arrived`` each page of
    accounts as it comes in, all but the last: the last arrives with the end of the listing
    and is only in what ``list_accounts`` returns. The listing keeps its signature (the access
    check, the units draft and tests call it, or stand in for it, as a plain function).
    ``arrived`` may raise to stop the listing."""
    reset = _listener.set(arrived)
    try:
        yield
    finally:
        _listener.reset(reset)


def list_accounts(client: GraphClient, info: TokenInfo) -> dict[str, Account]:
    """Every Page the token reaches with a Page token, keyed by Page id.

    A Page token reaches its own Page only; a user or system-user token the Pages listed by
    ``/me/accounts`` (one call per 100 Pages), each page told as it arrives inside
    :func:`accounts_told_to`."""
    if info.kind == "page":  # the configured token is this Page's own token
        return {info.id or "": Account({"id": info.id, "name": info.name},
                                       client.token_value())}
    accounts: dict[str, Account] = {}
    params = {"fields": ACCOUNT_FIELDS, "limit": str(ACCOUNTS_LIMIT)}
    listener = _listener.get()
    arrived: list[Account] = []

    def tell() -> None:  # called between two pages of the listing
        if listener is not None and arrived:
            listener(arrived.copy())
        arrived.clear()

    try:
        for entry in client.paginate("me/accounts", params, before_next=tell):
            node = dict(entry)
            token = node.pop("access_token", None)
            tasks = node.pop("tasks", None)
            if token:
                client.add_secret(str(token))
            account = Account(node, str(token) if token else None,
                              tuple(str(t) for t in tasks) if isinstance(tasks, list) else ())
            accounts[account.id] = account
            arrived.append(account)
    except (TokenError, PermissionDenied) as exc:
        raise UnusableToken(token_problem(exc)) from None
    if not accounts:
        raise UnusableToken(
            f"the token's user ({info.name or info.id}) has no role on any Page: assign the "
            "Pages to this system user in Business settings (task Analyze at least), or use "
            "the token of a user who manages them")
    return accounts


def by_username(accounts: dict[str, Account]) -> dict[str, Account]:
    """The accounts by lower-case username, the first listed for each."""
    found: dict[str, Account] = {}
    for account in accounts.values():
        found.setdefault(str(account.node.get("username") or "").lower(), account)
    return found


def match_account(accounts: dict[str, Account], graph_id: str | None, ref: str,
                  usernames: dict[str, Account] | None = None) -> Account | None:
    """The account entry for a configured Page (by id, else by username). ``usernames``:
    ``by_username(accounts)``, made once when matching many Pages."""
    if graph_id and graph_id in accounts:
        return accounts[graph_id]
    if ref in accounts:
        return accounts[ref]
    if usernames is None:
        usernames = by_username(accounts)
    return usernames.get(ref.lower())


@dataclass
class Access:
    """What the token can read of one Page, in words for `status` and the reports."""

    level: str
    reason: str | None = None
    action: str | None = None


def classify(*, found: bool, has_token: bool, tasks: tuple[str, ...],
             posts_readable: bool | None, insights_state: str | None,
             read_insights: bool) -> Access:
    """The access level of a Page from what the night learned about it."""
    if not found:
        return Access(UNREACHABLE, "the Page could not be read (not found)", REF_ACTION)
    if not has_token:
        if posts_readable:
            return Access(PARTIAL, "not shared with the Business Manager: audience and public "
                          "posts only, no insights", SHARE_ACTION)
        return Access(AUDIENCE, "not shared with the Business Manager: no Page token, so only "
                      "the audience is readable", SHARE_ACTION)
    if posts_readable is False:
        return Access(AUDIENCE, "the Page token could not read the posts", ANALYZE_ACTION)
    if not read_insights:
        return Access(PARTIAL, "the token lacks read_insights: no insights",
                      INSIGHTS_SCOPE_ACTION)
    if insights_state == "refused":
        if tasks and "ANALYZE" not in tasks:
            return Access(PARTIAL, "no Analyze task on this Page: no insights",
                          ANALYZE_ACTION)
        return Access(PARTIAL, "insights refused by Facebook for this Page", ANALYZE_ACTION)
    return Access(FULL)
