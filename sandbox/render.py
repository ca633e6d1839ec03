"""Rendering Page, post and user nodes and their edges with field expansion (§2, §3, §5).

Only requested fields appear; ``id`` is always there (appended last when not requested, as the
recorded responses show); a field with no value (``username`` of a page without one, ``shares``
of a post nobody shared) is left out rather than sent as null. Every field and edge name of
Meta's reference (``reference_fields``) is accepted: the simulated ones have values, a few more
have plausible constants, the rest are left out (Facebook's habit for unset fields) and edges
the sandbox does not simulate are ``{"data": []}``. Who may read which field is ``access``'s
business: non-public Page fields and every edge need the Page's own token.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import access, insights
from .context import Ctx, paginate, paging_block, parse_limit
from .errors import bad_param, nonexisting_field, permission_scope
from .fields import FieldSpec, fields_to_text
from .history import REACTION_TYPES, PostSpec, ease_inverse, engagement_at, person_name
from .rand import h64
from .reference_fields import (
    NPE_ERROR_EDGES,
    PAGE_EDGES,
    PAGE_FIELDS,
    POST_EDGES,
    POST_FIELDS,
    RETIRED_POST_EDGES,
)
from .timeutil import fb_time, from_ts, parse_time_param, to_ts
from .units import PageSpec

ABSENT: Any = object()
ALL_REACTION_TYPES = (*REACTION_TYPES, "THANKFUL", "PRIDE", "FIRE", "HUNDRED", "NONE")
_COMMENT_TEXTS = (
    "Tuyệt vời quá!",
    "Cảm ơn Mặt trận!",
    "Rất ý nghĩa ạ.",
    "Chúc mừng bà con!",
    "Việc làm thiết thực.",
    "Like ủng hộ 👍",
    "Mong chương trình được nhân rộng.",
)

Handler = Callable[[Ctx, Any, FieldSpec], Any]


def project(value: Any, subfields: list[FieldSpec] | None) -> Any:
    """Keep only the requested sub-fields of a plain nested value (``from{name}``)."""
    if subfields is None:
        return value
    if isinstance(value, list):
        return [project(v, subfields) for v in value]
    if isinstance(value, dict):
        if isinstance(value.get("data"), list):
            return {**value, "data": [project(v, subfields) for v in value["data"]]}
        out = {}
        for sub in subfields:
            if sub.name in value:
                out[sub.key] = project(value[sub.name], sub.subfields)
        return out
    return value


def render(
    ctx: Ctx,
    node_type: str,
    handlers: dict[str, Handler],
    obj: Any,
    object_id: str,
    fields: list[FieldSpec] | None,
    default: tuple[str, ...],
    edges: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    specs = fields if fields is not None else [FieldSpec(n) for n in default]
    # Facebook rejects the whole call for one unknown field, before computing anything.
    for fs in specs:
        if fs.name not in handlers:
            raise nonexisting_field(fs.name, node_type)
    out: dict[str, Any] = {}
    for fs in specs:
        value = handlers[fs.name](ctx, obj, fs)
        if value is ABSENT:
            continue
        out[fs.key] = value if fs.name in edges else project(value, fs.subfields)
    out.setdefault("id", object_id)
    return out


# -- pages --------------------------------------------------------------------------------------


def _followers(ctx: Ctx, spec: PageSpec) -> int:
    cache = ctx.notes.setdefault("followers", {})
    if spec.id not in cache:
        cache[spec.id] = ctx.world.history.followers_at(spec.id, ctx.now)
    value: int = cache[spec.id]
    return value


def _absent(ctx: Ctx, obj: Any, fs: FieldSpec) -> Any:
    return ABSENT


def _empty_edge(ctx: Ctx, obj: Any, fs: FieldSpec) -> Any:
    return {"data": []}


def _private(handler: Handler) -> Handler:
    """A Page field or edge that needs the Page's own token (2069032 with a user token)."""

    def checked(ctx: Ctx, spec: PageSpec, fs: FieldSpec) -> Any:
        access.require_private(ctx, spec.id)
        return handler(ctx, spec, fs)

    return checked


