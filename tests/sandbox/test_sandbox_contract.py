"""Contract tests: the sandbox answers with the shapes recorded from the real Graph API.

Each case loads a recorded response from ``recorded/`` (docs/graph-api.md §2-§10, tokens scrubbed)
and asks the sandbox the same question; keys, key order, JSON types and string kinds must match.
Values differ, of course. Posts and insights are asked with the Page's own token (§0); the
multi-ID recordings predate 4 Nov 2026 and are replayed by a legacy app on v25.0.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from fanpulse.sandbox import DEFAULT_TOKEN as TOKEN
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.testing import SandboxClient as Graph
from fanpulse.sandbox.timeutil import to_ts

Loader = Callable[[str], dict[str, Any]]
Shape = Callable[..., None]


def _post_where(
    world: World, page_id: str, test: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    for post in world.truth_posts(page_id):
        if not post["deleted"] and test(post):
            return post
    raise AssertionError("no post matches")


def test_page_node_counts(
    graph: Graph, big_page: str, recorded: Loader, assert_shape: Shape
) -> None:
    rec = recorded("page_node_counts")
    resp = graph.get(f"/v26.0/{big_page}", **rec["request"]["params"])
    assert resp.status_code == rec["status"]
    assert_shape(rec["body"], resp.json())


def test_page_node_omits_unset_username(
    graph: Graph, page_without_username: str, recorded: Loader, assert_shape: Shape
) -> None:
    rec = recorded("page_node_no_username")
    resp = graph.get(f"/v26.0/{page_without_username}", **rec["request"]["params"])
    body = resp.json()
    assert resp.status_code == 200
    assert_shape(rec["body"], body)
    assert "username" not in body
    assert body["link"] == f"https://www.facebook.com/{page_without_username}"


def test_ids_multi_read_is_keyed_by_id(
    legacy_graph: tuple[World, Graph], recorded: Loader, assert_shape: Shape
) -> None:
    world, graph = legacy_graph
    rec = recorded("ids_multi")
    with_username = [p for p in world.pages if world.spec(p).username][:2]
    resp = graph.get(
        "/v25.0/", ids=",".join(with_username), fields=rec["request"]["params"]["fields"]
    )
    body = resp.json()
    assert resp.status_code == 200
    assert list(body) == with_username
    template = next(iter(rec["body"].values()))
    for node in body.values():
        assert_shape(template, node)


def test_post_summaries_with_absent_shares(
    graph: Graph,
    world: World,
    big_page: str,
    big_token: str,
    recorded: Loader,
    assert_shape: Shape,
) -> None:
    rec = recorded("post_summaries_no_shares")
    post = _post_where(world, big_page, lambda p: p["shares"] == 0 and p["comments"] > 0)
    resp = graph.get(f"/v26.0/{post['id']}", token=big_token, **rec["request"]["params"])
    body = resp.json()
    assert resp.status_code == 200
    assert_shape(rec["body"], body)
    assert "shares" not in body
    assert body["reactions"]["summary"]["total_count"] == post["reactions_total"]
    assert body["comments"]["summary"]["total_count"] == post["comments"]


def test_post_shares_present(
    graph: Graph,
    world: World,
    big_page: str,
    big_token: str,
    recorded: Loader,
    assert_shape: Shape,
) -> None:
    rec = recorded("post_shares_present")
    post = _post_where(world, big_page, lambda p: p["shares"] > 0)
    body = graph.get(f"/v26.0/{post['id']}", token=big_token, fields="shares").json()
    assert_shape(rec["body"], body)
    assert body["shares"]["count"] == post["shares"]


def test_posts_last_page_has_cursors_but_no_next(
    graph: Graph,
    world: World,
    big_page: str,
    big_token: str,
    recorded: Loader,
    assert_shape: Shape,
) -> None:
    rec = recorded("posts_cursor_last_page")
    post = _post_where(world, big_page, lambda p: p["message"] is not None and p is not None)
    ts = to_ts(post["created_time"])
    resp = graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=1, since=ts, until=ts)
    body = resp.json()
    assert_shape(rec["body"], body)
    assert body["data"][0]["id"] == post["id"]
    assert "next" not in body["paging"]


def test_feed_fields_of_a_text_post(
    graph: Graph,
    world: World,
    big_page: str,
    big_token: str,
    recorded: Loader,
    assert_shape: Shape,
) -> None:
    rec = recorded("feed_fields")
    post = next(
        p
        for p in world.visible_posts(big_page)
        if p.kind == "status" and p.message and not p.visitor
    )
    ts = to_ts(post.created)
    body = graph.get(
        f"/v26.0/{big_page}/feed", token=big_token, since=ts, until=ts, **rec["request"]["params"]
    ).json()
    body["data"] = [d for d in body["data"] if d["id"] == post.id]
    assert_shape(rec["body"], body)


@pytest.fixture
def september_server(make_world: Callable[..., World]) -> Any:
    # The probe ran in early September: Pacific daylight time, end_time at 07:00 UTC.
    world = make_world(now=datetime(2026, 9, 5, 18, 0, tzinfo=UTC))
    with SandboxServer(world) as srv:
        yield world, srv


@pytest.mark.parametrize("name", ["insights_page_follows", "insights_page_post_engagements"])
def test_page_insights_default_window(
    september_server: Any, recorded: Loader, assert_shape: Shape, name: str
) -> None:
    world, srv = september_server
    rec = recorded(name)
    page = world.pages[0]
    page_token = world.page_token(page)
    resp = requests.get(
        f"{srv.base_url}/v25.0/{page}/insights",
        params={"access_token": page_token, **rec["request"]["params"]},
        timeout=10,
    )
    body = resp.json()
    assert resp.status_code == 200
    assert_shape(rec["body"], body)
    values = body["data"][0]["values"]
    assert [v["end_time"] for v in values] == [
        "2026-09-04T07:00:00+0000",
        "2026-09-05T07:00:00+0000",
    ]
    # paging shifts since/until by the window length (172800 s), token included, as recorded
    prev = requests.utils.urlparse(body["paging"]["previous"])
    nxt = requests.utils.urlparse(body["paging"]["next"])
    prev_q = dict(p.split("=") for p in prev.query.split("&"))
    next_q = dict(p.split("=") for p in nxt.query.split("&"))
    assert int(next_q["since"]) - int(prev_q["since"]) == 2 * 172800
    assert int(next_q["until"]) - int(next_q["since"]) == 172800
    assert prev_q["access_token"] == page_token and nxt.path == f"/v25.0/{page}/insights"


def test_post_insights_object_value(
    graph: Graph,
    world: World,
    big_page: str,
    big_token: str,
    recorded: Loader,
    assert_shape: Shape,
) -> None:
    rec = recorded("insights_post_reactions_by_type")
    post = _post_where(world, big_page, lambda p: p["reactions_total"] > 0)
    params = rec["request"]["params"]
    body = graph.get(f"/v26.0/{post['id']}/insights", token=big_token, **params).json()
    value = body["data"][0]["values"][0]["value"]
    expected, actual = copy.deepcopy(rec["body"]), copy.deepcopy(body)
    expected["data"][0]["values"][0]["value"] = actual["data"][0]["values"][0]["value"] = None
    assert_shape(expected, actual)
    assert value and all(k.islower() and isinstance(n, int) for k, n in value.items())
    assert sum(value.values()) == post["reactions_total"]
    assert "end_time" not in body["data"][0]["values"][0]


def test_invalid_metric_error(
    graph: Graph, big_page: str, big_token: str, recorded: Loader, assert_shape: Shape
) -> None:
    rec = recorded("insights_invalid_metric")
    resp = graph.get(f"/v26.0/{big_page}/insights", token=big_token, **rec["request"]["params"])
    assert resp.status_code == rec["status"]
    assert_shape(rec["body"], resp.json())
    assert resp.json()["error"]["message"] == rec["body"]["error"]["message"]


def test_batch_array_with_a_failing_item(
    graph: Graph, world: World, recorded: Loader, assert_shape: Shape
) -> None:
    rec = recorded("batch_first_error")
    ops = [
        {"method": "GET", "relative_url": "v26.0/2"},
        {"method": "GET", "relative_url": f"v26.0/{world.pages[1]}?fields=name"},
    ]
    resp = graph.batch(ops)
    assert resp.status_code == 200
    items = resp.json()
    assert [i["code"] for i in items] == [400, 200]
    for rec_item, item in zip(rec["body"], items, strict=True):
        assert list(item) == list(rec_item)
        rec_names = {h["name"] for h in rec_item["headers"]}
        assert rec_names <= {h["name"] for h in item["headers"]}
        for header in item["headers"]:
            assert_shape(rec_item["headers"][0], header)
    assert_shape(json.loads(rec["body"][0]["body"]), json.loads(items[0]["body"]))
    assert json.loads(items[1]["body"]) == {
        "name": world.spec(world.pages[1]).name,
        "id": world.pages[1],
    }


def _trigger_expired(graph: Graph, world: World) -> requests.Response:
    world.tokens.add("old-token", type="USER", expires_at=world.now - timedelta(hours=1))
    return graph.get(f"/v26.0/{world.pages[0]}", token="old-token")


def _trigger_permission(graph: Graph, world: World) -> requests.Response:
    # Another Page's token reads public fields but not the posts (docs/sandbox.md).
    world.tokens.add("one-page", type="PAGE", page_ids={world.pages[1]})
    return graph.get(f"/v26.0/{world.pages[0]}/posts", token="one-page")


def _trigger_app_limit(graph: Graph, world: World) -> requests.Response:
    world.faults.app_quota_calls = 1
    graph.get(f"/v26.0/{world.pages[0]}")
    return graph.get(f"/v26.0/{world.pages[0]}")


def _trigger_reduce(graph: Graph, world: World) -> requests.Response:
    world.faults.reduce_data_rate = 1.0
    token = world.page_token(world.pages[0])
    return graph.get(f"/v26.0/{world.pages[0]}/posts", token=token, limit=100)


def _trigger_no_metric(graph: Graph, world: World) -> requests.Response:
    return graph.get(f"/v26.0/{world.pages[0]}/insights", token=world.page_token(world.pages[0]))


def _legacy(call: Callable[[Graph, World], requests.Response]) -> Callable[..., Any]:
    """Run ``call`` as an app created before 4 Nov 2026: the ids recordings predate it."""

    def trigger(graph: Graph, world: World) -> requests.Response:
        world.legacy_app = True
        return call(graph, world)

    return trigger


# (recorded body, how to provoke it, the code the sandbox must answer with)
ERROR_CASES: list[tuple[str, Callable[[Graph, World], requests.Response], int]] = [
    # the documented full shape (subcode, user title and message): "no metric" has all of it
    ("error_shape", _trigger_no_metric, 3001),
    ("error_token_expired", _trigger_expired, 190),
    ("error_unknown_object", lambda g, w: g.get("/v26.0/2"), 100),
    ("error_alias_missing", _legacy(lambda g, w: g.get("/v25.0/", ids="nosuchalias")), 803),
    (
        "error_too_many_ids",
        _legacy(lambda g, w: g.get("/v25.0/", ids=",".join(map(str, range(54))))),
        100,
    ),
    ("error_permission_200", _trigger_permission, 200),
    ("error_app_limit_4", _trigger_app_limit, 4),
    ("error_reduce_data", _trigger_reduce, 1),
]


@pytest.mark.parametrize(("name", "trigger", "code"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_bodies(
    graph: Graph,
    world: World,
    recorded: Loader,
    assert_shape: Shape,
    name: str,
    trigger: Callable[[Graph, World], requests.Response],
    code: int,
) -> None:
    rec = recorded(name)
    resp = trigger(graph, world)
    assert resp.status_code == rec["status"]
    assert_shape(rec["body"], resp.json())
    assert resp.json()["error"]["code"] == code
    assert "json" in resp.headers["Content-Type"]


def test_usage_headers(graph: Graph, big_page: str, recorded: Loader, assert_shape: Shape) -> None:
    rec = recorded("usage_headers")["headers"]
    resp = graph.get(f"/v26.0/{big_page}", fields="fan_count")
    assert_shape(json.loads(rec["X-App-Usage"]), json.loads(resp.headers["X-App-Usage"]))
    buc = json.loads(resp.headers["X-Business-Use-Case-Usage"])
    assert list(buc) == [big_page]
    assert_shape(next(iter(json.loads(rec["X-Business-Use-Case-Usage"]).values())), buc[big_page])


def test_debug_token(graph: Graph, recorded: Loader, assert_shape: Shape) -> None:
    rec = recorded("debug_token")
    resp = graph.get("/v26.0/debug_token", input_token=TOKEN)
    assert resp.status_code == 200
    assert_shape(rec["body"], resp.json())


def test_me_accounts(graph: Graph, world: World, recorded: Loader, assert_shape: Shape) -> None:
    rec = recorded("me_accounts")
    world.tokens.add("user-one-page", type="USER", page_ids={world.pages[2]})
    resp = graph.get("/v26.0/me/accounts", token="user-one-page")
    assert resp.status_code == 200
    assert_shape(rec["body"], resp.json())
