"""ranking.html (issue 11): the province-wide commune ranking and the weekly posting check,
against the store; one engagement rate on every page."""

from __future__ import annotations

import datetime as dt
import re

from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.reports.build import DEFAULT_DAYS
from fanpulse.reports.i18n import MIN_FOLLOWERS_FOR_RANKING, MIN_POSTS_FOR_RANKING, Lang
from fanpulse.reports.metrics import CARRY_DAYS, CHANGE_WINDOWS, Calculator
from fanpulse.reports.queries import load_store
from fanpulse.reports.ranking import commune_ranking, quiet_this_week
from tests.reports.conftest import END, BuiltReports

FROM = END - dt.timedelta(days=DEFAULT_DAYS - 1)
VI = Lang("vi")


def calculator(engine: Engine) -> Calculator:
    audience = END - dt.timedelta(days=max(CHANGE_WINDOWS) + CARRY_DAYS)
    return Calculator(load_store(engine, FROM, END, audience_from=audience))


def test_the_ranking_follows_the_leaderboard_rules(store: Engine) -> None:
    calc = calculator(store)
    scope = list(calc.data.units.values())
    rows = commune_ranking(calc, scope)
    communes = {u.id for u in scope if u.level == "commune" and u.active
                and any(p.active for p in calc.pages_of_unit.get(u.id, []))}
    assert {r.unit.id for r in rows} == communes  # every commune with a Page, once
    ranked = [r for r in rows if r.rank is not None]
    assert ranked and [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    rates = [r.headline.engagement_rate for r in ranked]
    assert all(rate is not None for rate in rates)
    assert rates == sorted(rates, reverse=True)  # type: ignore[type-var]
    for r in ranked:
        assert (r.headline.followers or 0) >= MIN_FOLLOWERS_FOR_RANKING
        assert r.headline.posts >= MIN_POSTS_FOR_RANKING
    unranked = rows[len(ranked):]
    assert all(r.rank is None and r.reason for r in unranked)
    assert any(r.reason == "posts_unreadable" for r in unranked)  # audience-only communes


def test_the_weekly_check_lists_units_without_a_post_in_seven_days(store: Engine) -> None:
    calc = calculator(store)
    quiet = quiet_this_week(calc, list(calc.data.units.values()))
    week_start = END - dt.timedelta(days=6)
    with store.connect() as conn:
        recent = {row[0] for row in conn.execute(text(
            "SELECT DISTINCT pg.unit_id FROM post_latest pl JOIN pages pg ON pg.id = pl.page_id "
            "WHERE pl.local_day BETWEEN :a AND :b AND pg.active = :t"
        ), {"a": week_start, "b": END, "t": True})}
        readable = {row[0] for row in conn.execute(text(
            "SELECT DISTINCT pg.unit_id FROM pages pg JOIN units u ON u.id = pg.unit_id "
            "WHERE pg.active = :t AND u.active = :t "
            "AND (pg.posts_readable IS NULL OR pg.posts_readable = :t) "
            "AND COALESCE(pg.access, '') NOT IN ('audience', 'unreachable')"
        ), {"t": True})}
    assert {q.unit.id for q in quiet} == readable - recent
    assert quiet  # the synthetic store has silent communes
    for q in quiet:
        assert q.last_post is None or q.last_post.astimezone(
            dt.timezone(dt.timedelta(hours=7))).date() < week_start


def test_ranking_page_and_workbook_match(built: BuiltReports, built_engine: Engine) -> None:
    page = (built.out / "ranking.html").read_text(encoding="utf-8")
    assert "Xếp hạng xã toàn tỉnh theo tỷ lệ tương tác" in page
    assert "Đơn vị không có bài trong tuần" in page
    assert 'href="ranking.html"' in (built.out / "index.html").read_text(encoding="utf-8")
    calc = calculator(built_engine)
    rows = commune_ranking(calc, list(calc.data.units.values()))
    book = load_workbook(built.out / "ranking.xlsx", read_only=True)
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert len(sheet) == len(rows) + 1
    for row, r in zip(sheet[1:], rows, strict=True):
        assert row[0] == r.rank and row[1] == r.unit.name
        assert (row[3] is None) == (r.headline.engagement_rate is None)
        if row[3] is not None:
            assert abs(row[3] - r.headline.engagement_rate) < 1e-9  # type: ignore[operator]
    first = rows[0]
    assert f">{VI.decimal_number(first.headline.engagement_rate)}<" in page


def test_one_engagement_rate_everywhere(built: BuiltReports, built_engine: Engine) -> None:
    """The leaderboard, the parent's table and the unit's own card show the same number."""
    index = (built.out / "index.html").read_text(encoding="utf-8")
    board = index.split('id="leaderboards"', 1)[1].split("</section>", 1)[0]
    engaging = board.split("<h3>", 3)[2]
    link, rate = re.search(r'<a href="(u-[^"]+\.html)">[^<]+</a> <b>([\d.,]+)</b>',
                           engaging).groups()  # type: ignore[union-attr]
    unit_page = (built.out / link).read_text(encoding="utf-8")
    assert f'<div class="value ">{rate}</div>' in unit_page
    assert "(‰)" in unit_page and "1.000 người theo dõi" in unit_page  # its definition