def _page_token(ctx: Ctx, spec: PageSpec, fs: FieldSpec) -> Any:
    """``access_token``: a Page token's own value; for a user or system-user token with
    ``pages_show_list`` and a role on the Page, the Page token ``/me/accounts`` gives; else
    absent (a Page nobody shared has no token, §0)."""
    token = ctx.token
    if token.type == "PAGE":
        return token.value if token.covers(spec.id) else ABSENT
    if token.type in ("USER", "SYSTEM_USER"):
        if "pages_show_list" not in token.scopes:
            raise permission_scope("pages_show_list")
        if not ctx.world.has_role(token, spec.id):
            return ABSENT
        return ctx.world.tokens.page_token(token, spec.id).value
    return ABSENT


def _page_edge(edge: str) -> Handler:
    def handler(ctx: Ctx, spec: PageSpec, fs: FieldSpec) -> Any:
        opts = {k: fs.arg(k) for k in ("limit", "since", "until", "after", "before")}
        return post_list(ctx, spec, edge, opts, fs.subfields, nested=fs)

    return handler


def _page_insights(ctx: Ctx, spec: PageSpec, fs: FieldSpec) -> Any:
    params = {"metric": ",".join(fs.args("metric"))}
    for key in ("period", "since", "until", "date_preset"):
        if fs.arg(key) is not None:
            params[key] = str(fs.arg(key))
    return insights.page_insights(ctx, spec, params, None, link_base=f"{spec.id}/insights")


def _category_list(spec: PageSpec) -> list[dict[str, str]]:
    if spec.category == "Government organization":
        return [{"id": "2235", "name": "Government Organization"}]
    return [{"id": "2612", "name": "Community Organization"}]


def _picture(size: int, spec: PageSpec, kind: str = "p") -> dict[str, Any]:
    return {
        "height": size,
        "is_silhouette": False,
        "url": f"https://scontent.xx.fbcdn.net/v/t39.30808-1/{spec.id}_{kind}{size}x{size}.jpg",
        "width": size,
    }


def _engagement(ctx: Ctx, spec: PageSpec) -> dict[str, Any]:
    fans = ctx.world.history.fans_from_followers(spec.id, _followers(ctx, spec))
    return {"count": fans, "social_sentence": f"{fans:,} people like this."}


def _website(spec: PageSpec) -> Any:
    if spec.level == "province":
        return "https://mattran.nghean.gov.vn"
    return ABSENT


# Fields with a simulated value. Public or not is decided in access.PUBLIC_PAGE_FIELDS.
_PAGE_VALUES: dict[str, Handler] = {
    "id": lambda ctx, s, fs: s.id,
    "name": lambda ctx, s, fs: s.name,
    "username": lambda ctx, s, fs: s.username if s.username else ABSENT,
    "link": lambda ctx, s, fs: f"https://www.facebook.com/{s.username or s.id}",
    "category": lambda ctx, s, fs: s.category,
    "category_list": lambda ctx, s, fs: _category_list(s),
    "about": lambda ctx, s, fs: f"Trang thông tin chính thức của {s.name}.",
    "fan_count": lambda ctx, s, fs: ctx.world.history.fans_from_followers(s.id, _followers(ctx, s)),
    "followers_count": lambda ctx, s, fs: _followers(ctx, s),
    "talking_about_count": lambda ctx, s, fs: ctx.world.talking_about(s.id, ctx.now),
    "new_like_count": lambda ctx, s, fs: ctx.world.history.follows_unfollows(
        s.id, ctx.world.history.day_index(ctx.now.date()) - 1
    )[0],
    "verification_status": lambda ctx, s, fs: "blue_verified" if s.verified else "not_verified",
    "is_verified": lambda ctx, s, fs: s.verified,
    "is_published": lambda ctx, s, fs: ctx.world.page_state(s.id, ctx.now) == "live",
    "has_transitioned_to_new_page_experience": lambda ctx, s, fs: True,
    "were_here_count": lambda ctx, s, fs: 0,
    "checkins": lambda ctx, s, fs: 0,
    "rating_count": lambda ctx, s, fs: 0,
    "unread_message_count": lambda ctx, s, fs: 0,
    "unread_notif_count": lambda ctx, s, fs: 0,
    "unseen_message_count": lambda ctx, s, fs: 0,
    "picture": lambda ctx, s, fs: {"data": _picture(50, s)},
    "cover": lambda ctx, s, fs: {
        "cover_id": str(122_200_000_000_000_000 + h64("cover", s.id) % 10**15),
        "offset_x": 50,
        "offset_y": 50,
        "source": _picture(720, s, "c")["url"],
        "id": str(122_200_000_000_000_000 + h64("cover", s.id) % 10**15),
    },
    "description": lambda ctx, s, fs: f"Trang thông tin chính thức của {s.name}.",
    "engagement": lambda ctx, s, fs: _engagement(ctx, s),
    "website": lambda ctx, s, fs: _website(s),
    "name_with_location_descriptor": lambda ctx, s, fs: s.name,
    "global_brand_page_name": lambda ctx, s, fs: s.name,
    "is_community_page": lambda ctx, s, fs: False,
    "is_permanently_closed": lambda ctx, s, fs: False,
    "is_unclaimed": lambda ctx, s, fs: False,
    "is_always_open": lambda ctx, s, fs: False,
    "can_checkin": lambda ctx, s, fs: False,
    "is_owned": lambda ctx, s, fs: True,
    "is_webhooks_subscribed": lambda ctx, s, fs: False,
    "has_added_app": lambda ctx, s, fs: False,
    "access_token": _page_token,
}
# Edges with a simulated body; they check access themselves (posts need the Page token, or
# PPCA; insights the Page token with ANALYZE).
_PAGE_EDGE_VALUES: dict[str, Handler] = {
    "posts": _page_edge("posts"),
    "published_posts": _page_edge("published_posts"),
    "feed": _page_edge("feed"),
    "insights": _page_insights,
}


