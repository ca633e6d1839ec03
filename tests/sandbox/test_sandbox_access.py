"""Tokens, roles and NPE Pages (docs/graph-api.md §0, §10): who reads what, as a table.

Token type × the Page's relation to the Business Manager × PPCA × endpoint → the answer
(HTTP status, error code, error subcode). The Page kinds: shared with ANALYZE, shared without
ANALYZE (content tasks only), not shared at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.testing import SandboxClient

Outcome = tuple[int, int | None, int | None]
OK: Outcome = (200, None, None)
PAGE_TOKEN: Outcome = (400, 190, 2069032)  # "A Page access token is required for this call."
E200: Outcome = (403, 200, None)  # another Page's token, or a field of a Page one cannot manage
E10: Outcome = (403, 10, None)

ENDPOINTS = (
    "public",
    "private",
    "expansion",
    "posts",
    "feed",
    "post",
    "reactions",
    "comments",
    "attachments",
    "page_insights",
    "post_insights",
    "nested_insights",
)


def _expect(
    public: Outcome, private: Outcome, content: Outcome, insights: Outcome
) -> dict[str, Outcome]:
    """Answers per endpoint from four classes: public fields, other fields, posts, insights."""
    return {
        "public": public,
        "private": private,
        "expansion": content,  # fields=published_posts{...} on the node: a posts edge
        "posts": content,
        "feed": content,
        "post": content,
        "reactions": content,
        "comments": content,
        "attachments": content,
        "page_insights": insights,
        "post_insights": insights,
        # the listing is checked first, then the insights nested in it
        "nested_insights": content if content != OK else insights,
    }


EVERYTHING = _expect(OK, OK, OK, OK)
USER_ON_ROLE_PAGE = _expect(OK, PAGE_TOKEN, PAGE_TOKEN, PAGE_TOKEN)
NO_ROLE = _expect(OK, E200, E10, E10)
NO_ROLE_PPCA = _expect(OK, E200, OK, E10)
OTHER_PAGE = _expect(OK, E200, E200, E200)
APP = _expect(E10, E10, E10, E10)

# (token, page kind, ppca) -> expected answers per endpoint
CASES: list[tuple[str, str, bool, dict[str, Outcome]]] = [
    ("system", "analyze", False, USER_ON_ROLE_PAGE),
    ("system", "content_only", False, USER_ON_ROLE_PAGE),
    ("system", "not_shared", False, NO_ROLE),
    ("system", "not_shared", True, NO_ROLE_PPCA),
    ("system", "analyze", True, USER_ON_ROLE_PAGE),  # PPCA changes nothing where one has a role
    ("user", "analyze", False, USER_ON_ROLE_PAGE),
    ("user", "not_shared", False, NO_ROLE),
    ("user", "not_shared", True, NO_ROLE_PPCA),
    ("user_other_pages", "analyze", False, NO_ROLE),  # covers other Pages only: no role here
    ("user_other_pages", "analyze", True, NO_ROLE_PPCA),
    ("page_own", "analyze", False, EVERYTHING),
    ("page_own", "content_only", False, _expect(OK, OK, OK, E10)),  # no ANALYZE task
    ("page_own_no_read_insights", "analyze", False, _expect(OK, OK, OK, E10)),
    ("page_other", "analyze", False, OTHER_PAGE),
    ("page_other", "not_shared", True, OTHER_PAGE),
    ("app", "analyze", False, APP),
]


@pytest.fixture(scope="module")
def table_world() -> Iterator[tuple[World, SandboxClient]]:
    """One served world for the whole table (tests only change ppca and tokens)."""
    world = World.generate(n_pages=30, seed=3)
    with SandboxServer(world) as srv, requests.Session() as session:
        yield world, SandboxClient(srv, session)


def _page_for(world: World, kind: str) -> str:
    page = {"analyze": world.pages[2], "content_only": world.pages[3]}.get(kind, world.pages[4])
    if kind == "content_only":
        world.set_tasks(page, ("CREATE_CONTENT", "MODERATE"))
    elif kind == "not_shared":
        world.set_tasks(page, ())
    return page


def _token_for(world: World, name: str, page: str) -> str:
    other = world.pages[1]
    if name == "system":
        return "sandbox-token"
    if name == "user":
        return world.tokens.add("a-user", type="USER").value
    if name == "user_other_pages":
        return world.tokens.add("a-user-elsewhere", type="USER", page_ids={other}).value
    if name == "page_own":
        return world.page_token(page)
    if name == "page_own_no_read_insights":
        scopes = ("pages_show_list", "pages_read_engagement")
        return world.tokens.add("page-no-ri", type="PAGE", page_ids={page}, scopes=scopes).value
    if name == "page_other":
        return world.page_token(other)
    if name == "app":
        return world.tokens.app_token
    raise AssertionError(name)


def _call(graph: SandboxClient, endpoint: str, page: str, post: str, token: str) -> Any:
    calls: dict[str, tuple[str, dict[str, str]]] = {
        "public": (f"/v27.0/{page}", {"fields": "id,name,fan_count,followers_count,link"}),
        "private": (f"/v27.0/{page}", {"fields": "name,unread_message_count"}),
        "expansion": (f"/v27.0/{page}", {"fields": "name,published_posts.limit(1){id}"}),
        "posts": (f"/v27.0/{page}/published_posts", {"limit": "2"}),
        "feed": (f"/v27.0/{page}/feed", {"limit": "2"}),
        "post": (f"/v27.0/{post}", {"fields": "id,message,shares"}),
        "reactions": (f"/v27.0/{post}/reactions", {"summary": "total_count", "limit": "0"}),
        "comments": (f"/v27.0/{post}/comments", {"summary": "true", "limit": "1"}),
        "attachments": (f"/v27.0/{post}/attachments", {}),
        "page_insights": (f"/v27.0/{page}/insights", {"metric": "page_follows", "period": "day"}),
        "post_insights": (f"/v27.0/{post}/insights", {"metric": "post_clicks"}),
        "nested_insights": (
            f"/v27.0/{page}/published_posts",
            {"limit": "2", "fields": "id,insights.metric(post_reactions_by_type_total)"},
        ),
    }
    path, params = calls[endpoint]
    return graph.get(path, token=token, **params)


def _outcome(resp: requests.Response) -> Outcome:
    error = resp.json().get("error") if resp.status_code != 200 else None
    if error is None:
        return (resp.status_code, None, None)
    return (resp.status_code, error["code"], error.get("error_subcode"))


@pytest.mark.parametrize(
    ("token_name", "kind", "ppca", "expected"),
    CASES,
    ids=[f"{t}-{k}-{'ppca' if p else 'no_ppca'}" for t, k, p, _ in CASES],
)
def test_access_table(
    table_world: tuple[World, SandboxClient],
    token_name: str,
    kind: str,
    ppca: bool,
    expected: dict[str, Outcome],
) -> None:
    world, graph = table_world
    saved = {p: world.tasks(p) for p in world.pages[:6]}
    world.ppca = ppca
    try:
        page = _page_for(world, kind)
        token = _token_for(world, token_name, page)
        post = world.visible_posts(page)[0].id
        got = {e: _outcome(_call(graph, e, page, post, token)) for e in ENDPOINTS}
    finally:
        world.ppca = False
        for p, tasks in saved.items():
            world.set_tasks(p, tasks)
    assert got == expected


def test_page_token_required_body(graph: SandboxClient, big_page: str) -> None:
    resp = graph.get(f"/v26.0/{big_page}/published_posts", limit=5)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert list(error) == ["message", "type", "code", "error_subcode", "fbtrace_id"]
    assert error["message"] == "A Page access token is required for this call."
    assert (error["type"], error["code"], error["error_subcode"]) == (
        "OAuthException",
        190,
        2069032,
    )
    assert resp.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')


def test_system_user_then_page_token_from_accounts(
    graph: SandboxClient, world: World, big_page: str
) -> None:
    """The collector's path: 190/2069032, then /me/accounts' token for the Page gets 200."""
    refused = graph.get(f"/v26.0/{big_page}/published_posts", limit=5)
    assert _outcome(refused) == PAGE_TOKEN
    accounts = graph.get("/v26.0/me/accounts", fields="id,access_token,tasks", limit=100).json()
    token = next(a["access_token"] for a in accounts["data"] if a["id"] == big_page)
    resp = graph.get(f"/v26.0/{big_page}/published_posts", token=token, limit=5)
    assert resp.status_code == 200 and len(resp.json()["data"]) == 5
    # the same token as the one-Page way of asking for it (§0)
    one = graph.get(f"/v26.0/{big_page}", fields="access_token").json()
    assert one == {"access_token": token, "id": big_page}


def test_messages_of_the_code_10_answers(graph: SandboxClient, world: World) -> None:
    page = world.pages[4]
    world.set_tasks(page, ())
    posts = graph.get(f"/v26.0/{page}/posts").json()["error"]["message"]
    assert posts.startswith(
        "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page "
        "Public Content Access' feature."
    )
    insights = graph.get(f"/v26.0/{page}/insights", metric="page_follows").json()["error"]
    assert insights["message"].startswith("(#10) This endpoint requires the 'read_insights'")
    assert "Page you have a role on" in insights["message"]


def test_ppca_reads_posts_of_pages_without_a_role(graph: SandboxClient, world: World) -> None:
    page = world.pages[4]
    world.set_tasks(page, ())
    assert graph.get(f"/v26.0/{page}/posts").status_code == 403
    world.ppca = True
    posts = graph.get(f"/v26.0/{page}/posts", limit=100, fields="id").json()["data"]
    truth = [p["id"] for p in world.truth_posts(page) if not p["deleted"]][:100]
    assert [p["id"] for p in posts] == truth
    summary = graph.get(
        f"/v26.0/{truth[0]}",
        fields="reactions.summary(total_count).limit(0),comments.summary(true).limit(0)",
    ).json()
    assert summary["reactions"]["summary"]["total_count"] == world.truth_post(truth[0])[
        "reactions_total"
    ]
    # never insights, by path or nested; no Page token either
    assert graph.get(f"/v26.0/{truth[0]}/insights", metric="post_clicks").status_code == 403
    nested = graph.get(f"/v26.0/{page}/posts", fields="id,insights.metric(post_clicks)")
    assert nested.status_code == 403 and nested.json()["error"]["code"] == 10
    assert graph.get(f"/v26.0/{page}", fields="access_token").json() == {"id": page}
    with pytest.raises(ValueError):
        world.page_token(page)


def test_nested_insights_fail_an_empty_listing_too(
    graph: SandboxClient, world: World, big_page: str
) -> None:
    world.set_tasks(big_page, ("CREATE_CONTENT", "MODERATE"))
    token = world.page_token(big_page)
    params = {"since": "2020-01-01", "until": "2020-01-02"}
    assert graph.get(f"/v26.0/{big_page}/posts", token=token, **params).json() == {"data": []}
    resp = graph.get(
        f"/v26.0/{big_page}/posts", token=token, fields="id,insights.metric(post_clicks)", **params
    )
    assert _outcome(resp) == E10
    assert not world.has_insights(big_page)


def test_access_token_field(graph: SandboxClient, world: World, big_page: str) -> None:
    unshared = world.pages[4]
    world.set_tasks(unshared, ())
    # a role and pages_show_list: the Page token, the same /me/accounts gives
    got = graph.get(f"/v26.0/{big_page}", fields="access_token,name").json()
    assert got["access_token"] == world.page_token(big_page)
    # no role: the field is simply absent
    assert graph.get(f"/v26.0/{unshared}", fields="access_token").json() == {"id": unshared}
    # no pages_show_list: code 10
    world.tokens.add("no-list", scopes=("pages_read_engagement",))
    resp = graph.get(f"/v26.0/{big_page}", token="no-list", fields="access_token")
    assert _outcome(resp) == E10 and "pages_show_list" in resp.json()["error"]["message"]
    # a Page token: its own value on its Page, nothing on another
    own = world.page_token(big_page)
    assert graph.get(f"/v26.0/{big_page}", token=own, fields="access_token").json()[
        "access_token"
    ] == own
    other = graph.get(f"/v26.0/{world.pages[1]}", token=own, fields="access_token,name").json()
    assert "access_token" not in other


def test_unsharing_a_page_mid_run(graph: SandboxClient, world: World) -> None:
    page = world.pages[5]
    listed = graph.get("/v26.0/me/accounts", limit=100).json()["data"]
    old_token = next(a["access_token"] for a in listed if a["id"] == page)
    assert graph.get(f"/v26.0/{page}/posts", token=old_token).status_code == 200
    world.set_tasks(page, ())
    listed = graph.get("/v26.0/me/accounts", limit=100).json()["data"]
    assert page not in [a["id"] for a in listed]
    assert world.truth_page(page)["tasks"] == ()
    # the role is gone, and with it the Page token (§10)
    resp = graph.get(f"/v26.0/{page}/posts", token=old_token)
    assert _outcome(resp) == (400, 190, 492)
    info = graph.get("/v26.0/debug_token", input_token=old_token).json()["data"]
    assert info["is_valid"] is False and info["error"]["subcode"] == 492
    # shared again: a new token
    world.set_tasks(page, ("ANALYZE",))
    new_token = world.page_token(page)
    assert new_token != old_token
    assert graph.get(f"/v26.0/{page}/posts", token=new_token).status_code == 200
    assert graph.get("/v26.0/me/accounts", limit=100).json()["data"][5]["tasks"] == ["ANALYZE"]
    with pytest.raises(ValueError):
        world.set_tasks(page, ("ANALYSE",))


def test_no_page_token_in_any_error_body(graph: SandboxClient, world: World) -> None:
    """Error messages never echo a token, whichever call fails."""
    token = world.page_token(world.pages[0])
    other_token = world.page_token(world.pages[1])
    calls: list[Callable[[], requests.Response]] = [
        lambda: graph.get(f"/v26.0/{world.pages[1]}/posts", token=token),
        lambda: graph.get(f"/v26.0/{world.pages[0]}", token=token, fields="nonexisting_thing"),
        lambda: graph.get(f"/v26.0/{world.pages[0]}/insights", token=token, metric="x"),
        lambda: graph.get(f"/v26.0/{world.pages[0]}/posts/extra", token=token),
        lambda: graph.get("/v26.0/me/accounts", token=token),
        lambda: graph.get("/v26.0/", token=token, ids=world.pages[0]),
        lambda: graph.batch(
            [{"method": "GET", "relative_url": f"v26.0/{world.pages[0]}/x?access_token={token}"}],
            token=other_token,
        ),
    ]
    for call in calls:
        text = call().text
        assert token not in text and other_token not in text, text
