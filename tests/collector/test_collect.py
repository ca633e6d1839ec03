"""The collector against the sandbox: the store must equal the sandbox's ground truth, and
every failure must leave the other Pages collected and the failure recorded."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from fanpulse.collector.run import RunResult
from fanpulse.sandbox import World
from fanpulse.storage.db import transaction
from fanpulse.storage.models import (
    CollectionRun,
    Page,
    PageError,
    PageInsight,
    PageSnapshot,
    Post,
    PostInsight,
    PostSnapshot,
)
from fanpulse.storage.runs import LockBusy, acquire_lock, release_lock
from tests.collector.conftest import NO_ANALYZE, UNSHARED

if TYPE_CHECKING:
    from tests.collector.conftest import Harness

PACIFIC = ZoneInfo("America/Los_Angeles")


def pages_by_graph_id(engine: Engine) -> dict[str, Page]:
    with transaction(engine) as s:
        return {p.graph_id: p for p in s.scalars(select(Page)) if p.graph_id}


def count(engine: Engine, model: Any) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def errors_of(engine: Engine, run_id: int) -> dict[str, list[PageError]]:
    with transaction(engine) as s:
        found: dict[str, list[PageError]] = {}
        for err, graph_id in s.execute(select(PageError, Page.graph_id)
                                       .join(Page, Page.id == PageError.page_id)
                                       .where(PageError.run_id == run_id)):
            found.setdefault(graph_id, []).append(err)
        return found


def failures_of(engine: Engine, run_id: int) -> dict[str, list[PageError]]:
    """The run's errors that failed a Page (not the gaps of Pages collected without all)."""
    found = {g: [e for e in errs if e.severity == "failed"]
             for g, errs in errors_of(engine, run_id).items()}
    return {g: errs for g, errs in found.items() if errs}


def assert_store_matches_truth(engine: Engine, world: World) -> None:
    """Audience for every Page; posts, engagement, reactions by type and insights exactly as
    the truth says where the token may read them, and nothing invented where it may not."""
    pages = pages_by_graph_id(engine)
    by_id = {p.id: g for g, p in pages.items()}
    for graph_id, page in pages.items():
        tasks = world.tasks(graph_id)
        if not tasks:
            assert page.access == ("partial" if world.ppca else "audience"), graph_id
            assert page.access_action and "Business Manager" in page.access_action
        elif "ANALYZE" not in tasks:
            assert page.access == "partial" and page.insights_state == "refused", graph_id
            assert page.access_action and "Analyze" in page.access_action
        else:
            assert page.access == "full", (graph_id, page.access_reason)
            assert page.insights_state == (
                "available" if world.has_insights(graph_id) else "none"), graph_id
    with transaction(engine) as s:
        snapshots = list(s.scalars(select(PageSnapshot)))
        assert snapshots
        for snap in snapshots:
            truth = world.truth_page(by_id[snap.page_id], at=snap.collected_at)
            if snap.source == "insights":  # followers from page_follows at its end_time
                assert snap.fan_count is None
                assert snap.followers_count == truth["followers_count"], snap.day
                continue
            assert (snap.fan_count, snap.followers_count) == (
                truth["fan_count"], truth["followers_count"]), snap.day
        latest: dict[int, PostSnapshot] = {}
        for snap in s.scalars(select(PostSnapshot).order_by(PostSnapshot.day)):
            latest[snap.post_id] = snap
        posts = {p.id: p for p in s.scalars(select(Post))}
        assert latest
        for post_id, snap in latest.items():
            post = posts[post_id]
            truth = world.truth_post(post.graph_id, at=snap.collected_at)
            assert snap.reactions == truth["reactions_total"], post.graph_id
            assert snap.comments == truth["comments"]
            assert snap.shares == truth["shares"]
            by_type = {k.lower(): v for k, v in truth["reactions_by_type"].items()}
            readable = pages[by_id[post.page_id]].insights_state == "available"
            for kind in ("like", "love", "care", "haha", "wow", "sad", "angry"):
                # By type from the post insight: unknown (None) where insights are not readable.
                expected = by_type.get(kind, 0) if readable else None
                assert getattr(snap, f"reactions_{kind}") == expected, kind
            assert post.created_time == truth["created_time"]
            assert post.message == truth["message"]
        insights = list(s.scalars(select(PageInsight)))
        assert insights
        for row in insights:
            pacific_day = row.end_time.astimezone(PACIFIC).date() - dt.timedelta(days=1)
            assert World.end_time(pacific_day) == row.end_time
            truth_value = world.truth_page_insight(by_id[row.page_id], row.metric, pacific_day)
            assert row.value == truth_value, (row.metric, pacific_day)


