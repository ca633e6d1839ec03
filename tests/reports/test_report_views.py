"""Views (page_media_view, post_media_view): figures where insights exist, absent elsewhere.

Checked against sums computed independently with the ORM on the synthetic store (SQLite and
PostgreSQL), against hand-written rows around the day boundaries, and against the sandbox's
ground truth after a real collection.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fanpulse.collector.insights import insight_values
from fanpulse.config.units import read_units_file
from fanpulse.reports.queries import PageInfo, StoreData, load_store
from fanpulse.reports.views import (
    ViewFigures,
    ViewsData,
    insight_day,
    load_views,
    view_figures,
)
from fanpulse.sandbox import SandboxServer
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.models import Page, PageInsight, Post, PostInsight
from fanpulse.storage.save import save_page_insights
from fanpulse.storage.synthetic import fill_synthetic
from fanpulse.storage.units import sync_units
from tests.collector.conftest import Harness, make_world, write_units_for
from tests.conftest import migrated_store

END = dt.date(2026, 11, 25)
FROM, TO = dt.date(2026, 10, 1), dt.date(2026, 11, 20)
PACIFIC = ZoneInfo("America/Los_Angeles")
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def views_store(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A synthetic store of 50 Pages over 90 days, untouched (read-only for the tests)."""
    with migrated_store(request.param, tmp_path_factory.mktemp("views")) as engine:
        fill_synthetic(engine, n_pages=50, days=90, end_day=END, seed=11, post_views=True)
        yield engine


@pytest.fixture(scope="module")
def loaded(views_store: Engine) -> tuple[StoreData, ViewsData]:
    return load_store(views_store, FROM, TO), load_views(views_store, FROM, TO)


def orm_page_views(engine: Engine, date_from: dt.date,
                   date_to: dt.date) -> dict[int, int]:
    """page id -> its page_media_view over the days, each value's day being the Pacific day
    it covers (the day before its end_time's Pacific date: docs/graph-api.md §4)."""
    totals: dict[int, int] = defaultdict(int)
    with transaction(engine) as s:
        for row in s.scalars(select(PageInsight).where(PageInsight.metric == "page_media_view",
                                                       PageInsight.period == "day")):
            day = row.end_time.astimezone(PACIFIC).date() - dt.timedelta(days=1)
            if date_from <= day <= date_to and row.value is not None:
                totals[row.page_id] += round(row.value)
    return dict(totals)


def orm_post_views(engine: Engine, date_to: dt.date) -> dict[int, int]:
    """post id -> its latest post_media_view reading on or before ``date_to``."""
    latest: dict[int, tuple[dt.date, int]] = {}
    with transaction(engine) as s:
        for row in s.scalars(select(PostInsight).where(PostInsight.metric == "post_media_view")):
            if row.day <= date_to and row.value is not None and (
                    row.post_id not in latest or latest[row.post_id][0] < row.day):
                latest[row.post_id] = (row.day, round(row.value))
    return {post_id: value for post_id, (_day, value) in latest.items()}


def test_figures_equal_independent_sums(views_store: Engine,
                                        loaded: tuple[StoreData, ViewsData]) -> None:
    store, data = loaded
    by_page = orm_page_views(views_store, FROM, TO)
    post_truth = orm_post_views(views_store, TO)
    assert by_page and post_truth, "the synthetic store must hold views"
    posts_of: dict[int, list[int]] = defaultdict(list)
    for post in store.posts:
        posts_of[post.page_id].append(post.post_id)
    checked = 0
    for unit_id in store.units:
        unit_ids = set(store.descendants[unit_id])
        pages = [p for p in store.pages.values() if p.unit_id in unit_ids]
        post_ids = [pid for p in pages for pid in posts_of[p.id]]
        figures = view_figures(data, pages, post_ids, FROM, TO)
        with_views = [p.id for p in pages if p.id in by_page]
        assert figures.pages_total == len(pages)
        assert figures.pages_with_views == len(with_views)
        assert figures.page_views == (sum(by_page[i] for i in with_views) if with_views
                                      else None)
        known = [post_truth[i] for i in post_ids if i in post_truth]
        assert (figures.posts_total, figures.posts_with_views) == (len(post_ids), len(known))
        assert figures.post_views == (sum(known) if known else None)
        checked += figures.page_views is not None
    assert checked > 1
    # The whole store: every Page with insights counts, and only those.
    root = next(u for u in store.units.values() if u.parent_id is None)
    everything = view_figures(data, list(store.pages.values()), [p.post_id for p in store.posts],
                              FROM, TO)
    assert everything.pages_with_views == len(by_page) < everything.pages_total
    assert root.id in store.units
    # Pages with views are exactly those read in full with insights available.
    assert {p.id for p in store.pages.values()
            if p.access == "full" and p.insights_state == "available"} == set(by_page)


