"""Report numbers against the store: roll-ups, growth, gaps, posts (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import Date

from fanpulse.reports.build import DEFAULT_DAYS
from fanpulse.reports.metrics import CARRY_DAYS, Calculator
from fanpulse.reports.queries import load_store
from tests.reports.conftest import END

FROM = END - dt.timedelta(days=DEFAULT_DAYS - 1)


def calculator(engine: Engine) -> Calculator:
    return Calculator(load_store(engine, FROM, END,
                                 audience_from=END - dt.timedelta(days=90 + CARRY_DAYS)))


def district_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT MIN(id) FROM units WHERE level = 'district'"
        )).scalar_one())


def snapshots(engine: Engine, page_ids: list[int]) -> dict[tuple[int, dt.date], int]:
    """(page, day) -> followers, straight from page_snapshots (no view, no report code)."""
    query = text(
        "SELECT page_id, day, followers_count FROM page_snapshots WHERE page_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True)).columns(day=Date)
    with engine.connect() as conn:
        return {(p, d): f for p, d, f in conn.execute(query, {"ids": page_ids})}


def test_rollup_equals_the_sum_of_its_pages(store: Engine) -> None:
    calc = calculator(store)
    unit = district_id(store)
    pages = calc.subtree_pages(unit)
    assert len(pages) > 5
    truth = snapshots(store, [p.id for p in pages])
    series = calc.series(pages)
    complete_days = [d for d in series.days if all((p.id, d) in truth for p in pages)]
    assert len(complete_days) > 30
    with store.connect() as conn:
        view = dict(conn.execute(text(
            "SELECT day, followers FROM unit_daily WHERE unit_id = :u"
        ).columns(day=Date), {"u": unit}).all())
    for day in complete_days:
        value = series.followers[series.days.index(day)]
        assert value == sum(truth[(p.id, day)] for p in pages)
        assert value == view[day]  # the same figure an analyst gets from unit_daily


def test_daily_net_change_is_unit_daily_change(store: Engine) -> None:
    calc = calculator(store)
    unit = district_id(store)
    series = calc.series(calc.subtree_pages(unit))
    with store.connect() as conn:
        view = dict(conn.execute(text(
            "SELECT day, followers_change FROM unit_daily WHERE unit_id = :u"
        ).columns(day=Date), {"u": unit}).all())
    compared = 0
    for day, change in zip(series.days, series.net_change, strict=True):
        if day in view:
            assert change == view[day]
            compared += 1
        else:
            assert change is None
    assert compared > 60


def test_growth_matches_the_snapshots(store: Engine) -> None:
    calc = calculator(store)
    checked = 0
    for page in calc.data.pages.values():
        truth = snapshots(store, [page.id])
        headline = calc.headline([page])
        end = headline.as_of
        if end != END or not page.active:
            continue
        for days in (7, 30, 90):
            start = end - dt.timedelta(days=days)
            if (page.id, start) not in truth:
                continue
            change = headline.change(days)
            then = truth[(page.id, start)]
            assert change.absolute == truth[(page.id, end)] - then
            assert change.fraction == pytest.approx((truth[(page.id, end)] - then) / then)
            checked += 1
    assert checked > 50


def test_headline_followers_carry_a_page_that_failed_last_night(store: Engine) -> None:
    calc = calculator(store)
    failed_last = [p for p in calc.data.pages.values()
                   if calc.data.daily.get(p.id) and calc.data.daily[p.id][-1].day < END]
    assert failed_last, "the synthetic data should hold a Page that failed on the last night"
    page = failed_last[0]
    headline = calc.headline([page])
    assert headline.followers == calc.data.daily[page.id][-1].followers  # its last known figure


def test_gaps_stay_gaps(store: Engine) -> None:
    calc = calculator(store)
    for page in calc.data.pages.values():
        rows = calc.data.daily.get(page.id, [])
        have = {r.day for r in rows}
        missing = [d for d in (FROM + dt.timedelta(days=i) for i in range(DEFAULT_DAYS))
                   if d not in have and rows and rows[0].day < d]
        if missing:
            series = calc.series([page])
            for day in missing:
                i = series.days.index(day)
                assert series.followers[i] is None and series.net_change[i] is None
                assert series.reporting[i] == 0
            return
    pytest.fail("no Page with a missing day in the synthetic data")


# Pages whose posts the store can know (the reports leave the others out of post figures).
READABLE = ("(pg.posts_readable IS NULL OR pg.posts_readable = TRUE) "
            "AND COALESCE(pg.access, '') NOT IN ('audience', 'unreachable')")


def test_posts_and_engagement_match_post_latest(store: Engine) -> None:
    calc = calculator(store)
    unit = district_id(store)
    pages = calc.subtree_pages(unit)
    headline = calc.headline(pages)
    assert headline.posts_unreadable > 0  # the district has audience-only communes
    with store.connect() as conn:
        posts, engagement, reactions = conn.execute(text(
            "SELECT COUNT(*), SUM(engagement), SUM(reactions) FROM post_latest pl "
            "JOIN pages pg ON pg.id = pl.page_id "
            "JOIN unit_descendants d ON d.unit_id = pl.unit_id "
            f"WHERE d.ancestor_id = :u AND pl.local_day BETWEEN :a AND :b AND {READABLE}"
        ).bindparams(bindparam("a", type_=Date), bindparam("b", type_=Date)),
            {"u": unit, "a": FROM, "b": END}).one()
        unreadable = conn.execute(text(
            "SELECT COUNT(*) FROM pages pg JOIN unit_descendants d ON d.unit_id = pg.unit_id "
            f"WHERE d.ancestor_id = :u AND NOT ({READABLE})"), {"u": unit}).scalar_one()
    engagement, reactions = int(engagement), int(reactions)  # PostgreSQL sums are Decimal
    assert (headline.posts, headline.engagement, headline.reactions) == (posts, engagement,
                                                                         reactions)
    assert headline.engagement == headline.reactions + headline.comments + headline.shares
    weeks = calc.weeks(calc.subtree_pages(unit))
    assert sum(w.posts or 0 for w in weeks) == posts
    assert sum(w.days for w in weeks) == DEFAULT_DAYS
    # The rate is over the followers of the Pages whose posts are read.
    assert headline.posts_unreadable == unreadable
    known = [p for p in pages if not p.posts_unreadable]
    assert headline.posts_followers == calc.headline(known).followers
    assert (headline.posts_followers or 0) < (headline.followers or 0)
    # One rate at every level: engagement per post per 1,000 followers of the posting Page,
    # i.e. Σ engagement ÷ Σ (posts × followers of their Page) × 1,000.
    with store.connect() as conn:
        per_page = conn.execute(text(
            "SELECT pl.page_id, COUNT(*), SUM(engagement) FROM post_latest pl "
            "JOIN pages pg ON pg.id = pl.page_id "
            "JOIN unit_descendants d ON d.unit_id = pl.unit_id "
            f"WHERE d.ancestor_id = :u AND pl.local_day BETWEEN :a AND :b AND {READABLE} "
            "GROUP BY pl.page_id"
        ).bindparams(bindparam("a", type_=Date), bindparam("b", type_=Date)),
            {"u": unit, "a": FROM, "b": END}).all()
    audience = rated = 0
    for page_id, n, eng in per_page:
        followers = calc.headline([calc.data.pages[page_id]]).followers
        if followers is not None:
            audience += n * followers
            rated += int(eng)
    assert headline.engagement_rate == pytest.approx(rated / audience * 1000)
    # A single Page: engagement per post per 1,000 of its followers.
    page_id, n, eng = per_page[0]
    one = calc.headline([calc.data.pages[page_id]])
    assert one.engagement_rate == pytest.approx(int(eng) / n / (one.followers or 1) * 1000)


def test_province_rollup_is_its_children_plus_its_own_page(store: Engine) -> None:
    calc = calculator(store)
    root = next(u for u in calc.data.units.values() if u.parent_id is None)
    metrics = calc.unit(root.id)
    own = calc.headline(calc.pages_of_unit[root.id])
    children = [calc.headline(calc.subtree_pages(c.id)) for c in metrics.children]
    assert metrics.own == own
    assert metrics.rollup.posts == own.posts + sum(h.posts for h in children)
    assert metrics.rollup.followers == (own.followers or 0) + sum(h.followers or 0
                                                                  for h in children)


def test_coverage_lists(store: Engine) -> None:
    calc = calculator(store)
    root = next(u for u in calc.data.units.values() if u.parent_id is None)
    coverage = calc.unit(root.id).coverage
    assert coverage.no_page, "the generated tree leaves a commune without a Page"
    assert any(s.error is not None and s.error.kind == "token" for s in coverage.failed)
    assert all(s.page.id in calc.data.errors for s in coverage.failed)
    assert all(s.error is None or s.error.severity == "failed" for s in coverage.failed)
    assert {s.page.insights_state for s in coverage.no_insights} == {"none"}
    assert {s.page.access for s in coverage.no_insights} == {"full"}
    levels = [s.page.access for s in coverage.access]
    assert levels[0] == "unreachable" and {"audience", "partial", None} <= set(levels)
    assert "full" not in levels
    for status in coverage.silent[30]:
        assert status.silent_days is None or status.silent_days >= 30
    for status in coverage.silent[14]:
        assert status.silent_days is not None and 14 <= status.silent_days < 30
    for statuses in coverage.silent.values():
        assert not any(s.page.posts_unreadable for s in statuses)