def _page_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for name in (*PAGE_FIELDS, "picture"):  # picture is an edge in the SDK, a field in use
        value = _PAGE_VALUES.get(name, _absent)
        public = name in access.PUBLIC_PAGE_FIELDS or name == "access_token"
        handlers[name] = value if public else _private(value)
    for edge in PAGE_EDGES:
        if edge in NPE_ERROR_EDGES or edge in handlers:
            continue  # NPE-error edges stay "nonexisting field" (§2)
        handlers[edge] = _PAGE_EDGE_VALUES.get(edge) or _private(_empty_edge)
    return handlers


PAGE_HANDLERS: dict[str, Handler] = _page_handlers()
PAGE_EDGE_NAMES = frozenset(_PAGE_EDGE_VALUES)  # render their own sub-fields


def render_page(ctx: Ctx, spec: PageSpec, fields: list[FieldSpec] | None) -> dict[str, Any]:
    return render(
        ctx, "Page", PAGE_HANDLERS, spec, spec.id, fields, ("name", "id"), PAGE_EDGE_NAMES
    )


# -- posts --------------------------------------------------------------------------------------


def _photo(post: PostSpec, i: int) -> dict[str, Any]:
    photo_id = str(122_000_000_000_000_000 + h64("photo", post.id, i) % 10**15)
    url = f"https://www.facebook.com/photo.php?fbid={photo_id}"
    return {
        "media": {
            "image": {
                "height": 720,
                "src": f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{photo_id}_n.jpg",
                "width": 960,
            }
        },
        "target": {"id": photo_id, "url": url},
        "type": "photo",
        "url": url,
    }


