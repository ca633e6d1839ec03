"""Batch requests (docs/graph-api.md §7) and version handling (§1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from fanpulse.sandbox import SandboxServer, World, appsecret_proof
from fanpulse.sandbox.testing import SandboxClient


def _op(path: str, **extra: object) -> dict[str, object]:
    return {"method": "GET", "relative_url": path, **extra}


def test_batch_over_50_is_refused(graph: SandboxClient, world: World) -> None:
    resp = graph.batch([_op(f"v26.0/{world.pages[0]}")] * 51)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "GraphBatchException"
    assert error["message"] == "Too many requests in batch message. Maximum batch size is 50"
    assert graph.server.stats.total_calls == 0


def test_batch_of_50_is_fine(graph: SandboxClient, world: World) -> None:
    ops = [_op(f"v26.0/{world.pages[i % 30]}?fields=fan_count") for i in range(50)]
    items = graph.batch(ops).json()
    assert len(items) == 50 and {i["code"] for i in items} == {200}
    assert graph.server.stats.total_calls == 50 and graph.server.stats.http_requests == 1


@pytest.mark.parametrize(("rate", "expect_nulls"), [(0.0, 0), (1.0, 10)])
def test_batch_null_items(
    graph: SandboxClient, world: World, rate: float, expect_nulls: int
) -> None:
    world.faults.batch_null_rate = rate
    items = graph.batch([_op(f"v26.0/{p}") for p in world.pages[:10]]).json()
    assert sum(i is None for i in items) == expect_nulls
    assert graph.server.stats.null_items == expect_nulls
    assert graph.server.stats.total_calls == 10 - expect_nulls  # unanswered items did not run


def test_batch_null_positions_are_deterministic(graph: SandboxClient, world: World) -> None:
    world.faults.batch_null_rate = 0.5
    ops = [_op(f"v26.0/{p}") for p in world.pages[:20]]
    world.faults.reseed(3)
    first = [i is None for i in graph.batch(ops).json()]
    world.faults.reseed(3)
    again = [i is None for i in graph.batch(ops).json()]
    assert first == again and any(first) and not all(first)


def test_batch_item_variants(graph: SandboxClient, world: World) -> None:
    world.tokens.add("page-b", type="PAGE", page_ids={world.pages[1]})
    ops = [
        _op(f"/v26.0/{world.pages[0]}?fields=name"),  # leading slash
        _op(f"{world.pages[1]}?fields=name", access_token="page-b"),  # own token, no version
        _op(f"v26.0/{world.pages[0]}/posts", access_token="page-b"),  # not its page
        _op(f"v20.0/{world.pages[0]}"),  # expired version, upgraded
        {"method": "POST", "relative_url": f"v26.0/{world.pages[0]}"},
        _op("v26.0/{result=first:$.id}"),
        {"method": "GET"},
    ]
    items = graph.batch(ops).json()
    assert [i["code"] for i in items] == [200, 200, 403, 200, 400, 400, 400]
    version = {h["name"]: h["value"] for h in items[3]["headers"]}["Facebook-API-Version"]
    assert version == "v21.0"
    assert "not supported by the sandbox" in json.loads(items[5]["body"])["error"]["message"]


def test_batch_without_headers_and_bad_json(graph: SandboxClient, world: World) -> None:
    items = graph.batch([_op(f"v26.0/{world.pages[0]}")], include_headers="false").json()
    assert list(items[0]) == ["code", "body"]
    resp = graph.session.post(graph.url("/"), data={"access_token": "sandbox-token", "batch": "[{"})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "GraphBatchException"


def test_batch_as_json_body(graph: SandboxClient, world: World) -> None:
    body = {"access_token": "sandbox-token", "batch": [_op(f"v26.0/{world.pages[0]}?fields=id")]}
    resp = graph.session.post(graph.url("/v26.0/"), json=body, timeout=10)
    assert resp.status_code == 200 and resp.json()[0]["code"] == 200


# -- each item with its own token (§7) ---------------------------------------------------------


def _outcome(item: dict[str, Any]) -> tuple[int, int | None, int | None]:
    error = json.loads(item["body"]).get("error", {})
    return item["code"], error.get("code"), error.get("error_subcode")


def test_batch_authorises_each_item_with_its_own_token(
    graph: SandboxClient,
    world: World,
    big_page: str,
    big_token: str,
    district_page: str,
    district_token: str,
) -> None:
    world.tokens.add(
        "expired-page", type="PAGE", page_ids={district_page}, expires_at=world.now - timedelta(1)
    )
    ops = [
        # the Page's own token in the item's URL, or as the op's "access_token"
        _op(f"v26.0/{big_page}/published_posts?limit=2&access_token={big_token}"),
        _op(f"v26.0/{district_page}/published_posts?limit=2", access_token=district_token),
        # no token of its own: the batch's system-user token, which needs the Page token here
        _op(f"v26.0/{big_page}/published_posts?limit=2"),
        _op(f"v26.0/{district_page}/posts?access_token={big_token}"),  # another Page's token
        _op(f"v26.0/{big_page}?fields=fan_count&access_token=nonsense"),  # a bad token
        _op(f"v26.0/{district_page}?fields=fan_count", access_token="expired-page"),
        _op(f"v26.0/{big_page}?fields=fan_count,followers_count"),  # public fields: fine
    ]
    items = graph.batch(ops).json()
    assert [_outcome(i) for i in items] == [
        (200, None, None),
        (200, None, None),
        (400, 190, 2069032),
        (403, 200, None),
        (400, 190, None),
        (400, 190, 463),
        (200, None, None),
    ]
    assert len(json.loads(items[0]["body"])["data"]) == 2
    assert graph.server.stats.total_calls == len(ops)
    log = graph.server.request_log
    assert len(log) == len(ops) + 1  # every item, then the batch itself
    assert all("access_token" not in e.query and "appsecret_proof" not in e.query for e in log)
    assert log[0].query == "limit=2" and log[0].path == f"/v26.0/{big_page}/published_posts"
    for entry in log:
        assert big_token not in entry.query + entry.path
        assert district_token not in entry.query + entry.path


@pytest.mark.parametrize(
    ("setup", "token", "code", "subcode"),
    [
        (None, None, 104, None),
        (None, "nonsense", 190, None),
        ("revoked", "revoked", 190, 467),
    ],
)
def test_a_refused_batch_token_fails_the_whole_batch(
    graph: SandboxClient,
    world: World,
    big_page: str,
    big_token: str,
    setup: str | None,
    token: str | None,
    code: int,
    subcode: int | None,
) -> None:
    if setup:
        world.tokens.add(setup, type="USER")
        world.tokens.revoke(setup, 467)
    # even items that carry a good token of their own are not run
    resp = graph.batch([_op(f"v26.0/{big_page}/posts?access_token={big_token}")], token=token)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error.get("error_subcode")) == (code, subcode)
    assert graph.server.stats.total_calls == 0
    assert big_token not in resp.text


def test_batch_items_prove_their_own_tokens(make_world: Callable[..., World]) -> None:
    world = make_world(app_secret="s3cret")
    page = world.pages[1]
    page_token = world.page_token(page)
    own_proof = appsecret_proof("s3cret", page_token)
    outer_proof = appsecret_proof("s3cret", "sandbox-token")
    ops = [
        _op(f"v26.0/{page}/posts?limit=1&access_token={page_token}&appsecret_proof={own_proof}"),
        _op(f"v26.0/{page}/posts?limit=1&access_token={page_token}"),  # no proof of its own
        _op(f"v26.0/{page}/posts?limit=1", access_token=page_token, appsecret_proof=own_proof),
        _op(f"v26.0/{page}/posts?limit=1&access_token={page_token}&appsecret_proof={outer_proof}"),
        _op(f"v26.0/{page}?fields=name"),  # the batch's token and proof
    ]
    with SandboxServer(world) as srv:
        resp = requests.post(
            srv.base_url + "/",
            data={
                "access_token": "sandbox-token",
                "appsecret_proof": outer_proof,
                "batch": json.dumps(ops),
            },
            timeout=10,
        )
        log = srv.request_log
    assert [i["code"] for i in resp.json()] == [200, 400, 200, 400, 200]
    messages = [json.loads(i["body"]).get("error", {}).get("message") for i in resp.json()]
    assert messages[1] == "API calls from the server require an appsecret_proof argument"
    assert messages[3] == "Invalid appsecret_proof provided in the API argument"
    assert all(own_proof not in e.query and page_token not in e.query for e in log)


# -- versions -------------------------------------------------------------------------------------

VERSION_CASES = [
    ("/v21.0", "v21.0"),
    ("/v22.0", "v22.0"),
    ("/v23.0", "v23.0"),
    ("/v24.0", "v24.0"),
    ("/v25.0", "v25.0"),
    ("/v26.0", "v26.0"),
    ("/v27.0", "v27.0"),  # released 4 Nov 2026 (§0)
    ("/v20.0", "v21.0"),  # expired 2026-09-24: silently served by the oldest usable version
    ("/v2.8", "v21.0"),  # facebook-sdk's default
    ("", "v27.0"),  # no version: the newest
]


@pytest.mark.parametrize(("prefix", "served"), VERSION_CASES)
def test_versions(graph: SandboxClient, world: World, prefix: str, served: str) -> None:
    resp = graph.get(f"{prefix}/{world.pages[0]}", fields="fan_count")
    assert resp.status_code == 200
    assert resp.headers["facebook-api-version"] == served


@pytest.mark.parametrize("prefix", ["/v28.0", "/v25.1", "/v99.0"])
def test_unknown_versions_read_as_aliases(graph: SandboxClient, world: World, prefix: str) -> None:
    resp = graph.get(f"{prefix}/{world.pages[0]}")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 803


@pytest.mark.parametrize(
    ("now", "prefix", "served"),
    [
        (datetime(2027, 2, 1, tzinfo=UTC), "/v21.0", "v22.0"),  # v21.0 expired 2027-01-21
        (datetime(2027, 2, 1, tzinfo=UTC), "/v22.0", "v22.0"),
        (datetime(2026, 5, 1, tzinfo=UTC), "", "v25.0"),  # before v26.0 shipped
        (datetime(2026, 11, 1, tzinfo=UTC), "", "v26.0"),  # before v27.0 shipped
        (datetime(2026, 11, 1, tzinfo=UTC), "/v27.0", None),  # not released yet: an alias
    ],
)
def test_versions_follow_the_simulated_clock(
    make_world: Callable[..., World], now: datetime, prefix: str, served: str | None
) -> None:
    world = make_world(now=now)
    with SandboxServer(world) as srv:
        resp = requests.get(
            f"{srv.base_url}{prefix}/{world.pages[0]}",
            params={"access_token": "sandbox-token"},
            timeout=10,
        )
    if served is None:
        assert resp.status_code == 400 and resp.json()["error"]["code"] == 803
    else:
        assert resp.status_code == 200 and resp.headers["facebook-api-version"] == served