def test_backfill_then_nights_equal_ground_truth(harness: Harness) -> None:
    world, engine = harness.world, harness.engine
    first = harness.collect(since=(world.now - dt.timedelta(days=20)).date())
    assert first.status == "ok", first.failures
    assert first.access == {"full": 22, "partial": 1, "audience": 1}
    for _ in range(3):
        world.advance(days=1)
        result = harness.collect()
        assert result.status == "ok", result.failures
    assert_store_matches_truth(engine, world)
    # Every post of the backfill window is there, none twice.
    pages = pages_by_graph_id(engine)
    since = world.now - dt.timedelta(days=23)
    for graph_id, page in pages.items():
        truth = {p["id"] for p in world.truth_posts(graph_id, since=since) if not p["deleted"]}
        if not world.tasks(graph_id):
            truth = set()  # no Page token, no Page Public Content Access: posts not readable
        with transaction(engine) as s:
            stored = set(s.scalars(select(Post.graph_id).where(
                Post.page_id == page.id, Post.created_time >= since)))
        assert stored == truth, graph_id
    # One audience snapshot per Page per night, read from the Page node ...
    with transaction(engine) as s:
        read = s.scalar(select(func.count()).select_from(PageSnapshot)
                        .where(PageSnapshot.source == "page"))
        history = s.execute(select(PageSnapshot.page_id, func.count()).where(
            PageSnapshot.source == "insights").group_by(PageSnapshot.page_id)).all()
        with_insights = s.scalar(select(func.count()).select_from(Page)
                                 .where(Page.has_insights.is_(True)))
    assert read == 4 * len(pages)
    # ... and, for Pages with insights, the backfilled days' followers from page_follows.
    assert len(history) == with_insights
    assert all(n >= 15 for _, n in history)
    # Post insights were collected for Pages that have insights.
    assert count(engine, PostInsight) > 0
    with transaction(engine) as s:
        small = s.scalars(select(Page).where(Page.has_insights.is_(False))).all()
    for page in small:
        assert not world.has_insights(page.graph_id or "")
    # The gaps were recorded once, when found, as gaps (the Pages count as collected).
    gaps = errors_of(engine, first.run_id)
    unshared, no_analyze = world.pages[UNSHARED], world.pages[NO_ANALYZE]
    assert {g: [e.kind for e in errs] for g, errs in gaps.items()} == {
        unshared: ["posts_unreadable"], no_analyze: ["insights_refused"]}
    assert all(e.severity == "gap" for errs in gaps.values() for e in errs)
    assert "(#10)" in gaps[unshared][0].message


def test_page_public_content_access_reads_unshared_pages_posts(lite: Harness) -> None:
    lite.world.ppca = True
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=10)).date())
    assert result.status == "ok", result.failures
    assert result.access == {"full": 22, "partial": 2}
    assert_store_matches_truth(lite.engine, lite.world)
    unshared = lite.world.pages[UNSHARED]
    with transaction(lite.engine) as s:
        page = s.scalars(select(Page).where(Page.graph_id == unshared)).one()
        stored = s.scalar(select(func.count()).select_from(Post).where(Post.page_id == page.id))
        assert page.posts_readable is True and page.insights_state is None
    assert stored == len([p for p in lite.world.truth_posts(
        unshared, since=lite.world.now - dt.timedelta(days=10)) if not p["deleted"]])


def test_a_night_uses_no_multi_id_reads_and_no_aliases(lite: Harness) -> None:
    lite.collect(since=(lite.world.now - dt.timedelta(days=5)).date())
    lite.world.advance(days=1)
    lite.collect()
    log = lite.server.request_log
    assert len(log) > 2 * len(lite.world.pages)
    for entry in log:
        query = unquote(entry.query)
        assert "ids=" not in query.replace("_ids=", ""), entry
        assert ".as(" not in query, entry
        assert "access_token=" not in query and "sbx-page-" not in query, entry