def attachments_value(post: PostSpec) -> Any:
    if post.kind == "photo":
        return {"data": [_photo(post, 0)]}
    if post.kind == "album":
        photos = [_photo(post, i) for i in range(post.n_photos)]
        album_id = str(122_100_000_000_000_000 + h64("album", post.id) % 10**15)
        return {
            "data": [
                {
                    "media": photos[0]["media"],
                    "subattachments": {"data": photos},
                    "target": {"id": album_id, "url": post.permalink_url},
                    "title": "Ảnh hoạt động",
                    "type": "album",
                    "url": post.permalink_url,
                }
            ]
        }
    if post.kind == "video":
        video = _photo(post, 0)
        video["type"] = "video_inline"
        video["media"]["source"] = f"https://video.xx.fbcdn.net/v/{post.num}.mp4"
        return {"data": [video]}
    if post.kind == "link" and post.link_url is not None:  # a share or a link to a post
        target: dict[str, Any] = {"url": post.link_url}
        if post.parent_id is not None:
            target["id"] = post.parent_id
        return {
            "data": [
                {
                    "target": target,
                    "title": "Mặt trận Tổ quốc Việt Nam tỉnh Nghệ An",
                    "type": "share",
                    "url": post.link_url,
                }
            ]
        }
    if post.kind == "link":
        url = f"https://mattran.nghean.gov.vn/tin-tuc/{post.num[-8:]}.html"
        return {
            "data": [
                {
                    "description": (post.message or "")[:120],
                    "media": _photo(post, 0)["media"],
                    "target": {"url": url},
                    "title": "Cổng thông tin điện tử MTTQ",
                    "type": "share",
                    "url": url,
                }
            ]
        }
    return ABSENT


def _summary(args: list[str], full: dict[str, Any]) -> dict[str, Any] | None:
    """``summary(true)`` gives every key; ``summary(total_count)`` only the named ones."""
    lowered = [a.lower() for a in args]
    if not lowered or any(a in ("false", "0") for a in lowered):
        return None
    if any(a in ("true", "1") for a in lowered):
        return full
    picked = {k: v for k, v in full.items() if k in lowered}
    return picked or full


def reactions_value(
    ctx: Ctx, post: PostSpec, opts: dict[str, Any], subfields: list[FieldSpec] | None, nested: bool
) -> dict[str, Any]:
    """The reactions edge: reactor list (synthetic people) with optional summary."""
    eng = engagement_at(post, ctx.now, ctx.world.post_deleted_at(post))
    rtype = opts.get("type")
    if rtype is not None:
        rtype = str(rtype).upper()
        if rtype not in ALL_REACTION_TYPES:
            raise bad_param(
                "type must be one of the following values: " + ", ".join(ALL_REACTION_TYPES)
            )
    counts = [(t, eng.reactions_by_type[t]) for t in REACTION_TYPES if rtype in (None, "NONE", t)]
    total = sum(n for _, n in counts) if rtype != "NONE" else 0
    limit = parse_limit(opts.get("limit"), maximum=None)
    keys = [f"{i:010d}" for i in range(total)]
    start, end = paginate(keys, False, limit, opts.get("after"), opts.get("before"))
    data = []
    for i in range(start, end):
        kind, offset = _reactor_slot(counts, i)
        person = 100_000_000_000_000 + h64("reactor", post.id, kind, offset) % 10**14
        data.append(
            {"id": str(person), "name": person_name("reactor", post.id, kind, offset), "type": kind}
        )
    return _edge_page(ctx, f"{post.id}/reactions", data, keys, (start, end), opts, subfields,
                      nested, {"total_count": total, "viewer_reaction": "NONE"})


def _edge_page(ctx: Ctx, path: str, data: list[dict[str, Any]], keys: list[str],
               window: tuple[int, int], opts: dict[str, Any],
               subfields: list[FieldSpec] | None, nested: bool,
               summary_fields: dict[str, Any]) -> dict[str, Any]:
    """A page of a post's reactions or comments: data, cursor paging, optional summary."""
    out: dict[str, Any] = {"data": project(data, subfields)}
    params = _link_params(opts)
    if subfields is not None:
        params["fields"] = fields_to_text(subfields)
    paging = paging_block(ctx, keys, window[0], window[1],
                          lambda c: _edge_or_self(ctx, path, params, c, nested))
    if paging:
        out["paging"] = paging
    summary = _summary(opts.get("summary_args") or [], summary_fields)
    if summary is not None:
        out["summary"] = summary
    return out


def _reactor_slot(counts: list[tuple[str, int]], i: int) -> tuple[str, int]:
    """Reactors are listed type by type; the i-th one is (type, index within the type)."""
    for kind, n in counts:
        if i < n:
            return kind, i
        i -= n
    return REACTION_TYPES[0], i