def test_sub_period_sums_only_its_days(views_store: Engine,
                                       loaded: tuple[StoreData, ViewsData]) -> None:
    store, data = loaded
    start, stop = dt.date(2026, 10, 26), dt.date(2026, 11, 8)  # across the US DST switch
    by_page = orm_page_views(views_store, start, stop)
    pages = list(store.pages.values())
    figures = view_figures(data, pages, [], start, stop)
    assert figures.page_views == sum(by_page.values())
    assert figures.pages_with_views == len(by_page)
    assert (figures.post_views, figures.posts_with_views, figures.posts_total) == (None, 0, 0)
    # Loading just those days gives the same figure.
    assert view_figures(load_views(views_store, start, stop), pages, [], start,
                        stop) == figures
    for page_id, by_day in data.page_views.items():
        assert min(by_day) >= FROM and max(by_day) <= TO, page_id


def test_pages_without_insights_are_absent_not_zero(
        loaded: tuple[StoreData, ViewsData]) -> None:
    store, data = loaded
    without = [p for p in store.pages.values() if p.id not in data.page_views]
    with_views = [p for p in store.pages.values() if p.id in data.page_views]
    kinds = {(p.access, p.insights_state) for p in without}
    assert ("audience", None) in kinds and ("full", "none") in kinds, kinds
    for page in without:
        own = [post.post_id for post in store.posts if post.page_id == page.id]
        alone = view_figures(data, [page], own, FROM, TO)
        assert alone == ViewFigures(None, 0, 1, None, 0, len(own)), page.access
    # Beside a Page that has views, it changes nothing but the count of Pages.
    one = with_views[0]
    assert one.id in data.page_views
    mixed = view_figures(data, [one, *without], [], FROM, TO)
    solo = view_figures(data, [one], [], FROM, TO)
    assert mixed.page_views == solo.page_views and solo.page_views is not None
    assert (mixed.pages_with_views, mixed.pages_total) == (1, 1 + len(without))
    # Nothing at all: absent.
    assert view_figures(data, [], [], FROM, TO) == ViewFigures(None, 0, 0, None, 0, 0)


def _page(engine: Engine) -> PageInfo:
    with transaction(engine) as s:
        page = Page(ref="views-test", graph_id="123", created_at=dt.datetime.now(dt.UTC))
        s.add(page)
        s.flush()
        page_id = page.id
    return PageInfo(page_id, "views-test", None, None, None, True, True)


def test_day_boundaries_in_local_time(engine: Engine) -> None:
    """A daily value belongs to the day Facebook gives it (its end_time's day minus one, in
    Vietnam as in Pacific time), across the US switch back to winter time on 1 Nov 2026; a
    post belongs to the Vietnamese day it was published and counts its latest reading on or
    before the period's last day."""
    page = _page(engine)
    # As Meta answers ``since=2026-10-30&until=2026-11-03`` (days 30/10 .. 2/11).
    body = {"data": [{"name": "page_media_view", "period": "day", "values": [
        {"value": 10, "end_time": "2026-10-31T07:00:00+0000"},  # day 30/10 (PDT)
        {"value": 20, "end_time": "2026-11-01T07:00:00+0000"},  # day 31/10 (PDT)
        {"value": 40, "end_time": "2026-11-02T08:00:00+0000"},  # day 1/11 (PST: 25 hours)
        {"value": 80, "end_time": "2026-11-03T08:00:00+0000"},  # day 2/11
    ]}, {"name": "page_follows", "period": "day", "values": [
        {"value": 5000, "end_time": "2026-11-02T08:00:00+0000"}]}]}
    now = dt.datetime(2026, 11, 4, 19, 0, tzinfo=dt.UTC)
    rows = [{"page_id": page.id, "collected_at": now, **row} for row in insight_values(body)]
    created = {  # UTC instants; 17:00 UTC is midnight in Vietnam
        "late_31": dt.datetime(2026, 10, 31, 16, 59, tzinfo=dt.UTC),  # 23:59 on 31/10
        "first_1": dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC),  # 00:00 on 1/11
        "late_1": dt.datetime(2026, 11, 1, 16, 59, tzinfo=dt.UTC),  # 23:59 on 1/11
        "first_2": dt.datetime(2026, 11, 1, 17, 0, tzinfo=dt.UTC),  # 00:00 on 2/11
    }
    with transaction(engine) as s:
        save_page_insights(s, rows)
        posts = {}
        for key, moment in created.items():
            post = Post(graph_id=key, page_id=page.id, created_time=moment, first_seen_at=now,
                        last_seen_at=now)
            s.add(post)
            s.flush()
            posts[key] = post.id
            for day, value in ((dt.date(2026, 11, 1), 100), (dt.date(2026, 11, 2), 150),
                               (dt.date(2026, 11, 3), 170)):
                s.add(PostInsight(post_id=post.id, metric="post_media_view", period="lifetime",
                                  day=day, value=value + len(key), collected_at=now))
        # Not the metric, or not its period: ignored.
        s.add(PostInsight(post_id=posts["late_1"], metric="post_clicks", period="lifetime",
                          day=dt.date(2026, 11, 2), value=9, collected_at=now))

    assert insight_day(dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
    assert insight_day(dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC)) == dt.date(2026, 10, 31)
    one = load_views(engine, dt.date(2026, 11, 1), dt.date(2026, 11, 1))
    assert one.page_views == {page.id: {dt.date(2026, 11, 1): 40}}
    # Posts of 1/11 only, at their reading of 1/11 (the later ones come after the period).
    assert one.post_views == {posts["first_1"]: 107, posts["late_1"]: 106}
    figures = view_figures(one, [page], list(posts.values()), dt.date(2026, 11, 1),
                           dt.date(2026, 11, 1))
    assert figures == ViewFigures(40, 1, 1, 213, 2, 4)

    wide = load_views(engine, dt.date(2026, 10, 31), dt.date(2026, 11, 2))
    assert wide.page_views[page.id] == {dt.date(2026, 10, 31): 20, dt.date(2026, 11, 1): 40,
                                        dt.date(2026, 11, 2): 80}
    assert wide.post_views == {posts["late_31"]: 157, posts["first_1"]: 157,
                               posts["late_1"]: 156, posts["first_2"]: 157}
    assert view_figures(wide, [page], [], dt.date(2026, 10, 30),
                        dt.date(2026, 10, 31)).page_views == 20
    assert view_figures(wide, [page], [], dt.date(2026, 11, 2),
                        dt.date(2026, 11, 9)).page_views == 80
    # No value in the days asked for: absent, though the Page has views on other days.
    assert view_figures(wide, [page], [], dt.date(2026, 11, 3),
                        dt.date(2026, 11, 9)).page_views is None
    assert load_views(engine, dt.date(2026, 11, 3), dt.date(2026, 11, 9)).page_views == {}