def test_small_pages_are_asked_for_insights_and_remember_the_answer(lite: Harness) -> None:
    """Insights are asked of every Page with a token, whatever its likes; an empty answer is
    remembered and asked again after insights_recheck_days."""
    tiny = [p for p in lite.world.pages if lite.world.tasks(p)
            and "ANALYZE" in lite.world.tasks(p) and not lite.world.has_insights(p)]
    small = [p for p in lite.world.pages if lite.world.has_insights(p)
             and lite.world.truth_page(p)["fan_count"] < 100]
    lite.collect()
    with transaction(lite.engine) as s:
        states = {p.graph_id: p.insights_state for p in s.scalars(select(Page))}
    assert all(states[p] == "available" for p in small)
    assert all(states[p] == "none" for p in tiny)
    asked = {e.page_id for e in lite.server.request_log if "insights" in e.path}
    seen = len(lite.server.request_log)
    lite.world.advance(days=1)
    lite.collect(insights_recheck_days=3)
    again = {e.page_id for e in lite.server.request_log[seen:] if e.path.endswith("/insights")}
    assert not again & set(tiny)
    assert asked >= set(small)


def test_steady_state_calls_per_page(harness: Harness) -> None:
    harness.collect(since=(harness.world.now - dt.timedelta(days=7)).date())
    harness.world.advance(days=1)
    result = harness.collect()
    assert result.status == "ok"
    # Per Page: posts and insights (a Page without a token: its node). Per run: /me,
    # /me/permissions, /me/accounts per 100 Pages, and the check of the two metric lists.
    fixed = 5
    assert (result.graph_calls - fixed) / result.pages_total <= 2.0, result.graph_calls
    with transaction(harness.engine) as s:
        run = s.get(CollectionRun, result.run_id)
        assert run is not None and run.graph_calls == result.graph_calls
        assert run.api_version == "v27.0"


def table_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    state = {}
    with engine.connect() as conn:
        for table, cols in [
            ("page_snapshots", "page_id, day, fan_count, followers_count, talking_about_count"),
            ("posts", "graph_id, page_id, created_time, message, deleted_at"),
            ("post_snapshots", "post_id, day, reactions, comments, shares, reactions_like"),
            ("page_insights", "page_id, metric, period, end_time, value"),
            ("post_insights", "post_id, metric, day, value"),
        ]:
            state[table] = sorted(map(tuple, conn.execute(text(
                f"select {cols} from {table}"))), key=repr)
    return state


def test_running_the_same_night_twice_changes_nothing(harness: Harness) -> None:
    harness.collect(since=(harness.world.now - dt.timedelta(days=10)).date())
    before = table_state(harness.engine)
    again = harness.collect()
    assert again.status == "ok"
    assert table_state(harness.engine) == before


def tonight(engine: Engine) -> int:
    """Snapshots read from the Page node (not follower history from insights)."""
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(PageSnapshot)
                            .where(PageSnapshot.source == "page")) or 0)