def comments_value(
    ctx: Ctx, post: PostSpec, opts: dict[str, Any], subfields: list[FieldSpec] | None, nested: bool
) -> dict[str, Any]:
    """The comments edge, chronological, with ``summary`` as recorded (§3)."""
    eng = engagement_at(post, ctx.now, ctx.world.post_deleted_at(post))
    total = eng.comments
    limit = parse_limit(opts.get("limit"), maximum=None)
    keys = [f"{i:010d}" for i in range(total)]
    start, end = paginate(keys, False, limit, opts.get("after"), opts.get("before"))
    with_from = "pages_read_user_content" in ctx.token.scopes
    data = []
    for i in range(start, end):
        when = post.created.timestamp() + post.saturation * ease_inverse(
            (i + 1) / max(1, post.comments_final)
        )
        item: dict[str, Any] = {
            "created_time": fb_time(from_ts(math.floor(when))),
        }
        if with_from:
            author = 100_000_000_000_000 + h64("commenter", post.id, i) % 10**14
            item["from"] = {"name": person_name("commenter", post.id, i), "id": str(author)}
        item["message"] = _COMMENT_TEXTS[h64("comment", post.id, i) % len(_COMMENT_TEXTS)]
        item["id"] = f"{post.num}_{10**15 + h64('cid', post.id, i) % 10**15}"
        data.append(item)
    order = str(opts.get("order") or "ranked")
    return _edge_page(ctx, f"{post.id}/comments", data, keys, (start, end), opts, subfields,
                      nested, {"order": order, "total_count": total, "can_comment": True})


def _edge_or_self(
    ctx: Ctx, path: str, params: dict[str, str], cursor: dict[str, str], nested: bool
) -> str:
    if nested:
        return ctx.edge_link(path, {**params, **cursor})
    return ctx.self_link(cursor, drop=("after", "before"))


def _link_params(opts: dict[str, Any]) -> dict[str, str]:
    """The options worth repeating in a ``paging`` link (not the cursors)."""
    skip = ("after", "before", "summary_args")
    return {k: str(v) for k, v in opts.items() if v is not None and k not in skip}


def _edge_opts(fs: FieldSpec) -> dict[str, Any]:
    opts: dict[str, Any] = {k: fs.arg(k) for k in ("limit", "type", "order", "after", "before")}
    if "summary" in fs.modifiers:
        opts["summary_args"] = fs.args("summary") or ["true"]
        opts["summary"] = ",".join(opts["summary_args"])
    return opts


def _shares(ctx: Ctx, post: PostSpec, fs: FieldSpec) -> Any:
    shares = engagement_at(post, ctx.now, ctx.world.post_deleted_at(post)).shares
    return {"count": shares} if shares else ABSENT


def _post_insights(ctx: Ctx, post: PostSpec, fs: FieldSpec) -> Any:
    params = {"metric": ",".join(fs.args("metric"))}
    if fs.arg("period") is not None:
        params["period"] = str(fs.arg("period"))
    return insights.post_insights(ctx, post, params, None)


_PRIVACY = {"allow": "", "deny": "", "description": "Public", "friends": "", "value": "EVERYONE"}

# Fields and edges with a simulated value; the rest of the reference is absent or empty.
_POST_VALUES: dict[str, Handler] = {
    "id": lambda ctx, p, fs: p.id,
    "created_time": lambda ctx, p, fs: fb_time(p.created),
    "updated_time": lambda ctx, p, fs: fb_time(p.created),
    "message": lambda ctx, p, fs: p.message if p.message is not None else ABSENT,
    "story": lambda ctx, p, fs: p.story if p.story is not None else ABSENT,
    "permalink_url": lambda ctx, p, fs: p.permalink_url,
    "status_type": lambda ctx, p, fs: p.status_type,
    "full_picture": lambda ctx, p, fs: (
        _photo(p, 0)["media"]["image"]["src"] if p.kind not in ("status",) else ABSENT
    ),
    "is_published": lambda ctx, p, fs: True,
    "is_hidden": lambda ctx, p, fs: False,
    "is_expired": lambda ctx, p, fs: False,
    "from": lambda ctx, p, fs: {"name": p.author_name, "id": p.author_id},
    "shares": _shares,
    "attachments": lambda ctx, p, fs: attachments_value(p),
    "parent_id": lambda ctx, p, fs: p.parent_id if p.parent_id is not None else ABSENT,
    "reactions": lambda ctx, p, fs: reactions_value(
        ctx, p, _edge_opts(fs), fs.subfields, nested=True
    ),
    "comments": lambda ctx, p, fs: comments_value(
        ctx, p, _edge_opts(fs), fs.subfields, nested=True
    ),
    "insights": _post_insights,
    "picture": lambda ctx, p, fs: (
        _photo(p, 0)["media"]["image"]["src"] if p.kind not in ("status",) else ABSENT
    ),
    "privacy": lambda ctx, p, fs: dict(_PRIVACY),
    "is_popular": lambda ctx, p, fs: False,
    "is_spherical": lambda ctx, p, fs: False,
    "is_inline_created": lambda ctx, p, fs: False,
    "timeline_visibility": lambda ctx, p, fs: "normal",
}


