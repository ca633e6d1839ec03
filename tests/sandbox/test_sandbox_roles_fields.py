"""Roles in the Nghệ An world, /me/accounts and /me/permissions, and every documented field.

The units file names 482 Pages (1 province, 21 districts, 460 communes); the Business Manager
has a task on the province and every district, and on most communes (docs/graph-api.md §0).
Page and Post nodes accept every field and edge name of Meta's reference (facebook-business
26.0.3, ``sandbox.reference_fields``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.reference_fields import (
    NPE_ERROR_EDGES,
    PAGE_EDGES,
    PAGE_FIELDS,
    POST_EDGES,
    POST_FIELDS,
)
from fanpulse.sandbox.testing import SandboxClient

UNITS = Path(__file__).resolve().parents[2] / "config" / "units.nghe-an.csv"


@pytest.fixture(scope="module")
def nghe_an() -> Iterator[tuple[World, SandboxClient]]:
    world = World.from_units_csv(UNITS)
    with SandboxServer(world) as srv, requests.Session() as session:
        yield world, SandboxClient(srv, session)


def test_nghe_an_roles_are_realistic(nghe_an: tuple[World, SandboxClient]) -> None:
    world, _ = nghe_an
    by_level: Counter[str] = Counter()
    unshared: Counter[str] = Counter()
    no_analyze: Counter[str] = Counter()
    for page in world.pages:
        level = world.spec(page).level
        tasks = world.tasks(page)
        by_level[level] += 1
        unshared[level] += not tasks
        no_analyze[level] += bool(tasks) and "ANALYZE" not in tasks
    assert dict(by_level) == {"province": 1, "district": 21, "commune": 460}
    assert unshared["province"] == unshared["district"] == 0
    assert no_analyze["province"] == no_analyze["district"] == 0
    assert 0.07 < unshared["commune"] / 460 < 0.18  # about 12 %
    assert 0 < no_analyze["commune"] < 0.06 * 460  # a few, about 3 %
    # the same seed gives the same answer; another seed another one
    assert World.from_units_csv(UNITS).shared_pages() == world.shared_pages()
    assert World.from_units_csv(UNITS, seed=2).shared_pages() != world.shared_pages()
    # every level of generated worlds follows the same rules
    generated = World.generate(n_pages=400, seed=4)
    residential = [p for p in generated.pages if generated.spec(p).level == "residential"]
    share = sum(not generated.tasks(p) for p in residential) / len(residential)
    assert 0.15 < share < 0.35  # about 25 %


def test_accounts_pages_past_100_and_list_exactly_the_role_pages(
    nghe_an: tuple[World, SandboxClient],
) -> None:
    world, graph = nghe_an
    first = graph.get(
        "/v27.0/me/accounts",
        fields="id,name,access_token,tasks,fan_count,followers_count",
        limit=100,
        summary="total_count",
    )
    body = first.json()
    assert first.status_code == 200 and len(body["data"]) == 100
    accounts = list(body["data"])
    pages_seen = 1
    url = body["paging"].get("next")
    while url:
        assert "access_token=sandbox-token" in urlsplit(url).query
        body = graph.session.get(url, timeout=10).json()
        accounts += body["data"]
        pages_seen += 1
        url = body["paging"].get("next")
    shared = world.shared_pages()
    assert pages_seen == -(-len(shared) // 100)
    assert [a["id"] for a in accounts] == shared
    assert first.json()["summary"] == {"total_count": len(shared)}
    for account in accounts:
        page = account["id"]
        assert account["tasks"] == list(world.tasks(page))
        assert account["access_token"] == world.page_token(page)
        assert account["followers_count"] == world.truth_page(page)["followers_count"]
    # over the documented maximum: the same error as the post edges
    over = graph.get("/v27.0/me/accounts", limit=101)
    assert over.status_code == 400
    assert over.json()["error"]["message"] == "(#100) The 'limit' parameter should not exceed 100"


def test_accounts_of_a_user_token_limited_to_some_pages(
    nghe_an: tuple[World, SandboxClient],
) -> None:
    world, graph = nghe_an
    unshared = next(p for p in world.pages if not world.tasks(p))
    token = world.tokens.add(
        "commune-user", type="USER", page_ids={world.pages[0], world.pages[5], unshared}
    )
    listed = graph.get("/v27.0/me/accounts", token=token.value).json()["data"]
    assert [a["id"] for a in listed] == [world.pages[0], world.pages[5]]
    # accounts' field expansion follows the node's rules: other fields need the Page token
    resp = graph.get("/v27.0/me/accounts", token=token.value, fields="id,unread_message_count")
    assert resp.json()["error"]["error_subcode"] == 2069032


def test_me_permissions(graph: SandboxClient, world: World, big_token: str) -> None:
    body = graph.get("/v26.0/me/permissions").json()
    assert body == {
        "data": [
            {"permission": "public_profile", "status": "granted"},
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "pages_read_engagement", "status": "granted"},
            {"permission": "read_insights", "status": "granted"},
            {"permission": "pages_read_user_content", "status": "granted"},
            {"permission": "pages_manage_metadata", "status": "granted"},
            {"permission": "business_management", "status": "granted"},
        ]
    }
    world.tokens.add("two-scopes", type="USER", scopes=("pages_show_list", "read_insights"))
    few = graph.get("/v26.0/me/permissions", token="two-scopes").json()["data"]
    assert [p["permission"] for p in few] == ["public_profile", "pages_show_list", "read_insights"]
    # a Page token: /me is the Page, which has no such edge; the app token has no /me
    page = graph.get("/v26.0/me/permissions", token=big_token).json()["error"]
    assert page["message"] == (
        "(#100) Tried accessing nonexisting field (permissions) on node type (Page)"
    )
    app = graph.get("/v26.0/me/permissions", token=world.tokens.app_token).json()["error"]
    assert app["code"] == 2500
    accounts = graph.get("/v26.0/me/accounts", token=big_token).json()["error"]
    assert accounts["message"].endswith("nonexisting field (accounts) on node type (Page)")


# -- every documented field ---------------------------------------------------------------------

_PAGE_EDGE_FIELDS = [e for e in PAGE_EDGES if e not in NPE_ERROR_EDGES]


def test_every_reference_page_field_with_the_page_token(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    fields = [f for f in PAGE_FIELDS if f not in _PAGE_EDGE_FIELDS]
    resp = graph.get(f"/v26.0/{big_page}", token=big_token, fields=",".join(fields))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) <= set(fields)
    assert body["followers_count"] == world.truth_page(big_page)["followers_count"]
    assert body["access_token"] == big_token
    assert "page_token" not in body and "whatsapp_number" not in body  # unset: left out


def test_every_public_page_field_with_the_system_user_token(
    graph: SandboxClient, big_page: str
) -> None:
    from fanpulse.sandbox.access import PUBLIC_PAGE_FIELDS

    fields = sorted(PUBLIC_PAGE_FIELDS)
    assert set(fields) <= set(PAGE_FIELDS) | {"picture"}
    resp = graph.get(f"/v26.0/{big_page}", fields=",".join(fields))
    assert resp.status_code == 200, resp.text
    # one field beyond the public ones and the whole call needs the Page token
    resp = graph.get(f"/v26.0/{big_page}", fields=",".join([*fields, "new_like_count"]))
    assert resp.json()["error"]["error_subcode"] == 2069032


def test_reference_edges_as_field_expansion_and_path(
    graph: SandboxClient, big_page: str, big_token: str
) -> None:
    unsimulated = [
        e
        for e in _PAGE_EDGE_FIELDS
        if e not in ("posts", "published_posts", "feed", "insights", "picture")
    ]
    body = graph.get(f"/v26.0/{big_page}", token=big_token, fields=",".join(unsimulated)).json()
    assert all(body[e] == {"data": []} for e in unsimulated)
    assert graph.get(f"/v26.0/{big_page}/photos", token=big_token).json() == {"data": []}
    assert graph.get(f"/v26.0/{big_page}/photos").json()["error"]["error_subcode"] == 2069032
    assert graph.get(f"/v26.0/{big_page}", fields="photos").json()["error"]["code"] == 190


@pytest.mark.parametrize("edge", sorted(NPE_ERROR_EDGES))
def test_npe_error_edges_keep_erroring(
    graph: SandboxClient, big_page: str, big_token: str, edge: str
) -> None:
    for resp in (
        graph.get(f"/v26.0/{big_page}/{edge}", token=big_token),
        graph.get(f"/v26.0/{big_page}", token=big_token, fields=f"id,{edge}"),
    ):
        assert resp.status_code == 400
        assert resp.json()["error"]["message"] == (
            f"(#100) Tried accessing nonexisting field ({edge}) on node type (Page)"
        )


def test_every_reference_post_field_and_edge(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    post = world.visible_posts(big_page)[0]
    names = [*POST_FIELDS, *(e for e in POST_EDGES if e not in ("likes", "insights"))]
    resp = graph.get(f"/v26.0/{post.id}", token=big_token, fields=",".join(names))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["permalink_url"] == post.permalink_url
    assert body["sharedposts"] == {"data": []} and "admin_creator" not in body
    listing = graph.get(
        f"/v26.0/{big_page}/published_posts", token=big_token, limit=5, fields=",".join(names)
    )
    assert listing.status_code == 200 and len(listing.json()["data"]) == 5
    likes = graph.get(f"/v26.0/{post.id}", token=big_token, fields="id,likes")
    message = likes.json()["error"]["message"]
    assert message.endswith("nonexisting field (likes) on node type (Post)")


@pytest.mark.parametrize("node", ["page", "post"])
def test_unknown_names_are_still_refused(
    graph: SandboxClient, world: World, big_page: str, big_token: str, node: str
) -> None:
    target = big_page if node == "page" else world.visible_posts(big_page)[0].id
    resp = graph.get(f"/v26.0/{target}", token=big_token, fields="id,name,nonexisting_thing")
    if node == "post":
        resp = graph.get(f"/v26.0/{target}", token=big_token, fields="id,nonexisting_thing")
    assert resp.status_code == 400
    node_type = "Page" if node == "page" else "Post"
    assert resp.json()["error"]["message"] == (
        f"(#100) Tried accessing nonexisting field (nonexisting_thing) on node type ({node_type})"
    )