def test_killed_run_leaves_a_consistent_store_and_the_next_run_completes(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector import persist

    original = persist.save_group
    saved: list[Any] = []

    def dying_save(engine: Engine, outcomes: Any, *args: Any, **kwargs: Any) -> int:
        # The kill comes once 10 Pages are committed, wherever the night's groups end: the
        # group it falls in is cut there (its first Pages in, the others never written).
        room = 10 - len(saved)
        if room <= 0:
            raise KeyboardInterrupt  # what a kill looks like from inside
        escaped = original(engine, outcomes[:room], *args, **kwargs)
        saved.extend(outcomes[:room])
        if room < len(outcomes):
            raise KeyboardInterrupt
        return escaped

    monkeypatch.setattr(persist, "save_group", dying_save)
    with pytest.raises(KeyboardInterrupt):
        harness.collect()
    monkeypatch.setattr(persist, "save_group", original)
    assert len(saved) == 10  # whole Pages only: those committed, each with its snapshot
    assert tonight(harness.engine) == sum(o.node is not None for o in saved)
    result = harness.collect()
    assert result.status == "ok"
    assert tonight(harness.engine) == len(pages_by_graph_id(harness.engine))
    assert_store_matches_truth(harness.engine, harness.world)
    with transaction(harness.engine) as s:
        statuses = [r.status for r in s.scalars(select(CollectionRun).order_by(CollectionRun.id))]
    assert statuses == ["interrupted", "ok"]  # KeyboardInterrupt: stopped by the operator


def test_abandoned_run_is_marked_interrupted(harness: Harness) -> None:
    now = harness.world.now
    with transaction(harness.engine) as s:
        s.add(CollectionRun(started_at=now, status="running", trigger="schedule"))
    result = harness.collect()
    with transaction(harness.engine) as s:
        runs = list(s.scalars(select(CollectionRun).order_by(CollectionRun.id)))
    assert [r.status for r in runs] == ["interrupted", result.status]
    assert "stopped before the run finished" in (runs[0].message or "")


def test_only_one_collection_at_a_time(harness: Harness) -> None:
    owner = acquire_lock(harness.engine)
    try:
        with pytest.raises(LockBusy, match="another collection is running"):
            harness.collect()
    finally:
        release_lock(harness.engine, owner)
    assert harness.collect().status == "ok"


def test_expired_lock_of_a_killed_process_is_taken_over(harness: Harness) -> None:
    acquire_lock(harness.engine, ttl=dt.timedelta(seconds=-1))  # holder died long ago
    assert harness.collect().status == "ok"


# -- failures: each ends with the other Pages collected and the failure recorded ------------------

def some_page(harness: Harness, index: int = 3) -> str:
    return harness.world.pages[index]


def check_others_collected(harness: Harness, result: RunResult, failed: set[str]) -> None:
    pages = pages_by_graph_id(harness.engine)
    with transaction(harness.engine) as s:
        snapped = {p for p, in s.execute(select(Page.graph_id).join(
            PageSnapshot, PageSnapshot.page_id == Page.id).where(
            PageSnapshot.run_id == result.run_id))}
    for graph_id in pages:
        if graph_id not in failed:
            assert graph_id in snapped, graph_id
    assert result.pages_failed == len(failed)
    assert set(failures_of(harness.engine, result.run_id)) == failed


@pytest.mark.parametrize("rate", [0.3])
def test_transient_5xx_are_retried(lite: Harness, rate: float) -> None:
    lite.world.faults.transient_5xx_rate = rate
    result = lite.collect(max_retries=6)
    assert result.status == "ok", result.failures
    assert lite.sleeps, "retries must back off"
    assert_store_matches_truth(lite.engine, lite.world)


def test_timeouts_are_retried(lite: Harness) -> None:
    lite.world.faults.timeout_rate = 0.15
    lite.world.faults.timeout_seconds = 1.5
    result = lite.collect(request_timeout=0.5, max_retries=6, concurrency=4)
    assert result.status == "ok", result.failures
    assert_store_matches_truth(lite.engine, lite.world)


def test_reduce_data_errors_are_retried(lite: Harness) -> None:
    lite.world.faults.reduce_data_rate = 0.25
    lite.world.faults.reduce_data_min_items = 1
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=30)).date(),
                             max_retries=6)
    assert result.status == "ok", result.failures


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_each_throttling_code(lite: Harness, code: int) -> None:
    lite.world.faults.set_throttle(code, 0.2)
    result = lite.collect(max_retries=6)
    errors = failures_of(lite.engine, result.run_id)
    # Either the collector waited as asked and retried, or - when Meta asked for a longer
    # pause than max_wait_seconds - it left the Page for later with the wait in the reason.
    deferred = [e for errs in errors.values() for e in errs if e.retry_after_minutes]
    assert lite.sleeps or deferred, "throttling must slow the collector down"
    assert all(w <= 90.0 for w in lite.sleeps)
    check_others_collected(lite, result, set(errors))
    for errs in errors.values():
        # Refused with the code, or not sent at all because the headers said "spent" (None).
        assert all(e.kind == "throttled" and e.code in (code, None) for e in errs)
        assert all("quota" in e.message for e in errs)


def test_page_quota_spent_defers_that_page_with_its_wait(lite: Harness) -> None:
    lite.world.faults.quota_calls_per_page = 2  # posts and insights; no room for paging
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=60)).date(),
                          max_wait_seconds=5)
    errs = failures_of(lite.engine, result.run_id)
    assert errs, "Pages over quota must be reported"
    for page_errors in errs.values():
        err = page_errors[0]
        assert err.kind == "throttled" and "quota (Page" in err.message
        if err.code == 80001:  # Meta refused a call and said how long to wait
            assert err.retry_after_minutes and err.retry_after_minutes > 0
            assert f"retry after {err.retry_after_minutes} min" in err.message
    # Their audience (from /me/accounts) is still stored.
    assert tonight(lite.engine) == len(pages_by_graph_id(lite.engine))