def _post_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {n: _POST_VALUES.get(n, _absent) for n in POST_FIELDS}
    for edge in POST_EDGES:
        if edge not in RETIRED_POST_EDGES:
            handlers[edge] = _POST_VALUES.get(edge, _empty_edge)
    return handlers


POST_HANDLERS: dict[str, Handler] = _post_handlers()
POST_EDGE_NAMES = frozenset({"reactions", "comments", "insights"})
POST_DEFAULT = ("created_time", "message", "story", "id")


def render_post(ctx: Ctx, post: PostSpec, fields: list[FieldSpec] | None) -> dict[str, Any]:
    return render(ctx, "Post", POST_HANDLERS, post, post.id, fields, POST_DEFAULT, POST_EDGE_NAMES)


def _time_opt(name: str, value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return parse_time_param(value).timestamp()
    except ValueError:
        raise bad_param(f"The parameter {name} must be a valid Unix timestamp or date") from None


def post_list(
    ctx: Ctx,
    spec: PageSpec,
    edge: str,
    opts: dict[str, str | None],
    fields: list[FieldSpec] | None,
    nested: FieldSpec | None = None,
) -> dict[str, Any]:
    """``/posts``, ``/published_posts``, ``/feed``: newest first, cursor paging, limit <= 100.

    Needs the Page token (or PPCA for a Page without a role); nested post insights need what
    insights need, checked up front so an empty listing fails too, as the whole call does.
    """
    access.require_content(ctx, spec.id)
    if fields is not None and any(f.name == "insights" for f in fields):
        access.require_insights(ctx, spec.id)
    limit = parse_limit(opts.get("limit"))
    since, until = _time_opt("since", opts.get("since")), _time_opt("until", opts.get("until"))
    posts = ctx.world.visible_posts(spec.id, ctx.now, visitors=edge == "feed")
    if since is not None or until is not None:
        posts = [
            p
            for p in posts
            if (since is None or p.created.timestamp() >= since)
            and (until is None or p.created.timestamp() <= until)
        ]
    keys = [f"{to_ts(p.created):010d}:{p.num}" for p in posts]
    start, end = paginate(keys, True, limit, opts.get("after"), opts.get("before"))
    out: dict[str, Any] = {"data": [render_post(ctx, p, fields) for p in posts[start:end]]}

    def link(cursor: dict[str, str]) -> str:
        if nested is None:
            return ctx.self_link(cursor, drop=("after", "before"))
        params = {
            k: str(v) for k, v in opts.items() if v is not None and k not in ("after", "before")
        }
        if fields is not None:
            params["fields"] = fields_to_text(fields)
        return ctx.edge_link(f"{spec.id}/{edge}", {**params, **cursor})

    paging = paging_block(ctx, keys, start, end, link)
    if paging:
        out["paging"] = paging
    return out


# -- users --------------------------------------------------------------------------------------

USER_HANDLERS: dict[str, Handler] = {
    "id": lambda ctx, t, fs: t.user_id,
    "name": lambda ctx, t, fs: t.name,
}


def render_user(ctx: Ctx, fields: list[FieldSpec] | None) -> dict[str, Any]:
    return render(ctx, "User", USER_HANDLERS, ctx.token, ctx.token.user_id, fields, ("name", "id"))
