"""facebook-sdk 3.1.0, a client we did not write, works against the sandbox (graph-api.md §11)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import facebook
import pytest
import requests

from sandbox import DEFAULT_TOKEN, SandboxServer, World


@pytest.fixture
def fb(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # facebook-sdk reads the module global at call time; monkeypatch restores it afterwards.
    monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", server.base_url + "/")
    with requests.Session() as session:
        g = facebook.GraphAPI(access_token=DEFAULT_TOKEN, timeout=10, session=session)
        g.version = "v26.0"  # the constructor only accepts 2.8-3.1
        yield g


def test_reads_a_page(fb: Any, world: World, big_page: str) -> None:
    page = fb.get_object(big_page, fields="name,fan_count,followers_count")
    truth = world.truth_page(big_page)
    assert page == {
        "name": truth["name"],
        "fan_count": truth["fan_count"],
        "followers_count": truth["followers_count"],
        "id": big_page,
    }
    assert fb.get_version() == "26.0"


def test_get_objects_keyed_by_id(fb: Any, world: World) -> None:
    ids = world.pages[:3]
    result = fb.get_objects(ids, fields="fan_count")
    assert sorted(result) == sorted(ids)
    assert all(result[i]["fan_count"] == world.truth_page(i)["fan_count"] for i in ids)


@pytest.mark.parametrize("edge", ["posts", "published_posts"])
def test_pages_through_all_posts(fb: Any, world: World, big_page: str, edge: str) -> None:
    got = list(fb.get_all_connections(big_page, edge, fields="id,created_time,message", limit=100))
    truth = [p["id"] for p in world.truth_posts(big_page) if not p["deleted"]]
    assert len(got) == len(truth) > 300
    assert [p["id"] for p in got] == truth  # newest first, no gap, no duplicate


def test_pages_through_feed_with_visitor_posts(fb: Any, world: World, district_page: str) -> None:
    got = list(fb.get_all_connections(district_page, "feed", fields="id,from", limit=50))
    truth = [p for p in world.truth_posts(district_page, visitors=True) if not p["deleted"]]
    assert [p["id"] for p in got] == [p["id"] for p in truth]
    assert any(p["from"]["id"] != district_page for p in got)


def test_gets_page_and_post_insights(fb: Any, world: World, big_page: str) -> None:
    result = fb.get_connections(
        big_page, "insights", metric="page_follows,page_post_engagements", period="day"
    )
    by_name = {m["name"]: m for m in result["data"]}
    for name, metric in by_name.items():
        for value in metric["values"]:
            day = world.day_for_end_time(value["end_time"])
            assert value["value"] == world.truth_page_insight(big_page, name, day)
    post = world.truth_posts(big_page)[3]
    post_insights = fb.get_connections(
        post["id"], "insights", metric="post_reactions_by_type_total"
    )
    assert sum(post_insights["data"][0]["values"][0]["value"].values()) == post["reactions_total"]


def test_errors_surface_as_graph_api_error(fb: Any, big_page: str) -> None:
    with pytest.raises(facebook.GraphAPIError) as info:
        fb.get_connections(big_page, "insights", metric="page_impressions")
    assert info.value.code == 100
    assert (
        info.value.result["error"]["message"] == "(#100) The value must be a valid insights metric"
    )


def test_plain_requests_batch(server: SandboxServer, world: World) -> None:
    ops = [
        {"method": "GET", "relative_url": f"v26.0/{p}?fields=fan_count"} for p in world.pages[:5]
    ]
    resp = requests.post(
        server.base_url + "/",
        data={"access_token": DEFAULT_TOKEN, "batch": json.dumps(ops), "include_headers": "false"},
        timeout=10,
    )
    assert resp.status_code == 200
    items = resp.json()
    assert [i["code"] for i in items] == [200] * 5
    assert all("headers" not in i for i in items)
    assert [json.loads(i["body"])["fan_count"] for i in items] == [
        world.truth_page(p)["fan_count"] for p in world.pages[:5]
    ]
    assert server.stats.batch_sizes == [5]
    assert server.stats.total_calls == 5