def test_usage_headers_stop_calls_before_meta_refuses(lite: Harness) -> None:
    lite.world.faults.quota_calls_per_page = 1  # a Page's first call spends its budget
    result = lite.collect()
    errs = failures_of(lite.engine, result.run_id)
    assert len(errs) == len(lite.world.pages)
    messages = [e[0].message for e in errs.values()]
    spent = re.compile(r"Meta reports \d+% of this Page's call budget used \(regain in 1440 min\)")
    assert all(spent.search(m) for m in messages), messages
    assert lite.server.stats.throttled == 0  # no call was sent only to be refused


def test_app_usage_near_the_limit_slows_down(lite: Harness) -> None:
    lite.world.faults.app_quota_calls = 1  # the first call reports the app's budget spent
    result = lite.collect(max_wait_seconds=5)
    assert lite.sleeps and max(lite.sleeps) <= 5, "pause as the app nears its limit"
    # Meta then refuses the app (code 4): the run stops calling and says why.
    assert "quota (app, code 4)" in (result.message or "")


def test_expired_token_stops_the_run_before_any_page(lite: Harness) -> None:
    lite.collect()
    lite.world.advance(days=1)
    lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(hours=1)
    before = table_state(lite.engine)
    seen = len(lite.server.request_log)
    result = lite.collect()
    assert result.status == "failed"
    expired = (lite.world.now - dt.timedelta(hours=1)).astimezone(PACIFIC)
    assert f"token expired on {expired:%d/%m/%Y}" in (result.message or "")
    assert "Make a new system-user token" in (result.message or "")
    assert errors_of(lite.engine, result.run_id) == {}  # no Page was tried
    assert [e.path.rsplit("/", 1)[-1] for e in lite.server.request_log[seen:]] == ["me"]
    assert table_state(lite.engine) == before  # nothing lost, nothing half-written


def test_retired_metric_is_dropped_with_a_warning(lite: Harness) -> None:
    result = lite.collect(page_metrics="page_follows,page_impressions,page_views_total",
                             post_metrics="post_reactions_by_type_total,post_impressions")
    assert result.status == "ok", result.failures
    assert "page_impressions" in (result.message or "")
    assert "post_impressions" in (result.message or "")
    with transaction(lite.engine) as s:
        metrics = set(s.scalars(select(PageInsight.metric).distinct()))
        post_metrics = set(s.scalars(select(PostInsight.metric).distinct()))
    assert metrics == {"page_follows", "page_views_total"}
    assert post_metrics == {"post_reactions_by_type_total"}


def test_unpublished_page(lite: Harness) -> None:
    victim = some_page(lite)
    lite.world.faults.unpublish_at[victim] = lite.world.now - dt.timedelta(days=1)
    result = lite.collect()
    check_others_collected(lite, result, {victim})
    err = failures_of(lite.engine, result.run_id)[victim][0]
    assert err.kind == "unpublished" and "Page unpublished" in err.message
    with transaction(lite.engine) as s:
        page = s.scalars(select(Page).where(Page.graph_id == victim)).one()
        assert page.is_published is False
        assert s.scalar(select(func.count()).select_from(PageSnapshot).where(
            PageSnapshot.page_id == page.id, PageSnapshot.source == "page")) == 1  # kept


def test_unpublished_page_seen_by_an_outsider_token(lite: Harness) -> None:
    victim = some_page(lite)
    lite.world.tokens.add("outsider-token", type="USER", page_ids=[lite.world.pages[0]])
    lite.world.faults.unpublish_at[victim] = lite.world.now - dt.timedelta(days=1)
    result = lite.collect(access_token="outsider-token")
    err = errors_of(lite.engine, result.run_id)[victim][0]
    assert err.kind == "not_found" and "unpublished, deleted" in err.message
    with transaction(lite.engine) as s:
        page = s.scalars(select(Page).where(Page.ref == victim)).one()
    assert page.access == "unreachable" and page.access_action
    assert "check the Page's id or username" in page.access_action


