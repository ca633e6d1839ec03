"""Tables of failure cases: each Graph error class, each throttling code, vanishing objects."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from fanpulse.sandbox import THROTTLE_CODES, World
from fanpulse.sandbox.errors import THROTTLE_MESSAGES
from fanpulse.sandbox.testing import SandboxClient
from fanpulse.sandbox.timeutil import fb_expiry_text

Setup = Callable[[World], None]
Call = Callable[[SandboxClient, World], requests.Response]


def _nothing(world: World) -> None:
    return None


def _page(world: World) -> str:
    return world.pages[0]


def _pt(world: World) -> str:
    """The first Page's own token (posts and insights need it, §0)."""
    return world.page_token(world.pages[0])


def _token(value: str, revoke: int | None = None, expired: bool = False, **kwargs: Any) -> Setup:
    """Setup that registers a token (optionally revoked or already expired)."""

    def setup(world: World) -> None:
        if expired:
            kwargs["expires_at"] = world.now - timedelta(hours=1)
        world.tokens.add(value, **kwargs)
        if revoke is not None:
            world.tokens.revoke(value, revoke)

    return setup


# id, setup, call, HTTP status, code, subcode, type, part of the message
ERROR_CASES: list[tuple[str, Setup, Call, int, int, int | None, str, str]] = [
    (
        "missing token",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token=None),
        400,
        104,
        None,
        "OAuthException",
        "access token is required",
    ),
    (
        "garbage token",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token="nonsense"),
        400,
        190,
        None,
        "OAuthException",
        "Cannot parse access token",
    ),
    (
        "expired token",
        _token("old", type="USER", expired=True),
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token="old"),
        400,
        190,
        463,
        "OAuthException",
        "Session has expired on",
    ),
    (
        "password changed",
        _token("pw", 460, type="USER"),
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token="pw"),
        400,
        190,
        460,
        "OAuthException",
        "changed their password",
    ),
    (
        "logged out",
        _token("lo", 467, type="USER"),
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token="lo"),
        400,
        190,
        467,
        "OAuthException",
        "logged out",
    ),
    (
        "scope pages_read_engagement missing",
        _token("list-only", scopes=("pages_show_list",)),
        lambda g, w: g.get(f"/v26.0/{_page(w)}", token="list-only"),
        403,
        10,
        None,
        "OAuthException",
        "pages_read_engagement",
    ),
    (
        "scope read_insights missing",
        lambda w: _token(
            "no-insights", type="PAGE", page_ids={_page(w)}, scopes=("pages_read_engagement",)
        )(w),
        lambda g, w: g.get(
            f"/v26.0/{_page(w)}/insights", token="no-insights", metric="page_follows"
        ),
        403,
        10,
        None,
        "OAuthException",
        "read_insights",
    ),
    (
        "page outside the token",
        lambda w: _token("other-page", type="PAGE", page_ids={w.pages[1]})(w),
        lambda g, w: g.get(f"/v26.0/{_page(w)}/posts", token="other-page"),
        403,
        200,
        None,
        "OAuthException",
        "(#200)",
    ),
    (
        "unknown numeric id",
        _nothing,
        lambda g, w: g.get("/v26.0/123456789"),
        400,
        100,
        33,
        "GraphMethodException",
        "Object with ID '123456789' does not exist",
    ),
    (
        "unknown post id",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}_123"),
        400,
        100,
        33,
        "GraphMethodException",
        "does not exist",
    ),
    (
        "unknown alias",
        _nothing,
        lambda g, w: g.get("/v26.0/no.such.page"),
        400,
        803,
        None,
        "OAuthException",
        "(#803) Some of the aliases you requested do not exist: no.such.page",
    ),
    (
        "nonexisting page field",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}", fields="id,bogus"),
        400,
        100,
        None,
        "OAuthException",
        "(#100) Tried accessing nonexisting field (bogus) on node type (Page)",
    ),
    (
        "nonexisting post field",
        _nothing,
        lambda g, w: g.get(
            f"/v26.0/{w.truth_posts(_page(w))[0]['id']}", token=_pt(w), fields="permalink_urls"
        ),
        400,
        100,
        None,
        "OAuthException",
        "nonexisting field (permalink_urls) on node type (Post)",
    ),
    (
        "nonexisting edge",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}/likes"),
        400,
        100,
        None,
        "OAuthException",
        "nonexisting field (likes) on node type (Page)",
    ),
    (
        "unknown path component",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}/posts/extra"),
        400,
        2500,
        None,
        "OAuthException",
        "Unknown path components: /extra",
    ),
    (
        "fields syntax error",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}", fields="posts{id"),
        400,
        2500,
        None,
        "OAuthException",
        "Syntax error",
    ),
    (
        "too many ids (legacy app)",
        lambda w: setattr(w, "legacy_app", True),
        lambda g, w: g.get("/v25.0/", ids=",".join(map(str, range(1, 52)))),
        400,
        100,
        None,
        "OAuthException",
        "(#100) Too many IDs. Maximum: 50. Provided: 51.",
    ),
    (
        "no metric",
        _nothing,
        lambda g, w: g.get(f"/v26.0/{_page(w)}/insights", token=_pt(w), period="day"),
        400,
        3001,
        1504028,
        "OAuthException",
        "Invalid query",
    ),
    (
        "one bad metric among good",
        _nothing,
        lambda g, w: g.get(
            f"/v26.0/{_page(w)}/insights",
            token=_pt(w),
            metric="page_follows,page_fans,page_views_total",
        ),
        400,
        100,
        None,
        "OAuthException",
        "(#100) The value must be a valid insights metric",
    ),
    (
        "page metric on a post",
        _nothing,
        lambda g, w: g.get(
            f"/v26.0/{w.truth_posts(_page(w))[0]['id']}/insights",
            token=_pt(w),
            metric="page_follows",
        ),
        400,
        100,
        None,
        "OAuthException",
        "valid insights metric",
    ),
    (
        "invalid period",
        _nothing,
        lambda g, w: g.get(
            f"/v26.0/{_page(w)}/insights", token=_pt(w), metric="page_follows", period="hourly"
        ),
        400,
        100,
        None,
        "OAuthException",
        "period must be one of",
    ),
    (
        "more than 90 days",
        _nothing,
        lambda g, w: g.get(
            f"/v26.0/{_page(w)}/insights",
            token=_pt(w),
            metric="page_follows",
            since="2026-05-01",
            until="2026-08-01",
        ),
        400,
        1,
        None,
        "OAuthException",
        "There cannot be more than 90 days",
    ),
    (
        "write request",
        _nothing,
        lambda g, w: g.session.post(
            g.url(f"/v26.0/{_page(w)}"), data={"access_token": "sandbox-token", "about": "x"}
        ),
        400,
        100,
        None,
        "GraphMethodException",
        "Unsupported post request",
    ),
    (
        "accounts of a page token",
        lambda w: _token("pt", type="PAGE", page_ids={w.pages[0]})(w),
        lambda g, w: g.get("/v26.0/me/accounts", token="pt"),
        400,
        100,
        None,
        "OAuthException",
        "nonexisting field (accounts) on node type (Page)",
    ),
    (
        "debug_token without input",
        _nothing,
        lambda g, w: g.get("/v26.0/debug_token"),
        400,
        100,
        None,
        "OAuthException",
        "input_token",
    ),
]


