"""unit_day_totals (storage/rollups.py, migration 0009): the unit_rollup saved query gives the
unit_daily view's rows whether the totals are up to date or not.

Every test compares the saved query with the view, on SQLite and PostgreSQL, for the units
with units under them (read from the totals) and a few without (always computed), after the
totals were refreshed and after writes that no refresh followed: a new night, a snapshot
changed in place, a post collected, a Page no longer collected, a merge of units.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Date, bindparam, text
from sqlalchemy.engine import Engine

from fanpulse.cli import import_units_file
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot, Post, PostSnapshot
from fanpulse.storage.query import load_saved_queries, run_query, run_saved
from fanpulse.storage.rollups import EPOCH, rebuild_rollups, refresh_rollups
from fanpulse.storage.save import upsert
from fanpulse.storage.synthetic import fill_synthetic
from tests.test_reform import FILE_2024, FILE_2025

END = dt.date(2026, 11, 25)
COLUMNS = ("day, pages_reporting, followers, followers_change, likes, likes_change, posts, "
           "reactions, comments, shares, engagement")
PERIODS = [("2026-09-27", "2026-11-30"), ("2026-11-01", "2026-11-26"), ("2026-11-20", "2026-11-21"),
           ("2026-11-26", "2026-11-26")]


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def pending(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {kind: int(n) for kind, n in conn.execute(text(
            "SELECT kind, COUNT(*) FROM rollup_changes GROUP BY kind"))}


def assert_like_the_view(engine: Engine, periods: list[tuple[str, str]] = PERIODS,
                         leaves: int = 3) -> int:
    """unit_rollup == unit_daily for every unit with units under it and a few without, over
    ``periods``; returns how many rows were compared."""
    url = url_of(engine)
    query = load_saved_queries()["unit_rollup"]
    with engine.connect() as conn:
        parents = [c for (c,) in conn.execute(text(
            "SELECT u.code FROM units u WHERE EXISTS (SELECT 1 FROM units c "
            "WHERE c.parent_id = u.id) ORDER BY u.code"))]
        others = [c for (c,) in conn.execute(text(
            "SELECT u.code FROM units u WHERE NOT EXISTS (SELECT 1 FROM units c "
            "WHERE c.parent_id = u.id) ORDER BY u.code"))][:leaves]
    compared = 0
    for code in parents + others:
        for start, end in periods:
            got = run_saved(url, query, {"unit": code, "from": start, "to": end}, today=END)
            view = run_query(url, f"SELECT {COLUMNS} FROM unit_daily WHERE code = :unit "
                                  "AND day >= :f AND day <= :t ORDER BY day",
                             {"unit": code, "f": start, "t": end})
            assert got.rows == view.rows, (code, start, end)
            compared += len(got.rows)
    return compared


def synthetic(engine: Engine) -> Engine:
    fill_synthetic(engine, n_pages=30, days=60, end_day=END, seed=5)
    return engine


def add_night(engine: Engine, day: dt.date, gain: int = 3) -> None:
    """Every active Page's snapshot of ``day`` (its last one plus ``gain``), and a new reading
    of every post snapshot of the night before: what a collection writes, without the
    refresh at its end."""
    with transaction(engine) as s:
        for page in s.query(Page).filter(Page.active):
            last = (s.query(PageSnapshot).filter(PageSnapshot.page_id == page.id)
                    .order_by(PageSnapshot.day.desc()).first())
            if last is None or last.followers_count is None:
                continue
            s.add(PageSnapshot(page_id=page.id, day=day, followers_count=last.followers_count
                               + gain, fan_count=(last.fan_count or 0) + gain,
                               collected_at=dt.datetime.combine(day, dt.time(19), dt.UTC)))
        rows = [{"post_id": p.post_id, "day": day, "collected_at": dt.datetime.combine(
                    day, dt.time(19), dt.UTC), "reactions": (p.reactions or 0) + 2,
                 "comments": p.comments, "shares": p.shares}
                for p in s.query(PostSnapshot).filter(
                    PostSnapshot.day == day - dt.timedelta(days=1))]
        upsert(s, PostSnapshot.__table__, rows, ["post_id", "day"])  # type: ignore[arg-type]


def test_the_fill_leaves_the_totals_up_to_date_and_the_query_reads_them(engine: Engine) -> None:
    synthetic(engine)
    assert pending(engine) == {}
    with engine.connect() as conn:
        units = conn.execute(text("SELECT COUNT(DISTINCT unit_id) FROM unit_day_totals")).scalar()
        parents = conn.execute(text("SELECT COUNT(DISTINCT parent_id) FROM units")).scalar()
    assert units == parents and units > 1
    assert assert_like_the_view(engine) > 100
    # The query does read the totals while nothing newer is logged: a wrong total shows...
    with engine.begin() as conn:
        conn.execute(text("UPDATE unit_day_totals SET followers = -1 WHERE day = :d"),
                     {"d": dt.date(2026, 11, 20)})
    url = url_of(engine)
    query = load_saved_queries()["unit_rollup"]
    with engine.connect() as conn:
        province = conn.execute(text("SELECT code FROM units WHERE parent_id IS NULL")).scalar()
    rows = run_saved(url, query, {"unit": province, "from": "2026-11-20", "to": "2026-11-20"},
                     today=END).rows
    assert rows[0][2] == -1
    # ...until a rebuild computes it again.
    assert rebuild_rollups(engine).since == EPOCH
    assert assert_like_the_view(engine, [("2026-11-20", "2026-11-20")])


def test_a_night_without_refresh_is_counted_then_summed(engine: Engine) -> None:
    synthetic(engine)
    add_night(engine, END + dt.timedelta(days=1))
    logged = pending(engine)
    assert logged.get("snapshot") and logged.get("post")
    assert assert_like_the_view(engine)
    result = refresh_rollups(engine)
    assert result.since is not None and result.since <= END + dt.timedelta(days=1)
    assert pending(engine) == {}
    assert assert_like_the_view(engine)
    # A second night, refreshed by its own end.
    add_night(engine, END + dt.timedelta(days=2), gain=-4)
    refresh_rollups(engine)
    assert assert_like_the_view(engine, PERIODS + [("2026-11-20", "2026-11-27")])


def test_a_snapshot_changed_in_place_or_backfilled_is_never_stale(engine: Engine) -> None:
    synthetic(engine)
    with transaction(engine) as s:
        page = s.query(Page).filter(Page.active).order_by(Page.id).first()
        assert page is not None
        # A second collection of a past day (the upsert updates the row, its id stays)...
        upsert(s, PageSnapshot.__table__, [{  # type: ignore[arg-type]
            "page_id": page.id, "day": dt.date(2026, 11, 10), "collected_at": dt.datetime(
                2026, 11, 10, 20, tzinfo=dt.UTC), "followers_count": 123_456,
            "fan_count": 1_234, "source": "page"}], ["page_id", "day"])
        # ...and a day the Page had no snapshot for, removed then written again.
        s.execute(text("DELETE FROM page_snapshots WHERE page_id = :p AND day = :d"),
                  {"p": page.id, "d": dt.date(2026, 11, 15)})
    assert pending(engine).get("snapshot") == 2
    assert assert_like_the_view(engine)
    refresh_rollups(engine)
    assert assert_like_the_view(engine)
    with transaction(engine) as s:
        s.add(PageSnapshot(page_id=page.id, day=dt.date(2026, 11, 15), followers_count=99,
                           fan_count=98, collected_at=dt.datetime(2026, 11, 15, 20,
                                                                  tzinfo=dt.UTC),
                           source="insights"))
    assert assert_like_the_view(engine)


def test_a_post_collected_without_refresh_is_counted(engine: Engine) -> None:
    synthetic(engine)
    created = dt.datetime(2026, 11, 3, 2, tzinfo=dt.UTC)  # 09:00 on 3 November, local
    with transaction(engine) as s:
        page_id = s.scalars(text("SELECT page_id FROM page_snapshots WHERE day = :d "
                                 "ORDER BY page_id").bindparams(
                                     bindparam("d", type_=Date())),
                            {"d": dt.date(2026, 11, 3)}).first()
        post = Post(graph_id="rollup_test_post", page_id=page_id, created_time=created,
                    first_seen_at=created, last_seen_at=created)
        s.add(post)
        s.flush()
        s.add(PostSnapshot(post_id=post.id, day=dt.date(2026, 11, 4), reactions=500,
                           comments=40, shares=3, collected_at=created))
    assert pending(engine).get("post") == 2
    assert assert_like_the_view(engine)
    refresh_rollups(engine)
    assert assert_like_the_view(engine)


def test_a_page_no_longer_collected_follows_the_one_day_rule(engine: Engine) -> None:
    synthetic(engine)
    with transaction(engine) as s:
        for page in s.query(Page).filter(Page.active).order_by(Page.id).limit(4):
            page.active = False
    assert pending(engine) == {"tree": 4}
    assert assert_like_the_view(engine)  # everything computed meanwhile
    refresh_rollups(engine)
    assert pending(engine) == {}
    assert assert_like_the_view(engine)



def test_a_merge_of_units_is_summed_by_the_import(engine: Engine, tmp_path: Path) -> None:
    first = tmp_path / "2024.csv"
    first.write_text(FILE_2024, encoding="utf-8")
    import_units_file(engine, first, now=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    with transaction(engine) as s:
        for n, page in enumerate(s.query(Page).order_by(Page.id)):
            for i in range(120):
                day = dt.date(2025, 5, 1) + dt.timedelta(days=i)
                if (i + n) % 9 == 4:
                    continue  # a failed night now and then
                s.add(PageSnapshot(page_id=page.id, day=day, followers_count=1000 * (n + 1)
                                   + i * (n + 2), fan_count=900 * (n + 1) + i,
                                   collected_at=dt.datetime.combine(day, dt.time(19), dt.UTC)))
    refresh_rollups(engine)
    periods = [("2025-05-01", "2025-08-28"), ("2025-06-20", "2025-07-10")]
    assert assert_like_the_view(engine, periods)
    second = tmp_path / "2025.csv"
    second.write_text(FILE_2025, encoding="utf-8")
    import_units_file(engine, second, now=dt.datetime(2025, 8, 29, tzinfo=dt.UTC))
    assert pending(engine) == {}  # the import summed the new tree once committed
    with engine.connect() as conn:
        summed = {c for (c,) in conn.execute(text(
            "SELECT DISTINCT u.code FROM unit_day_totals t JOIN units u ON u.id = t.unit_id"))}
    assert "40" in summed and not summed & {"40101", "50001", "50002"}
    assert assert_like_the_view(engine, periods, leaves=10)


def test_a_night_committed_during_a_refresh_is_not_cleared_unsummed(engine: Engine) -> None:
    """PostgreSQL: a collection wrote a snapshot (its change logged with an id) before the
    refresh read the log, and commits after the refresh summed the days but before it clears
    the log. Its change must stay logged (REPEATABLE READ), else the totals would miss that
    snapshot for good. (SQLite has one writer at a time.)"""
    import pytest
    from sqlalchemy import event

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite lets no other writer in during a refresh")
    synthetic(engine)
    late = engine.connect()
    late_txn = late.begin()
    page_id = late.execute(text("SELECT MIN(id) FROM pages WHERE active")).scalar_one()
    late.execute(text(
        "INSERT INTO page_snapshots (page_id, day, followers_count, fan_count, collected_at) "
        "SELECT page_id, CAST(:day AS DATE), followers_count + 1000, fan_count, collected_at "
        "FROM page_snapshots WHERE page_id = :page ORDER BY day DESC LIMIT 1"),
        {"day": END + dt.timedelta(days=2), "page": page_id})  # logged, not committed
    add_night(engine, END + dt.timedelta(days=1))  # committed, with later log ids
    fired: list[bool] = []

    def commit_meanwhile(conn, cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("INSERT INTO unit_day_totals") and not fired:
            fired.append(True)
            late_txn.commit()

    event.listen(engine, "after_cursor_execute", commit_meanwhile)
    try:
        refresh_rollups(engine)
    finally:
        event.remove(engine, "after_cursor_execute", commit_meanwhile)
        late.close()
    assert fired
    assert pending(engine).get("snapshot", 0) > 0  # the late snapshot is still to be summed
    assert_like_the_view(engine, [("2026-11-20", "2026-11-28")])
    refresh_rollups(engine)
    assert pending(engine) == {}
    assert_like_the_view(engine, [("2026-11-20", "2026-11-28")])