@pytest.fixture
def collected(tmp_path: Path) -> Iterator[tuple[Harness, Engine]]:
    """A sandbox world collected for 10 days by the real collector (SQLite)."""
    world = make_world()
    engine = make_engine(f"sqlite:///{tmp_path / 'sandbox.db'}")
    ensure_schema(engine)
    rows = read_units_file(write_units_for(world, tmp_path / "units.csv"))
    with transaction(engine) as session:
        sync_units(session, rows, world.now)
    with SandboxServer(world) as server:
        harness = Harness(world, server, engine)
        result = harness.collect(since=(world.now - dt.timedelta(days=10)).date())
        assert result.status == "ok", result.failures
        yield harness, engine
    engine.dispose()


def test_views_equal_the_sandbox_truth(collected: tuple[Harness, Engine]) -> None:
    harness, engine = collected
    world = harness.world
    today = world.now.astimezone(VN).date()
    date_from, date_to = today - dt.timedelta(days=8), today
    store = load_store(engine, date_from, date_to)
    data = load_views(engine, date_from, date_to)
    graph_ids = {p.id: p.graph_id or "" for p in _pages(engine)}
    assert data.page_views, "the collector must collect page_media_view by default"
    for page in store.pages.values():
        graph_id = graph_ids[page.id]
        by_day = data.page_views.get(page.id)
        if page.insights_state != "available":
            assert by_day is None, graph_id
            continue
        assert by_day, graph_id
        for day, value in by_day.items():
            # The local day is the day Facebook's own calendar gives the value.
            assert value == world.truth_page_insight(graph_id, "page_media_view", day), day
        figures = view_figures(data, [page], [], date_from, date_to)
        assert figures.page_views == sum(
            world.truth_page_insight(graph_id, "page_media_view", day) for day in by_day)
    readings: dict[int, tuple[str, dt.datetime]] = {}
    with transaction(engine) as s:
        for row, graph_id in s.execute(
                select(PostInsight, Post.graph_id).join(Post, Post.id == PostInsight.post_id)
                .where(PostInsight.metric == "post_media_view").order_by(PostInsight.day)):
            readings[row.post_id] = (graph_id, row.collected_at)
    period_posts = [p.post_id for p in store.posts]
    assert set(data.post_views) == {i for i in period_posts if i in readings}
    assert data.post_views
    for post_id, value in data.post_views.items():
        graph_id, at = readings[post_id]
        assert value == world.truth_post_insight(graph_id, "post_media_view", at=at), graph_id


def _pages(engine: Engine) -> list[Page]:
    with transaction(engine) as s:
        return list(s.scalars(select(Page)))