def test_deleted_page(lite: Harness) -> None:
    victim = some_page(lite, 5)
    lite.world.faults.delete_at[victim] = lite.world.now - dt.timedelta(days=1)
    result = lite.collect()
    err = errors_of(lite.engine, result.run_id)[victim][0]
    assert err.kind == "not_found"
    with transaction(lite.engine) as s:
        snapped = s.scalar(select(func.count()).select_from(PageSnapshot).where(
            PageSnapshot.run_id == result.run_id, PageSnapshot.source == "page"))
    assert snapped == len(lite.world.pages) - 1
    assert result.pages_failed == 1


def test_deleted_post_is_marked_not_removed(lite: Harness) -> None:
    lite.collect(since=(lite.world.now - dt.timedelta(days=5)).date())
    with transaction(lite.engine) as s:
        post = s.scalars(select(Post).order_by(Post.created_time.desc())).first()
        assert post is not None
        graph_id = post.graph_id
    lite.world.advance(days=1)
    lite.world.faults.delete_post_at[graph_id] = lite.world.now - dt.timedelta(hours=2)
    result = lite.collect()
    assert result.status == "ok"
    with transaction(lite.engine) as s:
        post = s.scalars(select(Post).where(Post.graph_id == graph_id)).one()
        assert post.deleted_at is not None
        assert s.scalar(select(func.count()).select_from(PostSnapshot)
                        .where(PostSnapshot.post_id == post.id)) >= 1


def test_batch_null_items_are_sent_again(lite: Harness) -> None:
    lite.world.faults.batch_null_rate = 0.3
    result = lite.collect(max_retries=6)
    assert result.status == "ok", result.failures
    assert_store_matches_truth(lite.engine, lite.world)


def test_unknown_page_reference_fails_only_that_page(lite: Harness) -> None:
    with transaction(lite.engine) as s:
        unit_id = s.scalars(select(Page.unit_id)).first()
        s.add(Page(ref="no.such.page.here", username="no.such.page.here", unit_id=unit_id,
                   active=True, created_at=lite.world.now))
    result = lite.collect()
    assert result.pages_failed == 1
    assert result.pages_ok == len(lite.world.pages)
    assert any(ref == "no.such.page.here" and "not found" in why
               for ref, why in result.failures)


