"""Batch requests (graph-api.md §7) and version handling (§1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests

from sandbox import SandboxServer, World
from sandbox.testing import SandboxClient


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
        _op(f"v26.0/{world.pages[0]}?fields=name", access_token="page-b"),  # not its page
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


# -- versions -------------------------------------------------------------------------------------

VERSION_CASES = [
    ("/v21.0", "v21.0"),
    ("/v22.0", "v22.0"),
    ("/v23.0", "v23.0"),
    ("/v24.0", "v24.0"),
    ("/v25.0", "v25.0"),
    ("/v26.0", "v26.0"),
    ("/v20.0", "v21.0"),  # expired 2026-09-24: silently served by the oldest usable version
    ("/v2.8", "v21.0"),  # facebook-sdk's default
    ("", "v26.0"),  # no version: the newest
]


@pytest.mark.parametrize(("prefix", "served"), VERSION_CASES)
def test_versions(graph: SandboxClient, world: World, prefix: str, served: str) -> None:
    resp = graph.get(f"{prefix}/{world.pages[0]}", fields="fan_count")
    assert resp.status_code == 200
    assert resp.headers["facebook-api-version"] == served


@pytest.mark.parametrize("prefix", ["/v27.0", "/v25.1", "/v99.0"])
def test_unknown_versions_read_as_aliases(graph: SandboxClient, world: World, prefix: str) -> None:
    resp = graph.get(f"{prefix}/{world.pages[0]}")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 803


@pytest.mark.parametrize(
    ("now", "prefix", "served"),
    [
        (datetime(2027, 2, 1, tzinfo=UTC), "/v21.0", "v22.0"),  # v21.0 expired 2027-01-21
        (datetime(2027, 2, 1, tzinfo=UTC), "/v22.0", "v22.0"),
        (datetime(2026, 5, 1, tzinfo=UTC), "", "v25.0"),  # before v26.0 shipped
    ],
)
def test_versions_follow_the_simulated_clock(
    make_world: Callable[..., World], now: datetime, prefix: str, served: str
) -> None:
    world = make_world(now=now)
    with SandboxServer(world) as srv:
        resp = requests.get(
            f"{srv.base_url}{prefix}/{world.pages[0]}",
            params={"access_token": "sandbox-token"},
            timeout=10,
        )
    assert resp.status_code == 200 and resp.headers["facebook-api-version"] == served
