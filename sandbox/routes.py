"""Routing a Graph call to its handler: object lookup, edges, ids=, debug_token, accounts.

``Router.route`` resolves the path against the world (unknown ids 100/33, aliases 803, unknown
edges #100) and returns a ``Route``: the pages the call touches (for the quotas) and a function
that produces the body once quotas and injected faults have let the call through. The body
functions check access first (``access``: scope, Page token, role, PPCA, ANALYZE).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import access, errors
from .context import Ctx, decode_cursor, encode_cursor, parse_limit
from .errors import GraphError
from .fields import FieldSpec, parse_fields
from .history import PostSpec, split_post_id
from .insights import metric_names, page_insights, post_insights, window
from .reference_fields import NPE_ERROR_EDGES, PAGE_EDGES, POST_EDGES, RETIRED_POST_EDGES
from .render import (
    ABSENT,
    PAGE_HANDLERS,
    Handler,
    attachments_value,
    comments_value,
    post_list,
    reactions_value,
    render,
    render_page,
    render_post,
    render_user,
)
from .timeutil import to_ts
from .tokens import Token
from .units import PageSpec
from .world import World

MAX_IDS = 50
_ACCOUNT_HANDLERS: dict[str, Handler] = {
    **PAGE_HANDLERS,
    "tasks": lambda ctx, s, fs: list(ctx.world.tasks(s.id)),
}
_POST_EDGES = ("posts", "published_posts", "feed")
# Reference edges the sandbox does not simulate: an empty list for whoever may read them.
_EMPTY_PAGE_EDGES = (
    frozenset(PAGE_EDGES) - NPE_ERROR_EDGES - {*_POST_EDGES, "insights", "picture"}
)
_SIMULATED_POST_EDGES = {"insights", "reactions", "comments", "attachments"}
_EMPTY_POST_EDGES = frozenset(POST_EDGES) - RETIRED_POST_EDGES - _SIMULATED_POST_EDGES
_ACCOUNT_DEFAULT = ("access_token", "category", "category_list", "name", "id", "tasks")


@dataclass
class Route:
    kind: str
    page_ids: list[str]
    run: Callable[[Ctx], Any]
    items: int = 1  # how much data the call asks for (decides if code 1 may be injected)


class Router:
    """Maps paths to handlers for one world."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _visible(self, page_id: str, token: Token) -> bool:
        state = self.world.page_state(page_id)
        if state == "live":
            return True
        # An unpublished Page stays visible to those with a role on it: its Page token and a
        # user or system user it is shared with; everyone else gets 100/33 (docs/sandbox.md).
        return state == "unpublished" and self.world.has_role(token, page_id)

    def _resolve(self, ref: str, token: Token) -> tuple[str, Any]:
        """("page", PageSpec) | ("post", PostSpec) | ("user", None)."""
        world = self.world
        if ref == "me":
            if token.type == "PAGE" and token.page_ids:
                ref = sorted(token.page_ids)[0]
            elif token.type == "APP":
                raise GraphError(
                    400,
                    "An active access token must be used to query information about the "
                    "current user.",
                    2500,
                )
            else:
                return ("user", None)
        if ref.isdigit():
            spec = world.specs.get(ref)
            if spec is None or not self._visible(ref, token):
                raise errors.unknown_object(ref)
            return ("page", spec)
        if split_post_id(ref) is not None or ("_" in ref and ref.replace("_", "").isdigit()):
            post = world.find_post(ref)
            if post is None or not self._visible(post.page_id, token):
                raise errors.unknown_object(ref)
            return ("post", post)
        pid = world.page_for_username(ref)
        if pid is None or world.page_state(pid) == "deleted":
            raise errors.aliases_missing([ref])
        if not self._visible(pid, token):
            raise errors.unknown_object(ref)
        return ("page", world.specs[pid])

    def route(self, segments: list[str], token: Token, params: dict[str, str]) -> Route:
        """Resolve the path (after the version) into a ``Route``, or raise the Graph error."""
        fields = _FieldsCache(params.get("fields"))
        if not segments:
            if "ids" in params:
                return self._route_ids(params["ids"], token, fields)
            raise errors.unsupported_request("get")
        head, rest = segments[0], segments[1:]
        if head == "debug_token" and not rest:
            return Route("debug_token", [], lambda ctx: self._debug_token(ctx))
        node_kind, node = self._resolve(head, token)
        if node_kind == "user":
            if not rest:
                return Route("me", [], lambda ctx: render_user(ctx, fields.get()))
            if rest == ["accounts"]:
                return Route("accounts", [], lambda ctx: self._accounts(ctx, fields.get()))
            if rest == ["permissions"]:
                return Route("permissions", [], lambda ctx: _permissions(ctx))
            raise errors.nonexisting_field(rest[0], "User")
        if node_kind == "page":
            return self._route_page(node, rest, params, fields)
        return self._route_post(node, rest, params, fields)

    def _route_page(
        self, spec: PageSpec, rest: list[str], params: dict[str, str], fields: _FieldsCache
    ) -> Route:
        pid = spec.id
        if not rest:
            return Route(
                "page",
                [pid],
                lambda ctx: _checked(ctx, pid, lambda: render_page(ctx, spec, fields.get())),
            )
        edge = rest[0]
        if edge in _POST_EDGES:
            _no_more(rest[1:])
            items = _limit_items(params)

            def run(ctx: Ctx) -> Any:
                opts = {
                    k: ctx.params.get(k) for k in ("limit", "since", "until", "after", "before")
                }
                return _checked(ctx, pid, lambda: post_list(ctx, spec, edge, opts, fields.get()))

            return Route(edge, [pid], run, items)
        if edge == "insights":
            _no_more(rest[2:])
            path_metric = rest[1] if len(rest) > 1 else None

            def run_insights(ctx: Ctx) -> Any:
                return _checked(ctx, pid, lambda: page_insights(ctx, spec, ctx.params, path_metric))

            return Route(
                "page_insights", [pid], run_insights, self._insight_items(params, path_metric)
            )
        if edge in _EMPTY_PAGE_EDGES:
            _no_more(rest[1:])

            def run_empty(ctx: Ctx) -> Any:
                return _checked(ctx, pid, lambda: _empty(access.require_private, ctx, pid))

            return Route("other", [pid], run_empty)
        raise errors.nonexisting_field(edge, "Page")

    def _route_post(
        self, post: PostSpec, rest: list[str], params: dict[str, str], fields: _FieldsCache
    ) -> Route:
        pid = post.page_id
        if not rest:
            return Route(
                "post",
                [pid],
                lambda ctx: _content(ctx, pid, lambda: render_post(ctx, post, fields.get())),
            )
        edge = rest[0]
        if edge == "insights":
            _no_more(rest[2:])
            path_metric = rest[1] if len(rest) > 1 else None
            return Route(
                "post_insights",
                [pid],
                lambda ctx: _checked(
                    ctx, pid, lambda: post_insights(ctx, post, ctx.params, path_metric)
                ),
            )
        _no_more(rest[1:])
        if edge in ("reactions", "comments"):
            value_fn = reactions_value if edge == "reactions" else comments_value

            def run_edge(ctx: Ctx) -> Any:
                opts: dict[str, Any] = {
                    k: ctx.params.get(k) for k in ("limit", "type", "order", "after", "before")
                }
                if ctx.params.get("summary"):
                    opts["summary"] = ctx.params["summary"]
                    opts["summary_args"] = ctx.params["summary"].split(",")
                return _content(ctx, pid, lambda: value_fn(ctx, post, opts, fields.get(), False))

            return Route(edge, [pid], run_edge, _limit_items(params))
        if edge == "attachments":

            def run_attachments(ctx: Ctx) -> Any:
                value = attachments_value(post)
                return _content(ctx, pid, lambda: {"data": []} if value is ABSENT else value)

            return Route("attachments", [pid], run_attachments)
        if edge in _EMPTY_POST_EDGES:
            return Route(
                "other", [pid], lambda ctx: _content(ctx, pid, lambda: {"data": []})
            )
        raise errors.nonexisting_field(edge, "Post")

    def _route_ids(self, raw: str, token: Token, fields: _FieldsCache) -> Route:
        given = [r.strip() for r in raw.split(",") if r.strip()]
        if len(given) > MAX_IDS:
            raise errors.too_many_ids(len(given))
        if not given:
            raise errors.bad_param("The parameter ids is required")
        refs = list(dict.fromkeys(given))
        world = self.world

        def alias_missing(ref: str) -> bool:
            if ref.isdigit() or "_" in ref or ref == "me":
                return False
            pid = world.page_for_username(ref)
            return pid is None or world.page_state(pid) == "deleted"

        # No partial answers (§6): unknown aliases first (803), then unknown ids (100/33).
        missing = [r for r in refs if alias_missing(r)]
        if missing:
            raise errors.aliases_missing(missing)
        nodes = [(r, *self._resolve(r, token)) for r in refs]
        page_ids = list(
            dict.fromkeys(
                n.id if kind == "page" else n.page_id for _, kind, n in nodes if kind != "user"
            )
        )

        def run(ctx: Ctx) -> Any:
            for pid in page_ids:
                access.require_read(ctx, pid)
            for _, kind, node in nodes:
                if kind == "post":
                    access.require_content(ctx, node.page_id)
            out = {}
            for ref, kind, node in nodes:
                if kind == "page":
                    out[ref] = render_page(ctx, node, fields.get())
                elif kind == "post":
                    out[ref] = render_post(ctx, node, fields.get())
                else:
                    out[ref] = render_user(ctx, fields.get())
            return out

        return Route("ids", page_ids, run, len(refs))

    def _insight_items(self, params: dict[str, str], path_metric: str | None) -> int:
        try:
            n_metrics = len(metric_names(params, path_metric))
        except GraphError:
            return 1
        span = 2
        if params.get("since") and params.get("until"):
            try:
                since, until = window(self.world.now, params)
                span = max(1, (until - since) // timedelta(days=1))
            except GraphError:
                pass
        return n_metrics * span

    # -- handlers without a page ----------------------------------------------------------------

    def _debug_token(self, ctx: Ctx) -> Any:
        value = ctx.params.get("input_token")
        if not value:
            raise errors.bad_param("The parameter input_token is required")
        token = self.world.tokens.get(value)
        if token is None:
            return {
                "data": {
                    "error": {
                        "code": 190,
                        "message": "Invalid OAuth access token - Cannot parse access token",
                    },
                    "is_valid": False,
                    "scopes": [],
                }
            }
        data: dict[str, Any] = {
            "app_id": self.world.app_id,
            "type": token.type,
            "application": "fanpulse sandbox",
        }
        if token.type == "APP":
            data.update({"is_valid": True, "scopes": []})
            return {"data": data}
        issued = token.issued_at or (self.world.now - timedelta(days=30))
        expiries = [
            t for t in (token.expires_at, self.world.faults.token_expires_at) if t is not None
        ]
        expires = min(expiries) if expiries else None
        problem: GraphError | None = None
        if token.revoked == 460:
            problem = errors.token_password_changed()
        elif token.revoked == 492:
            problem = errors.token_role_removed()
        elif token.revoked is not None:
            problem = errors.token_invalidated()
        elif expires is not None and expires <= ctx.now:
            problem = errors.token_expired(expires, ctx.now)
        data.update(
            {
                "data_access_expires_at": to_ts(ctx.now + timedelta(days=90)),
                "expires_at": to_ts(expires) if expires else 0,
                "is_valid": problem is None,
                "issued_at": to_ts(issued),
            }
        )
        if problem is not None:
            data["error"] = {
                "code": problem.code,
                "message": problem.message,
                "subcode": problem.subcode,
            }
        data["scopes"] = list(token.scopes)
        granular = []
        for scope in token.scopes:
            entry: dict[str, Any] = {"scope": scope}
            if token.page_ids is not None and (
                scope.startswith("pages_") or scope == "read_insights"
            ):
                entry["target_ids"] = sorted(token.page_ids)
            granular.append(entry)
        data["granular_scopes"] = granular
        data["user_id"] = token.user_id
        if token.type == "PAGE" and token.page_ids:
            data["profile_id"] = sorted(token.page_ids)[0]
        return {"data": data}

    def _accounts(self, ctx: Ctx, fields: list[FieldSpec] | None) -> Any:
        token = ctx.token
        if "pages_show_list" not in token.scopes:
            raise errors.permission_scope("pages_show_list")
        # Only the Pages the token has a role on: shared with the Business Manager (a task),
        # within the token's pages, not deleted (§0, §10). A page of the listing reads the
        # world's Pages from its cursor on, as far as it needs, not the whole world: at 50,000
        # Pages a listing of 500 pages otherwise costs the sandbox minutes of CPU.
        order = self.world.pages
        limit = parse_limit(ctx.params.get("limit"))

        def listed(i: int) -> bool:
            pid = order[i]
            return self.world.has_role(token, pid) and (
                self.world.page_state(pid, ctx.now) != "deleted")

        def scan(indexes: range) -> Any:  # the listed Pages among ``indexes``, in that order
            return (i for i in indexes if listed(i))

        after, before = ctx.params.get("after"), ctx.params.get("before")
        if after is not None:
            chosen = list(itertools.islice(scan(range(_cursor_index(after) + 1, len(order))),
                                           limit))
        elif before is not None:
            chosen = list(itertools.islice(scan(range(_cursor_index(before) - 1, -1, -1)),
                                           limit))[::-1]
        else:
            chosen = list(itertools.islice(scan(range(len(order))), limit))
        data = [
            render(
                ctx, "Page", _ACCOUNT_HANDLERS, self.world.specs[order[i]], order[i], fields,
                _ACCOUNT_DEFAULT
            )
            for i in chosen
        ]
        out: dict[str, Any] = {"data": data}
        if chosen:  # cursors always, next/previous only when more exists (as paging_block)
            first, last = encode_cursor(f"{chosen[0]:010d}"), encode_cursor(f"{chosen[-1]:010d}")
            paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
            if next(scan(range(chosen[0] - 1, -1, -1)), None) is not None:
                paging["previous"] = ctx.self_link({"before": first}, drop=("after", "before"))
            if next(scan(range(chosen[-1] + 1, len(order))), None) is not None:
                paging["next"] = ctx.self_link({"after": last}, drop=("after", "before"))
            out["paging"] = paging
        if ctx.params.get("summary", "").lower() in ("1", "true", "total_count"):
            out["summary"] = {"total_count": sum(1 for _ in scan(range(len(order))))}
        return out


def _cursor_index(cursor: str) -> int:
    """The world index of the Page a ``/me/accounts`` cursor names."""
    key = decode_cursor(cursor)
    if not key.isdigit():
        raise errors.bad_param("Invalid cursor")
    return int(key)


class _FieldsCache:
    """Parses ``fields`` once, lazily, so syntax errors surface after the quota check."""

    def __init__(self, text: str | None) -> None:
        self.text = text
        self._parsed: list[FieldSpec] | None = None

    def get(self) -> list[FieldSpec] | None:
        if self.text is None or self.text.strip() == "":
            return None
        if self._parsed is None:
            self._parsed = parse_fields(self.text)
        return self._parsed


def _checked(ctx: Ctx, page_id: str, produce: Callable[[], Any]) -> Any:
    """Any read of a Page: the scope; finer checks happen where fields and edges are read."""
    access.require_read(ctx, page_id)
    return produce()


def _content(ctx: Ctx, page_id: str, produce: Callable[[], Any]) -> Any:
    """A post node or a post edge: the scope, then the Page token (or PPCA)."""
    access.require_read(ctx, page_id)
    access.require_content(ctx, page_id)
    return produce()


def _empty(check: Callable[[Ctx, str], None], ctx: Ctx, page_id: str) -> Any:
    check(ctx, page_id)
    return {"data": []}


def _permissions(ctx: Ctx) -> Any:
    """``/me/permissions``: one granted entry per scope (``public_profile`` always, first)."""
    scopes = list(dict.fromkeys(("public_profile", *ctx.token.scopes)))
    return {"data": [{"permission": s, "status": "granted"} for s in scopes]}


def _no_more(rest: list[str]) -> None:
    if rest:
        raise errors.unknown_path("/" + "/".join(rest))


def _limit_items(params: dict[str, str]) -> int:
    try:
        return int(params.get("limit") or 25)
    except ValueError:
        return 25


def guess_kind(segments: list[str], params: dict[str, str]) -> str:
    if not segments:
        return "ids" if "ids" in params else "other"
    head = segments[0]
    if head == "debug_token":
        return "debug_token"
    is_post = "_" in head
    if len(segments) == 1:
        return "me" if head == "me" else ("post" if is_post else "page")
    edge = segments[1]
    if edge == "insights":
        return "post_insights" if is_post else "page_insights"
    known = (
        "posts", "published_posts", "feed", "accounts", "permissions", "reactions", "comments",
        "attachments",
    )  # fmt: skip
    return edge if edge in known else "other"