@pytest.mark.parametrize(
    ("setup", "call", "status", "code", "subcode", "type_", "text"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_error_classes(
    graph: SandboxClient,
    world: World,
    setup: Setup,
    call: Call,
    status: int,
    code: int,
    subcode: int | None,
    type_: str,
    text: str,
) -> None:
    setup(world)
    resp = call(graph, world)
    assert resp.status_code == status
    error = resp.json()["error"]
    assert error["code"] == code
    assert error.get("error_subcode") == subcode
    assert error["type"] == type_
    assert text in error["message"]
    assert len(error["fbtrace_id"]) > 10
    assert resp.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform"')
    assert "X-App-Usage" in resp.headers


@pytest.mark.parametrize("edge", ["posts", "published_posts", "feed"])
@pytest.mark.parametrize(("limit", "status"), [(100, 200), (101, 400), (500, 400)])
def test_limit_over_100_is_an_error(
    graph: SandboxClient, big_page: str, big_token: str, edge: str, limit: int, status: int
) -> None:
    resp = graph.get(f"/v26.0/{big_page}/{edge}", token=big_token, limit=limit, fields="id")
    assert resp.status_code == status
    if status == 400:
        assert (
            resp.json()["error"]["message"] == "(#100) The 'limit' parameter should not exceed 100"
        )
    else:
        assert len(resp.json()["data"]) == 100


# -- throttling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", THROTTLE_CODES)
def test_injected_throttling_codes(
    graph: SandboxClient, world: World, big_page: str, code: int
) -> None:
    world.faults.set_throttle(code, 1.0)
    resp = graph.get(f"/v26.0/{big_page}", fields="fan_count")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["message"], error["is_transient"]) == (
        code,
        THROTTLE_MESSAGES[code],
        True,
    )
    app = json.loads(resp.headers["X-App-Usage"])
    assert set(app) == {"call_count", "total_time", "total_cputime"}
    entry = json.loads(resp.headers["X-Business-Use-Case-Usage"])[big_page][0]
    if code == 4:
        assert app["call_count"] >= 100
    if code == 80001:
        assert entry["call_count"] >= 100 and entry["estimated_time_to_regain_access"] > 0
    assert graph.server.stats.throttled == 1


def _buc(resp: requests.Response, page: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(resp.headers["X-Business-Use-Case-Usage"])[page][0]
    return entry


def test_page_budget_rises_then_80001_then_recovers(
    graph: SandboxClient, world: World, big_page: str
) -> None:
    world.faults.quota_calls_per_page = 5
    pcts = []
    for _ in range(5):
        resp = graph.get(f"/v26.0/{big_page}", fields="fan_count")
        assert resp.status_code == 200
        pcts.append(_buc(resp, big_page)["call_count"])
    assert pcts == [20, 40, 60, 80, 100]
    resp = graph.get(f"/v26.0/{big_page}", fields="fan_count")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 80001
    usage = _buc(resp, big_page)
    assert usage["call_count"] == 120
    assert usage["estimated_time_to_regain_access"] == 24 * 60  # minutes, simulated clock
    assert usage["total_cputime"] > 0 and usage["total_time"] >= usage["total_cputime"]
    # other pages are not affected
    assert graph.get(f"/v26.0/{world.pages[1]}").status_code == 200
    world.advance(hours=24, minutes=1)
    assert graph.get(f"/v26.0/{big_page}").status_code == 200


def test_throttled_calls_still_count(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.quota_calls_per_page = 3
    for _ in range(3):
        assert graph.get(f"/v26.0/{big_page}").status_code == 200
    world.advance(hours=12)
    for _ in range(3):
        assert graph.get(f"/v26.0/{big_page}").json()["error"]["code"] == 80001
    world.advance(hours=12, minutes=1)  # the successful calls have left the window...
    resp = graph.get(f"/v26.0/{big_page}")
    assert resp.json()["error"]["code"] == 80001  # ...but the throttled ones have not
    assert _buc(resp, big_page)["estimated_time_to_regain_access"] == 12 * 60 - 1
    world.advance(hours=12)
    assert graph.get(f"/v26.0/{big_page}").status_code == 200


def test_app_budget_gives_code_4(graph: SandboxClient, world: World) -> None:
    world.faults.app_quota_calls = 3
    codes = [graph.get(f"/v26.0/{p}").status_code for p in world.pages[:4]]
    assert codes == [200, 200, 200, 400]
    resp = graph.get(f"/v26.0/{world.pages[5]}")
    assert resp.json()["error"]["code"] == 4
    assert json.loads(resp.headers["X-App-Usage"])["call_count"] >= 100
    world.advance(hours=1, minutes=1)
    assert graph.get(f"/v26.0/{world.pages[5]}").status_code == 200


def test_user_token_hits_code_32_with_page_usage(
    graph: SandboxClient, world: World, big_page: str
) -> None:
    world.tokens.add("user", type="USER")
    world.faults.quota_calls_per_page = 2
    statuses = [graph.get(f"/v26.0/{big_page}", token="user").status_code for _ in range(3)]
    assert statuses == [200, 200, 400]
    resp = graph.get(f"/v26.0/{big_page}", token="user")
    assert resp.json()["error"]["code"] == 32
    assert "X-Business-Use-Case-Usage" not in resp.headers
    assert json.loads(resp.headers["X-Page-Usage"])["call_count"] >= 100


def test_batch_items_count_separately(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.quota_calls_per_page = 3
    items = graph.batch(
        [{"method": "GET", "relative_url": f"v26.0/{big_page}?fields=id"}] * 5
    ).json()
    assert [i["code"] for i in items] == [200, 200, 200, 400, 400]
    assert json.loads(items[3]["body"])["error"]["code"] == 80001


def test_ids_count_separately_for_a_legacy_app(
    legacy_graph: tuple[World, SandboxClient],
) -> None:
    world, graph = legacy_graph
    world.faults.quota_calls_per_page = 3
    other = world.pages[1:3]
    assert graph.get("/v25.0/", ids=",".join(other)).status_code == 200
    assert graph.get("/v25.0/", ids=",".join(other)).status_code == 200
    assert graph.get("/v25.0/", ids=",".join(other)).status_code == 200
    resp = graph.get("/v25.0/", ids=",".join(other))
    assert resp.json()["error"]["code"] == 80001
    assert set(json.loads(resp.headers["X-Business-Use-Case-Usage"])) == set(other)
    assert graph.server.stats.calls_per_page[other[0]] == 4


# -- server trouble -------------------------------------------------------------------------------


def test_transient_errors(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.transient_5xx_rate = 1.0
    resp = graph.get(f"/v26.0/{big_page}")
    assert resp.status_code in (500, 503)
    error = resp.json()["error"]
    assert (error["code"], error["is_transient"]) == (2, True)


def test_reduce_data_only_for_big_requests(
    graph: SandboxClient, world: World, big_page: str, big_token: str
) -> None:
    world.faults.reduce_data_rate = 1.0
    resp = graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=100)
    assert resp.status_code == 500
    assert resp.json()["error"]["message"] == (
        "Please reduce the amount of data you're asking for, then retry your request"
    )
    assert graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=10).status_code == 200
    world.legacy_app = True
    assert graph.get("/v25.0/", ids=",".join(world.pages[:20])).json()["error"]["code"] == 1
    assert graph.get("/v25.0/", ids=",".join(world.pages[:3])).status_code == 200


def test_fault_rng_is_deterministic(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.transient_5xx_rate = 0.5
    world.faults.reseed(7)
    first = [graph.get(f"/v26.0/{big_page}").status_code for _ in range(20)]
    world.faults.reseed(7)
    again = [graph.get(f"/v26.0/{big_page}").status_code for _ in range(20)]
    assert first == again
    assert 200 in first and any(s >= 500 for s in first)


def test_timeout_holds_the_answer(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.timeout_rate = 1.0
    world.faults.timeout_seconds = 5.0
    with pytest.raises(requests.exceptions.ReadTimeout):
        graph.session.get(
            graph.url(f"/v26.0/{big_page}"), params={"access_token": "sandbox-token"}, timeout=0.3
        )
    deadline = time.monotonic() + 5  # under load the server may lag the client's timeout
    while graph.server.stats.timeouts == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert graph.server.stats.timeouts == 1
    assert graph.server.stats.total_calls == 1  # the work was done and counted


def test_latency(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.latency_ms = 150
    resp = graph.get(f"/v26.0/{big_page}")
    assert resp.status_code == 200 and resp.elapsed >= timedelta(milliseconds=150)


# -- tokens expiring, pages and posts disappearing at a simulated time ---------------------------


def test_token_expires_at_a_simulated_time(
    graph: SandboxClient, world: World, big_page: str
) -> None:
    expiry = world.now + timedelta(hours=2)
    world.faults.token_expires_at = expiry
    assert graph.get(f"/v26.0/{big_page}").status_code == 200
    world.advance(hours=3)
    resp = graph.get(f"/v26.0/{big_page}")
    error = resp.json()["error"]
    assert (resp.status_code, error["code"], error["error_subcode"]) == (400, 190, 463)
    assert error["message"] == (
        f"Error validating access token: Session has expired on {fb_expiry_text(expiry)}. "
        f"The current time is {fb_expiry_text(world.now)}."
    )
    app_token = f"{world.app_id}|sandbox-app-secret"
    info = graph.get("/v26.0/debug_token", token=app_token, input_token="sandbox-token").json()[
        "data"
    ]
    assert info["is_valid"] is False
    assert info["expires_at"] == int(expiry.timestamp())
    assert info["error"]["subcode"] == 463


def test_unpublished_page(graph: SandboxClient, world: World, big_page: str) -> None:
    world.faults.unpublish_at[big_page] = world.now + timedelta(hours=1)
    assert graph.get(f"/v26.0/{big_page}").status_code == 200
    world.advance(hours=2)
    # The system user it is shared with still sees it; a user without a role on it does not.
    resp = graph.get(f"/v26.0/{big_page}", fields="is_published")
    assert resp.json() == {"is_published": False, "id": big_page}
    world.tokens.add("outsider-user-token", type="USER", page_ids={world.pages[1]})
    resp = graph.get(f"/v26.0/{big_page}", token="outsider-user-token", fields="is_published")
    assert resp.status_code == 400 and resp.json()["error"]["error_subcode"] == 33
    page_token = world.page_token(big_page)
    own = graph.get(f"/v26.0/{big_page}", token=page_token, fields="is_published")
    assert own.json() == {"is_published": False, "id": big_page}
    assert world.truth_page(big_page)["is_published"] is False
    listed = graph.get("/v26.0/me/accounts", limit=100).json()["data"]
    assert big_page in [p["id"] for p in listed]


def test_deleted_page(graph: SandboxClient, world: World) -> None:
    page = next(p for p in world.pages if world.spec(p).username)
    post = world.truth_posts(page)[0]["id"]
    world.faults.delete_at[page] = world.now + timedelta(minutes=5)
    world.advance(minutes=10)
    page_token = world.page_token(page)
    for path, params in [
        (f"/v26.0/{page}", {}),
        (f"/v26.0/{post}", {"token": page_token}),
        (f"/v26.0/{page}/posts", {"token": page_token}),
        (f"/v26.0/{page}/posts", {}),
    ]:
        resp = graph.get(path, **params)
        assert (resp.status_code, resp.json()["error"].get("error_subcode")) == (400, 33), path
    alias = graph.get(f"/v26.0/{world.spec(page).username}")
    assert alias.json()["error"]["code"] == 803
    assert world.truth_page(page)["deleted"] is True
    listed = graph.get("/v26.0/me/accounts", limit=100).json()["data"]
    assert page not in [p["id"] for p in listed]


def test_deleted_post(graph: SandboxClient, world: World, big_page: str, big_token: str) -> None:
    post = world.truth_posts(big_page)[2]
    world.faults.delete_post_at[post["id"]] = world.now + timedelta(hours=1)
    assert graph.get(f"/v26.0/{post['id']}", token=big_token).status_code == 200
    world.advance(hours=2)
    resp = graph.get(f"/v26.0/{post['id']}", token=big_token)
    assert resp.json()["error"]["error_subcode"] == 33
    listed = graph.get(f"/v26.0/{big_page}/posts", token=big_token, limit=10).json()["data"]
    ids = [p["id"] for p in listed]
    assert post["id"] not in ids
    truth = next(p for p in world.truth_posts(big_page) if p["id"] == post["id"])
    assert truth["deleted"] is True


# -- appsecret_proof ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proof", "status", "message"),
    [
        (None, 400, "API calls from the server require an appsecret_proof argument"),
        ("00" * 32, 400, "Invalid appsecret_proof provided in the API argument"),
        ("good", 200, None),
    ],
)
def test_appsecret_proof(
    make_world: Callable[..., World], proof: str | None, status: int, message: str | None
) -> None:
    from fanpulse.sandbox import SandboxServer, appsecret_proof

    world = make_world(app_secret="s3cret")
    params = {"access_token": "sandbox-token"}
    if proof == "good":
        params["appsecret_proof"] = appsecret_proof("s3cret", "sandbox-token")
    elif proof is not None:
        params["appsecret_proof"] = proof
    with SandboxServer(world) as srv:
        resp = requests.get(f"{srv.base_url}/v26.0/{world.pages[0]}", params=params, timeout=10)
    assert resp.status_code == status
    if message:
        assert resp.json()["error"] == {
            **resp.json()["error"],
            "message": message,
            "code": 100,
            "type": "GraphMethodException",
        }
