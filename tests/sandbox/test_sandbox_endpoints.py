"""Endpoints in detail: paging, field expansion, insights windows, accounts, debug_token.

Posts and insights are read with the Page's own token (§0), as the collector must.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fanpulse.sandbox import DEPRECATED_METRICS, PAGE_METRICS, POST_METRICS, SandboxServer, World
from fanpulse.sandbox.testing import SandboxClient
from fanpulse.sandbox.timeutil import to_ts


def _follow_all(graph: SandboxClient, url: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    seen: set[str] = set()
    while url:
        assert url not in seen, "paging loops"
        seen.add(url)
        body = graph.session.get(url, timeout=10).json()
        items += body["data"]
        url = body.get("paging", {}).get("next")
    return items


def test_cursor_paging_covers_everything_once(
    graph: SandboxClient, world: World, district_page: str, district_token: str
) -> None:
    first = graph.get(
        f"/v26.0/{district_page}/posts", token=district_token, limit=37, fields="id,created_time"
    )
    body = first.json()
    nxt = body["paging"]["next"]
    query = parse_qs(urlsplit(nxt).query)
    # the next link repeats the original query, access_token included, and adds a cursor
    assert query["access_token"] == [district_token]
    assert query["limit"] == ["37"] and query["fields"] == ["id,created_time"] and "after" in query
    assert "previous" not in body["paging"]
    items = body["data"] + _follow_all(graph, nxt)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    assert ids == [p["id"] for p in world.truth_posts(district_page) if not p["deleted"]]
    times = [str(i["created_time"]) for i in items]
    assert times == sorted(times, reverse=True)


def test_before_cursor_goes_back(graph: SandboxClient, big_page: str, big_token: str) -> None:
    page1 = graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=5).json()
    page2 = graph.session.get(page1["paging"]["next"], timeout=10).json()
    back = graph.session.get(page2["paging"]["previous"], timeout=10).json()
    assert [p["id"] for p in back["data"]] == [p["id"] for p in page1["data"]]


def test_since_until_filter(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    since, until = world.now - timedelta(days=10), world.now - timedelta(days=3)
    got = graph.get(
        f"/v26.0/{big_page}/posts",
        token=big_token,
        since=to_ts(since),
        until=to_ts(until),
        limit=100,
    ).json()["data"]
    truth = [
        p["id"]
        for p in world.truth_posts(big_page)
        if since <= p["created_time"] <= until and not p["deleted"]
    ]
    assert [p["id"] for p in got] == truth and truth


def test_posts_published_posts_feed(
    graph: SandboxClient, world: World, district_page: str, district_token: str
) -> None:
    def all_ids(edge: str) -> list[str]:
        first = graph.get(
            f"/v26.0/{district_page}/{edge}", token=district_token, limit=100, fields="id,from"
        ).json()
        items = first["data"] + _follow_all(graph, first["paging"].get("next", ""))
        return [str(i["id"]) for i in items]

    posts, published, feed = all_ids("posts"), all_ids("published_posts"), all_ids("feed")
    assert posts == published
    assert set(posts) < set(feed)  # the feed adds visitor posts


def test_empty_edge_has_no_paging(graph: SandboxClient, big_page: str, big_token: str) -> None:
    body = graph.get(
        f"/v26.0/{big_page}/posts", token=big_token, since="2020-01-01", until="2020-01-02"
    ).json()
    assert body == {"data": []}


def test_field_expansion_with_aliases_for_a_legacy_app(
    legacy_graph: tuple[World, SandboxClient],
) -> None:
    world, graph = legacy_graph
    big_page = world.pages[0]
    post = next(p for p in world.truth_posts(big_page) if p["reactions_by_type"]["LOVE"] > 0)
    fields = (
        "reactions.summary(total_count).limit(0),"
        "reactions.type(LOVE).limit(0).summary(total_count).as(reactions_love),"
        "reactions.type(CARE).limit(0).summary(true).as(reactions_care),"
        "comments.summary(true).limit(0),permalink_url,message,created_time"
    )
    token = world.page_token(big_page)
    body = graph.get(f"/v26.0/{post['id']}", token=token, fields=fields).json()
    assert list(body) == [
        "reactions",
        "reactions_love",
        "reactions_care",
        "comments",
        "permalink_url",
        "message",
        "created_time",
        "id",
    ]
    assert body["reactions"] == {"data": [], "summary": {"total_count": post["reactions_total"]}}
    assert body["reactions_love"]["summary"] == {"total_count": post["reactions_by_type"]["LOVE"]}
    assert body["reactions_care"]["summary"] == {
        "total_count": post["reactions_by_type"]["CARE"],
        "viewer_reaction": "NONE",
    }
    assert body["comments"]["summary"]["total_count"] == post["comments"]
    assert body["permalink_url"] == post["permalink_url"] and body["message"] == post["message"]


def test_reactions_by_type_without_aliases(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    """What a new app does instead of aliases (§0): one lifetime metric, nested in a listing."""
    fields = (
        "id,reactions.summary(total_count).limit(0),"
        "insights.metric(post_reactions_by_type_total)"
    )
    body = graph.get(
        f"/v26.0/{big_page}/published_posts", token=big_token, limit=20, fields=fields
    ).json()
    for item in body["data"]:
        truth = world.truth_post(item["id"])
        by_type = item["insights"]["data"][0]["values"][0]["value"]
        assert item["reactions"]["summary"]["total_count"] == truth["reactions_total"]
        assert sum(by_type.values()) == truth["reactions_total"]
        assert by_type.get("love", 0) == truth["reactions_by_type"]["LOVE"]


def test_nested_edges_and_subfields(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    fields = (
        "name,posts.limit(2){id,from{name},attachments{type,subattachments{target}},"
        "insights.metric(post_clicks)}"
    )
    body = graph.get(f"/v26.0/{big_page}", token=big_token, fields=fields).json()
    posts = body["posts"]
    assert len(posts["data"]) == 2
    assert "next" in posts["paging"]
    more = graph.session.get(posts["paging"]["next"], timeout=10).json()
    assert len(more["data"]) == 2 and more["data"][0]["id"] != posts["data"][0]["id"]
    for post in posts["data"]:
        assert post["from"] == {"name": world.spec(big_page).name}
        assert post["insights"]["data"][0]["name"] == "post_clicks"
        for att in post.get("attachments", {"data": []})["data"]:
            assert set(att) <= {"type", "subattachments"}


def test_reactions_and_comments_edges(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    post = next(p for p in world.truth_posts(big_page) if p["comments"] > 3)
    reactions = graph.get(
        f"/v26.0/{post['id']}/reactions", token=big_token, limit=3, summary="total_count"
    ).json()
    assert reactions["summary"] == {"total_count": post["reactions_total"]}
    assert [set(r) for r in reactions["data"]] == [{"id", "name", "type"}] * 3
    loves = graph.get(
        f"/v26.0/{post['id']}/reactions", token=big_token, type="LOVE", limit=100
    ).json()["data"]
    assert len(loves) == post["reactions_by_type"]["LOVE"] and all(
        r["type"] == "LOVE" for r in loves
    )
    first = graph.get(f"/v26.0/{post['id']}/comments", token=big_token, limit=2).json()
    everything = first["data"] + _follow_all(graph, first["paging"]["next"])
    assert len(everything) == post["comments"]
    assert all(
        c["created_time"] <= world.now.strftime("%Y-%m-%dT%H:%M:%S+0000") for c in everything
    )


def test_username_alias_and_ids(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = next(p for p in world.pages if world.spec(p).username)
    username = world.spec(page).username
    assert graph.get(f"/v26.0/{username}").json()["id"] == page
    both = graph.get("/v25.0/", ids=f"{username},{world.pages[1]}", fields="fan_count").json()
    assert list(both) == [username, world.pages[1]]  # keyed by what was asked


# -- insights -------------------------------------------------------------------------------------


def test_insights_since_day_included_and_pacific_midnights(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    # 1 Nov 2026: clocks go back; end_times move from 07:00 to 08:00 UTC.
    resp = graph.get(
        f"/v26.0/{big_page}/insights",
        token=big_token,
        metric="page_follows",
        period="day",
        since="2026-10-30",
        until="2026-11-03",
    ).json()
    values = resp["data"][0]["values"]
    assert [v["end_time"] for v in values] == [
        "2026-10-31T07:00:00+0000",
        "2026-11-01T07:00:00+0000",
        "2026-11-02T08:00:00+0000",
        "2026-11-03T08:00:00+0000",
    ]
    for v in values:
        day = world.day_for_end_time(v["end_time"])
        end = world.end_time(day)
        assert v["value"] == world.truth_page(big_page, at=end)["followers_count"]


def test_insights_90_day_boundary(graph: SandboxClient, big_page: str, big_token: str) -> None:
    since = datetime(2026, 6, 1, 7, tzinfo=UTC)
    ok = graph.get(
        f"/v26.0/{big_page}/insights",
        token=big_token,
        metric="page_views_total",
        period="day",
        since=to_ts(since),
        until=to_ts(since + timedelta(days=90)),
    )
    assert ok.status_code == 200 and len(ok.json()["data"][0]["values"]) == 90
    too_long = graph.get(
        f"/v26.0/{big_page}/insights",
        token=big_token,
        metric="page_views_total",
        period="day",
        since=to_ts(since),
        until=to_ts(since + timedelta(days=90, seconds=1)),
    )
    assert too_long.status_code == 400


def test_insights_periods(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    body = graph.get(
        f"/v26.0/{big_page}/insights", token=big_token, metric="page_post_engagements,page_follows"
    ).json()
    assert [(m["name"], m["period"]) for m in body["data"]] == [
        ("page_post_engagements", "day"),
        ("page_post_engagements", "week"),
        ("page_post_engagements", "days_28"),
        ("page_follows", "day"),
    ]
    week = body["data"][1]["values"][-1]
    day = world.day_for_end_time(week["end_time"])
    assert week["value"] == sum(
        world.truth_page_insight(big_page, "page_post_engagements", day - timedelta(days=i))
        for i in range(7)
    )
    lifetime = graph.get(
        f"/v26.0/{big_page}/insights", token=big_token, metric="page_follows", period="lifetime"
    )
    assert lifetime.json()["data"] == []


def test_insights_follow_paging_links(
    graph: SandboxClient, big_page: str, big_token: str
) -> None:
    body = graph.get(
        f"/v26.0/{big_page}/insights",
        token=big_token,
        metric="page_daily_follows_unique",
        period="day",
    ).json()
    prev = graph.session.get(body["paging"]["previous"], timeout=10).json()
    assert prev["data"][0]["values"][-1]["end_time"] < body["data"][0]["values"][0]["end_time"]
    assert len(prev["data"][0]["values"]) == 2


def test_only_tiny_pages_have_no_insights(make_world: Callable[..., World]) -> None:
    # Two days into the history some residential-area Pages still have fewer than 30 followers.
    world = make_world(n_pages=120, now=datetime(2025, 11, 27, 12, tzinfo=UTC))
    shared = [p for p in world.pages if "ANALYZE" in world.tasks(p)]
    tiny = next(p for p in shared if world.truth_page(p)["followers_count"] < 30)
    small = next(p for p in shared if 30 <= world.truth_page(p)["fan_count"] < 100)
    with SandboxServer(world) as srv, requests.Session() as session:
        graph = SandboxClient(srv, session)

        def ask(page: str, metric: str = "page_follows") -> requests.Response:
            token = world.page_token(page)
            return graph.get(f"/v24.0/{page}/insights", token=token, metric=metric, period="day")

        assert ask(tiny).json() == {"data": []}
        assert ask(tiny, "page_fans").status_code == 400  # metric names are checked first
        values = ask(small).json()["data"][0]["values"]  # under 100 likes, yet values (§0)
        assert [v["value"] for v in values] == [
            world.truth_page_insight(small, "page_follows", world.day_for_end_time(v["end_time"]))
            for v in values
        ]
    assert not world.has_insights(tiny) and world.has_insights(small)


@pytest.mark.parametrize("metric", DEPRECATED_METRICS)
def test_every_retired_metric_fails(
    graph: SandboxClient, big_page: str, big_token: str, metric: str
) -> None:
    resp = graph.get(f"/v26.0/{big_page}/insights", token=big_token, metric=metric, period="day")
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == "(#100) The value must be a valid insights metric"


def test_every_valid_metric_answers(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    page = graph.get(
        f"/v26.0/{big_page}/insights", token=big_token, metric=",".join(PAGE_METRICS), period="day"
    )
    assert [m["name"] for m in page.json()["data"]] == list(PAGE_METRICS)
    post = world.truth_posts(big_page)[5]["id"]
    body = graph.get(
        f"/v26.0/{post}/insights", token=big_token, metric=",".join(POST_METRICS)
    ).json()
    assert [m["name"] for m in body["data"]] == list(POST_METRICS)
    assert all(set(m["values"][0]) == {"value"} for m in body["data"])
    by_path = graph.get(f"/v26.0/{post}/insights/post_clicks", token=big_token).json()
    assert by_path["data"][0]["values"][0]["value"] == world.truth_post_insight(post, "post_clicks")


# -- accounts and tokens --------------------------------------------------------------------------


def test_me_accounts_paging_and_page_tokens(graph: SandboxClient, world: World) -> None:
    first = graph.get("/v26.0/me/accounts", limit=10, summary="total_count").json()
    shared = world.shared_pages()
    assert len(shared) < len(world.pages)  # some commune Pages are not shared
    assert first["summary"] == {"total_count": len(shared)}
    accounts = first["data"] + _follow_all(graph, first["paging"]["next"])
    assert [a["id"] for a in accounts] == shared
    assert [a["tasks"] for a in accounts] == [list(world.tasks(p)) for p in shared]
    token = accounts[3]["access_token"]
    assert token == world.page_token(accounts[3]["id"])
    assert graph.get(f"/v26.0/{accounts[3]['id']}/posts", token=token).status_code == 200
    other = graph.get(f"/v26.0/{accounts[4]['id']}/posts", token=token)
    assert other.status_code == 403 and other.json()["error"]["code"] == 200
    # another Page's public fields are fine with any token
    assert graph.get(f"/v26.0/{accounts[4]['id']}", token=token).status_code == 200
    me = graph.get("/v26.0/me", token=token).json()
    assert me["id"] == accounts[3]["id"]
    info = graph.get("/v26.0/debug_token", input_token=token).json()["data"]
    assert (info["type"], info["expires_at"], info["profile_id"]) == ("PAGE", 0, accounts[3]["id"])
    assert {"scope": "read_insights", "target_ids": [accounts[3]["id"]]} in info["granular_scopes"]


def test_debug_token_of_unknown_token(graph: SandboxClient) -> None:
    body = graph.get("/v26.0/debug_token", input_token="garbage").json()
    assert body["data"]["is_valid"] is False and body["data"]["error"]["code"] == 190


def test_authorization_header(server: SandboxServer, world: World) -> None:
    resp = requests.get(
        f"{server.base_url}/v26.0/{world.pages[0]}",
        headers={"Authorization": "Bearer sandbox-token"},
        timeout=10,
    )
    assert resp.status_code == 200


def test_request_log_and_stats(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    graph.get(f"/v26.0/{big_page}", fields="fan_count")
    graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=3)
    graph.get(f"/v26.0/{big_page}/insights", token=big_token, metric="page_follows")
    graph.get("/v26.0/debug_token", input_token=big_token)
    log = graph.server.request_log
    assert [(e.method, e.path, e.status, e.page_id) for e in log][:3] == [
        ("GET", f"/v26.0/{big_page}", 200, big_page),
        ("GET", f"/v26.0/{big_page}/posts", 200, big_page),
        ("GET", f"/v26.0/{big_page}/insights", 200, big_page),
    ]
    assert [e.query for e in log] == ["fields=fan_count", "limit=3", "metric=page_follows", ""]
    assert all(big_token not in e.query and "access_token" not in e.query for e in log)
    graph.server.stats.reset()
    graph.get(f"/v26.0/{big_page}", fields="fan_count")
    graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=3)
    graph.get(f"/v26.0/{big_page}/insights", token=big_token, metric="page_follows")
    stats = graph.server.stats
    assert stats.total_calls == 3 and stats.calls_per_page[big_page] == 3
    assert dict(stats.calls_per_kind) == {"page": 1, "posts": 1, "page_insights": 1}
    stats.reset()
    assert stats.total_calls == 0


def test_ground_truth_at_any_time(world: World, big_page: str) -> None:
    then = world.now - timedelta(days=200)
    earlier = world.truth_page(big_page, at=then)
    assert earlier["followers_count"] < world.truth_page(big_page)["followers_count"]
    posts = world.truth_posts(big_page, at=then)
    assert posts and all(p["created_time"] <= then for p in posts)
    assert world.truth_page_insight(big_page, "page_follows", date(2026, 3, 1)) > 0


def test_slashes_escaped_like_facebook(graph: SandboxClient, big_page: str) -> None:
    raw = graph.get(f"/v26.0/{big_page}", fields="link").text
    assert "https:\\/\\/www.facebook.com\\/" in raw
    assert json.loads(raw)["link"].startswith("https://www.facebook.com/")


def test_make_world_factory_is_deterministic(make_world: Callable[..., World]) -> None:
    a, b, c = make_world(seed=5), make_world(seed=5), make_world(seed=6)
    assert a.pages == b.pages and a.truth_posts(a.pages[3]) == b.truth_posts(b.pages[3])
    assert a.pages != c.pages


def test_error_headers_stay_ascii(graph: SandboxClient) -> None:
    resp = graph.get("/v26.0/M%E1%BA%B7t-tr%E1%BA%ADn%0d%0aX-Evil:%201")
    assert resp.status_code == 400 and "X-Evil" not in resp.headers
    assert resp.json()["error"]["message"].endswith("Mặt-trận\r\nX-Evil: 1")
    assert resp.headers["WWW-Authenticate"].isascii()


def test_ids_count_duplicates_and_accept_me(legacy_graph: tuple[World, SandboxClient]) -> None:
    world, graph = legacy_graph
    page = world.pages[1]
    body = graph.get("/v25.0/", ids=f"{page},{page},me", fields="name").json()
    assert list(body) == [page, "me"]
    too_many = graph.get("/v25.0/", ids=",".join([page] * 51))
    assert too_many.json()["error"]["message"].endswith("Provided: 51.")
