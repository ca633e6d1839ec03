"""A new app against a legacy one (docs/graph-api.md §0): what Meta took away on 4 Nov 2026.

A new app is refused multi-ID reads, field aliases, date_format, method override, JSONP and
async batch on every version; a legacy app keeps them (except ``?ids=`` from v26.0).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fanpulse.sandbox import World
from fanpulse.sandbox.testing import SandboxClient

ALL_VERSIONS = ["/v21.0", "/v22.0", "/v23.0", "/v24.0", "/v25.0", "/v26.0", "/v27.0", ""]
MULTI_ID = (
    "(#100) Multi-ID requests are not available to this app. Use per-object requests or "
    "supported batching."
)
MULTI_ID_V26 = (
    "(#100) Multi-ID requests (the ids parameter on the root node) are not supported from "
    "v26.0. Use per-object requests or supported batching."
)


def _error(resp: object) -> dict[str, object]:
    body = resp.json()  # type: ignore[attr-defined]
    error: dict[str, object] = body["error"]
    return error


@pytest.mark.parametrize("prefix", ALL_VERSIONS)
def test_multi_id_refused_for_a_new_app_on_every_version(
    graph: SandboxClient, world: World, prefix: str
) -> None:
    resp = graph.get(f"{prefix}/", ids=",".join(world.pages[:2]), fields="fan_count")
    assert resp.status_code == 400
    error = _error(resp)
    assert list(error) == ["message", "type", "code", "fbtrace_id"]
    assert (error["message"], error["type"], error["code"]) == (MULTI_ID, "OAuthException", 100)
    # refused before anything else about the ids is looked at
    assert _error(graph.get(f"{prefix}/", ids=",".join(["x"] * 60)))["message"] == MULTI_ID


@pytest.mark.parametrize(
    ("prefix", "status"),
    [("/v21.0", 200), ("/v25.0", 200), ("/v26.0", 400), ("/v27.0", 400), ("", 400)],
)
def test_multi_id_for_a_legacy_app(
    legacy_graph: tuple[World, SandboxClient], prefix: str, status: int
) -> None:
    world, graph = legacy_graph
    resp = graph.get(f"{prefix}/", ids=",".join(world.pages[:2]), fields="fan_count")
    assert resp.status_code == status
    if status == 200:
        assert list(resp.json()) == world.pages[:2]
    else:
        assert _error(resp)["message"] == MULTI_ID_V26


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ("reactions.type(LOVE).limit(0).summary(total_count).as(reactions_love)", "reactions_love"),
        ("id,message.as(text)", "text"),
        (
            "id,reactions.type(LOVE).limit(0).summary(total_count).as(love),"
            "reactions.type(WOW).limit(0).summary(total_count).as(wow)",
            "love), .as(wow",
        ),
    ],
)
def test_field_aliases_refused_for_a_new_app(
    graph: SandboxClient, world: World, big_page: str, big_token: str, fields: str, named: str
) -> None:
    post = world.visible_posts(big_page)[0].id
    resp = graph.get(f"/v26.0/{post}", token=big_token, fields=fields)
    assert resp.status_code == 400
    error = _error(resp)
    assert error["code"] == 100 and error["type"] == "OAuthException"
    assert error["message"] == f"(#100) Field aliases are not available to this app: .as({named})"


def test_nested_aliases_refused_too(graph: SandboxClient, big_page: str, big_token: str) -> None:
    fields = "id,posts.limit(2){id,reactions.type(LOVE).limit(0).summary(1).as(love)}"
    for prefix in ("/v21.0", "/v25.0", "/v27.0"):
        resp = graph.get(f"{prefix}/{big_page}", token=big_token, fields=fields)
        assert resp.status_code == 400 and "as(love)" in str(_error(resp)["message"])
    # the same call in a batch item fails that item only
    ops = [
        {"method": "GET", "relative_url": f"v26.0/{big_page}?fields={fields}"},
        {"method": "GET", "relative_url": f"v26.0/{big_page}?fields=id,name"},
    ]
    items = graph.batch(ops).json()
    assert [i["code"] for i in items] == [400, 200]
    # ordinary field expansion is not affected
    ok = graph.get(
        f"/v26.0/{big_page}/posts",
        token=big_token,
        fields="id,reactions.summary(total_count).limit(0),comments.summary(true).limit(0)",
    )
    assert ok.status_code == 200


def test_aliases_work_for_a_legacy_app(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = world.pages[0]
    fields = "id,posts.limit(1){id,reactions.type(LOVE).limit(0).summary(total_count).as(love)}"
    body = graph.get(f"/v27.0/{page}", token=world.page_token(page), fields=fields).json()
    post = body["posts"]["data"][0]
    assert post["love"]["summary"]["total_count"] == world.truth_post(post["id"])[
        "reactions_by_type"
    ]["LOVE"]


@pytest.mark.parametrize(
    ("param", "value", "feature"),
    [
        ("date_format", "U", "Date/time formatting"),
        ("method", "get", "HTTP method override"),
        ("callback", "cb", "JSONP callback"),
    ],
)
def test_legacy_parameters_refused_for_a_new_app(
    graph: SandboxClient, big_page: str, param: str, value: str, feature: str
) -> None:
    resp = graph.get(f"/v26.0/{big_page}", fields="name", **{param: value})
    assert resp.status_code == 400 and "json" in resp.headers["Content-Type"]
    error = _error(resp)
    assert error["code"] == 100
    assert error["message"] == f"(#100) {feature} is not available to this app (parameter {param})"


def test_date_format_for_a_legacy_app(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = world.pages[0]
    token = world.page_token(page)
    post = world.visible_posts(page)[0]
    unix = graph.get(f"/v26.0/{post.id}", token=token, fields="created_time", date_format="U")
    assert unix.json()["created_time"] == int(post.created.timestamp())
    text = graph.get(
        f"/v26.0/{post.id}", token=token, fields="created_time", date_format="Y-m-d\\TH:i"
    )
    assert text.json()["created_time"] == post.created.strftime("%Y-%m-%dT%H:%M")


def test_method_override_for_a_legacy_app(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = world.pages[0]
    assert graph.get(f"/v26.0/{page}", method="get").status_code == 200
    resp = graph.get(f"/v26.0/{page}", method="post", about="x")
    assert resp.status_code == 400 and "Unsupported post request" in str(_error(resp)["message"])


def test_jsonp_for_a_legacy_app(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = world.pages[0]
    resp = graph.get(f"/v26.0/{page}", fields="name", callback="handle.page")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.text.startswith("/**/ handle.page(") and resp.text.endswith(");")
    inner = resp.text[len("/**/ handle.page(") : -2]
    assert json.loads(inner) == {"name": world.spec(page).name, "id": page}
    bad = graph.get(f"/v26.0/{page}", fields="name", callback="alert(1)//")
    assert bad.status_code == 400 and "json" in bad.headers["Content-Type"]


@pytest.mark.parametrize("edge", ["async_batch_requests", "async_batch"])
def test_async_batch_is_not_served(graph: SandboxClient, world: World, edge: str) -> None:
    ops = json.dumps([{"method": "GET", "relative_url": world.pages[0]}])
    resp = graph.session.post(
        graph.url(f"/v26.0/{world.app_id}/{edge}"),
        data={"access_token": "sandbox-token", "batch": ops, "name": "night"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert _error(resp)["message"] == (
        "(#100) Asynchronous batch requests are not available to this app. Use synchronous "
        "batch requests (POST / with batch=) instead."
    )
    world.legacy_app = True  # not simulated for a legacy app either: an ordinary refusal
    again = graph.session.post(
        graph.url(f"/v26.0/{world.app_id}/{edge}"),
        data={"access_token": "sandbox-token", "batch": ops},
        timeout=10,
    )
    assert again.status_code == 400 and _error(again)["code"] == 100


def test_legacy_app_can_be_switched_while_serving(graph: SandboxClient, world: World) -> None:
    ids = ",".join(world.pages[:2])
    assert graph.get("/v25.0/", ids=ids).status_code == 400
    world.legacy_app = True
    assert graph.get("/v25.0/", ids=ids).status_code == 200
    world.legacy_app = False
    assert graph.get("/v25.0/", ids=ids).status_code == 400


def test_request_log_shows_ids_and_aliases(
    make_world: Callable[..., World],
) -> None:
    """The log keeps fields and ids (not tokens), so a collector test can check a whole night
    for ``ids=`` and ``.as(``."""
    from urllib.parse import parse_qs

    import requests

    from fanpulse.sandbox import SandboxServer

    world = make_world()
    page = world.pages[0]
    token = world.page_token(page)
    with SandboxServer(world) as srv, requests.Session() as session:
        graph = SandboxClient(srv, session)
        graph.get("/v26.0/", ids=page)
        graph.get(f"/v26.0/{page}", fields="reactions.summary(1).as(r)")
        graph.batch(
            [
                {"method": "GET", "relative_url": f"v26.0/?ids={page}&access_token={token}"},
                {"method": "GET", "relative_url": f"v26.0/{page}?fields=name.as(n)"},
            ]
        )
        log = srv.request_log
    queries = [parse_qs(e.query) for e in log]
    assert sum("ids" in q for q in queries) == 2
    assert sum(".as(" in q.get("fields", [""])[0] for q in queries) == 2
    assert all(token not in e.query and "access_token" not in e.query for e in log)