def test_token_expiring_in_the_middle_of_a_run(lite: Harness,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector.graph import GraphClient

    original = GraphClient._send
    calls = {"n": 0}

    def send(self: GraphClient, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 7:  # after the token check, the listing and the metric probe
            lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(minutes=1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GraphClient, "_send", send)
    result = lite.collect(concurrency=1)
    assert "token expired on" in (result.message or "")
    errors = failures_of(lite.engine, result.run_id)
    assert errors and all(e[0].kind == "token" for e in errors.values()), errors
    assert result.pages_failed == len(lite.world.pages)
    # What was read before the expiry (the audience from /me/accounts) is stored and true.
    assert count(lite.engine, PageSnapshot) > 0
    assert_store_matches_truth_audience(lite.engine, lite.world)
    # A new token the next night completes the work.
    lite.world.faults.token_expires_at = None
    monkeypatch.setattr(GraphClient, "_send", original)
    assert lite.collect().status == "ok"


def assert_store_matches_truth_audience(engine: Engine, world: World) -> None:
    by_id = {p.id: g for g, p in pages_by_graph_id(engine).items()}
    with transaction(engine) as s:
        for snap in s.scalars(select(PageSnapshot)):
            truth = world.truth_page(by_id[snap.page_id], at=snap.collected_at)
            assert snap.followers_count == truth["followers_count"]


def test_status_tells_the_morning_reader_what_failed(lite: Harness) -> None:
    from click.testing import CliRunner

    from fanpulse.cli import cli

    lite.collect()
    victim = some_page(lite)
    lite.world.faults.delete_at[victim] = lite.world.now
    lite.world.advance(days=1)
    lite.collect()
    url = lite.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(cli, ["--database-url", url, "status"]).output
    assert "partial" in out and "ok" in out
    assert f"({victim}): Page not found" in out and "last collected" in out
    assert "Access: 21 full (audience, posts, insights), 1 audience and posts, no insights, " \
        "1 audience only (posts not readable), 1 unreachable" in out
    assert "To do: ask the Page's admin to share the Page with the Business Manager" in out
    assert "To do: ask the Page's admin to give the Business Manager the Analyze task" in out
    lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(hours=1)
    lite.world.advance(days=1)
    lite.collect()
    out = CliRunner().invoke(cli, ["--database-url", url, "status"]).output
    assert "token unusable" in out and "token expired on" in out


def test_the_token_never_reaches_the_store_or_the_logs(
        lite: Harness, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from fanpulse.logs import setup_logging

    secret = "EAAGsecretTOKENvalue123"
    lite.world.tokens.add(secret)
    lite.world.faults.transient_5xx_rate = 0.2
    lite.world.faults.timeout_rate = 0.05
    lite.world.faults.timeout_seconds = 1.0
    # The command line's logging, at its most talkative, even with urllib3's URL logging on.
    setup_logging("DEBUG", [secret])
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    try:
        with caplog.at_level("DEBUG"):
            lite.collect(access_token=secret, request_timeout=0.5, max_retries=1)
            lite.world.faults.token_expires_at = lite.world.now - dt.timedelta(hours=1)
            lite.collect(access_token=secret)
    finally:
        setup_logging("WARNING")
    printed = capsys.readouterr().err
    assert "urllib3" in printed and "REDACTED" in printed
    assert secret not in printed
    # Our own messages never carry it, whatever handler a library user installs.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("urllib3")]
    assert ours and not any(secret in m for m in ours)
    lite.engine.dispose()
    database = Path(str(lite.engine.url.database))
    for path in [database, *database.parent.glob(database.name + "-wal")]:
        assert secret.encode() not in path.read_bytes()


def test_no_token_reaches_logs_store_reports_or_messages_after_a_bad_night(
        lite: Harness, caplog: pytest.LogCaptureFixture, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The configured token and every Page token handed out by /me/accounts stay in memory:
    after a night of faults, a refused Page token, a quota and an expiry, none is in a log
    line, the store, a report file, an error message or a run's note."""
    import logging

    from fanpulse.collector import night as night_module
    from fanpulse.collector.access import list_accounts
    from fanpulse.logs import setup_logging
    from fanpulse.reports.build import build_reports

    world = lite.world
    secret = "EAAGmainSYSTEMtoken456"
    world.tokens.add(secret)
    dead = "EAAGdeadPAGEtoken789"

    def accounts(client: Any, info: Any) -> Any:
        found = list_accounts(client, info)
        found[world.pages[2]].token = dead  # one Page's token stops working
        client.add_secret(dead)
        return found

    monkeypatch.setattr(night_module, "list_accounts", accounts)
    world.faults.transient_5xx_rate = 0.2
    world.faults.set_throttle(80001, 0.1)
    setup_logging("DEBUG", [secret])
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    results = []
    try:
        with caplog.at_level("DEBUG"):
            results.append(lite.collect(access_token=secret, max_retries=1,
                                        since=(world.now - dt.timedelta(days=10)).date()))
            world.advance(days=1)
            world.faults.token_expires_at = world.now - dt.timedelta(hours=1)
            results.append(lite.collect(access_token=secret))
    finally:
        setup_logging("WARNING")
    page_tokens = [t.value for t in world.tokens.values() if t.type == "PAGE"]
    assert len(page_tokens) >= 20
    secrets = [secret, dead, *page_tokens]
    texts = [r.getMessage() for r in caplog.records]
    texts += [repr(r) for r in results] + [why for r in results for _ref, why in r.failures]
    with transaction(lite.engine) as s:
        texts += [e.message for e in s.scalars(select(PageError))]
        texts += [r.message or "" for r in s.scalars(select(CollectionRun))]
    assert any("refused" in t for t in texts)
    # Requests that carried a Page token were logged (by urllib3), redacted.
    assert any("access_token=REDACTED" in t and "published_posts" in t for t in texts)
    for text_ in texts:
        assert not any(token in text_ for token in secrets), text_
    summary = build_reports(lite.engine, tmp_path / "reports")
    files = [p for p in summary.index_path.parent.rglob("*") if p.is_file()]
    lite.engine.dispose()
    database = Path(str(lite.engine.url.database))
    files += [database, *database.parent.glob(database.name + "-wal")]
    for path in files:
        data = path.read_bytes()
        assert not any(token.encode() in data for token in secrets), path
