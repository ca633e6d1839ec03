"""facebook-sdk 3.1.0, a client we did not write, works against the sandbox (docs/graph-api.md §11).

Posts and insights are read with the Page's own token, as NPE Pages demand (§0); the system-user
token reads the public Page fields. ``get_objects`` sends ``?ids=``, which a new app may no longer
use: refused here, served for a legacy app below v26.0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import facebook
import pytest
import requests

from fanpulse.sandbox import DEFAULT_TOKEN, SandboxServer, World


@pytest.fixture
def sdk(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """``sdk(token, version)``: a facebook-sdk client pointed at the sandbox."""
    # facebook-sdk reads the module global at call time; monkeypatch restores it afterwards.
    monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", server.base_url + "/")
    with requests.Session() as session:

        def make(token: str = DEFAULT_TOKEN, version: str = "v26.0") -> Any:
            g = facebook.GraphAPI(access_token=token, timeout=10, session=session)
            g.version = version  # the constructor only accepts 2.8-3.1
            return g

        yield make


@pytest.fixture
def fb(sdk: Callable[..., Any]) -> Any:
    return sdk()


@pytest.fixture
def fb_page(sdk: Callable[..., Any], big_token: str) -> Any:
    """facebook-sdk with the provincial Page's own token."""
    return sdk(big_token)


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


@pytest.mark.parametrize("version", ["v25.0", "v26.0", "v27.0"])
def test_get_objects_is_refused_for_a_new_app(
    sdk: Callable[..., Any], world: World, version: str
) -> None:
    with pytest.raises(facebook.GraphAPIError) as info:
        sdk(version=version).get_objects(world.pages[:3], fields="fan_count")
    assert info.value.code == 100
    assert info.value.message.startswith("(#100) Multi-ID requests are not available to this app")


def test_get_objects_keyed_by_id_for_a_legacy_app_on_v25(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(legacy_app=True)
    ids = world.pages[:3]
    with SandboxServer(world) as srv, requests.Session() as session:
        monkeypatch.setattr(facebook, "FACEBOOK_GRAPH_URL", srv.base_url + "/")
        g = facebook.GraphAPI(access_token=DEFAULT_TOKEN, timeout=10, session=session)
        g.version = "v25.0"
        result = g.get_objects(ids, fields="fan_count")
        g.version = "v26.0"  # from v26.0 the root ids parameter fails for every app (§0)
        with pytest.raises(facebook.GraphAPIError) as info:
            g.get_objects(ids, fields="fan_count")
    assert sorted(result) == sorted(ids)
    assert all(result[i]["fan_count"] == world.truth_page(i)["fan_count"] for i in ids)
    assert info.value.code == 100 and "v26.0" in info.value.message


def test_system_user_token_needs_the_page_token_for_posts(fb: Any, big_page: str) -> None:
    with pytest.raises(facebook.GraphAPIError) as info:
        fb.get_connections(big_page, "published_posts", limit=5)
    assert info.value.code == 190
    assert info.value.result["error"]["error_subcode"] == 2069032
    token = fb.get_object(big_page, fields="access_token")["access_token"]
    assert token.startswith("sbx-page-")


@pytest.mark.parametrize("edge", ["posts", "published_posts"])
def test_pages_through_all_posts(fb_page: Any, world: World, big_page: str, edge: str) -> None:
    fb = fb_page
    got = list(fb.get_all_connections(big_page, edge, fields="id,created_time,message", limit=100))
    truth = [p["id"] for p in world.truth_posts(big_page) if not p["deleted"]]
    assert len(got) == len(truth) > 300
    assert [p["id"] for p in got] == truth  # newest first, no gap, no duplicate


def test_pages_through_feed_with_visitor_posts(
    sdk: Callable[..., Any], world: World, district_page: str, district_token: str
) -> None:
    fb = sdk(district_token)
    got = list(fb.get_all_connections(district_page, "feed", fields="id,from", limit=50))
    truth = [p for p in world.truth_posts(district_page, visitors=True) if not p["deleted"]]
    assert [p["id"] for p in got] == [p["id"] for p in truth]
    assert any(p["from"]["id"] != district_page for p in got)


def test_gets_page_and_post_insights(fb_page: Any, world: World, big_page: str) -> None:
    fb = fb_page
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


def test_errors_surface_as_graph_api_error(fb_page: Any, big_page: str) -> None:
    with pytest.raises(facebook.GraphAPIError) as info:
        fb_page.get_connections(big_page, "insights", metric="page_impressions")
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
