"""Like-for-like roll-ups (issue 11): Pages that join or leave move the level, never the change.

A hand-made store on SQLite and PostgreSQL, 50 days from D0 = 2026-10-01:

    40 Tỉnh (province)
    ├── A  read every day, 1000 + 10 a day
    ├── B  first read on D20 (the "joiner"), 5000 + 5 a day
    ├── C  read D0..D9, then no longer collected (pages.active false): leaves on D10
    └── D  read on D0 (300), then from D45 on (400 + 1 a day): carried 30 days, out of the
           roll-up D31..D44, back on D45 (its 100 gained meanwhile is no day's growth)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.types import Date

from fanpulse.reports.build import build_reports
from fanpulse.reports.figures import followers_figure
from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import Calculator
from fanpulse.reports.queries import load_store
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot, Unit

D0 = dt.date(2026, 10, 1)
N_DAYS = 50
END = D0 + dt.timedelta(days=N_DAYS - 1)
CREATED = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def followers(page: str, i: int) -> int | None:
    """The page's followers on day D0 + i, None when it was not read."""
    if page == "A":
        return 1000 + 10 * i
    if page == "B":
        return 5000 + 5 * (i - 20) if i >= 20 else None
    if page == "C":
        return 200 + i if i < 10 else None
    if i == 0:
        return 300
    return 400 + (i - 45) if i >= 45 else None


@pytest.fixture
def store(engine: Engine) -> Engine:
    with transaction(engine) as s:
        province = Unit(code="40", name="Tỉnh Nghệ An", level="province", active=True,
                        created_at=CREATED, updated_at=CREATED)
        s.add(province)
        s.flush()
        for name in "ABCD":
            unit = Unit(code=f"40{name}", name=f"Xã {name}", level="commune",
                        parent_id=province.id, active=True, created_at=CREATED,
                        updated_at=CREATED)
            s.add(unit)
            s.flush()
            page = Page(ref=f"page{name}", unit_id=unit.id, name=f"Trang {name}",
                        active=name != "C", created_at=CREATED)
            s.add(page)
            s.flush()
            for i in range(N_DAYS):
                value = followers(name, i)
                if value is not None:
                    day = D0 + dt.timedelta(days=i)
                    s.add(PageSnapshot(page_id=page.id, day=day, followers_count=value,
                                       fan_count=value,
                                       collected_at=dt.datetime.combine(day, dt.time(13),
                                                                        dt.UTC)))
    return engine


def province_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM units WHERE code = '40'")).scalar_one())


def calculator(engine: Engine) -> Calculator:
    return Calculator(load_store(engine, D0, END))


def test_a_page_joining_moves_the_level_not_the_change(store: Engine) -> None:
    calc = calculator(store)
    series = calc.series(calc.subtree_pages(province_id(store)))
    day20 = 20
    # The level steps by B's 5000; the change is A's +10 only (C and D are carried, +0).
    assert series.followers[day20] - series.followers[day20 - 1] == 5000 + 10  # type: ignore[operator]
    assert series.net_change[day20] == 10
    assert series.joined[day20] == 1 and series.left[day20] == 0
    # C (no longer collected) leaves on D10, D (carry over) on D31: no loss in the change.
    assert series.left[10] == 1 and series.net_change[10] == 10
    assert series.left[31] == 1 and series.net_change[31] == 10 + 5
    # D is back on D45 after 45 days: a joiner again, its +100 counts on no day.
    assert series.joined[45] == 1 and series.net_change[45] == 10 + 5
    assert sum(series.joined) == 2 and sum(series.left) == 2


def test_period_change_counts_pages_read_at_both_ends(store: Engine) -> None:
    calc = calculator(store)
    pages = calc.subtree_pages(province_id(store))
    period = calc.headline(pages).period_change
    assert period is not None and period.days == N_DAYS - 1
    # A and D have a figure on D0 and on D49; B joined, C left.
    assert period.pages_counted == 2
    assert period.absolute == 10 * 49 + (404 - 300)
    assert [p.name for p in period.joined] == ["Trang B"]
    assert [p.name for p in period.left] == ["Trang C"]
    week = calc.headline(pages).change(7)
    # Over the last 7 days D is a joiner: out of the roll-up on D42, back since D45.
    assert week.pages_counted == 2 and [p.name for p in week.joined] == ["Trang D"]
    assert week.absolute == 70 + 35


def test_the_view_and_the_report_agree(store: Engine) -> None:
    unit = province_id(store)
    calc = calculator(store)
    series = calc.series(calc.subtree_pages(unit))
    with store.connect() as conn:
        view = dict(conn.execute(text(
            "SELECT day, followers_change FROM unit_daily WHERE unit_id = :u"
        ).columns(day=Date), {"u": unit}).all())
        page_d = dict(conn.execute(text(
            "SELECT day, followers_change FROM page_daily WHERE page_ref = 'pageD'"
        ).columns(day=Date)).all())
    assert page_d[D0 + dt.timedelta(days=45)] == 100  # a Page's own change: since its last read
    assert view[D0 + dt.timedelta(days=45)] == 15  # the unit's: like-for-like
    for day, change in zip(series.days, series.net_change, strict=True):
        assert view.get(day) == change, day
    # The level a query reads is the report's on a day every Page in the roll-up was read.
    with store.connect() as conn:
        level = conn.execute(text(
            "SELECT followers FROM unit_daily WHERE unit_id = :u AND day = :d"
        ), {"u": unit, "d": END}).scalar_one()
    assert level == series.followers[-1]


def test_the_report_says_how_many_pages_and_lists_joiners(store: Engine,
                                                          tmp_path: Path) -> None:
    build_reports(store, tmp_path / "out", date_from=D0, date_to=END,
                  now=dt.datetime.combine(END, dt.time(6), dt.UTC))
    province = next(p for p in (tmp_path / "out").glob("u-*.html") if "Tỉnh Nghệ An" in
                    p.read_text(encoding="utf-8").split("<h1", 1)[-1][:400])
    page = province.read_text(encoding="utf-8")
    assert "tính trên 2/4 Trang có số liệu ở cả hai đầu kỳ" in page
    assert "1 Trang bắt đầu được đọc" in page and "Trang B" in page
    assert "1 Trang ngừng được đọc" in page and "Trang C" in page
    assert "Thay đổi trong giai đoạn" in page


def test_the_chart_marks_the_days_pages_joined_or_left(store: Engine) -> None:
    calc = calculator(store)
    series = calc.series(calc.subtree_pages(province_id(store)))
    figure = followers_figure(series, Lang("vi"))
    marks = next(t for t in figure.data if t.type == "scatter" and t.mode == "markers")
    days = [D0 + dt.timedelta(days=i) for i in (10, 20, 31, 45)]
    assert list(marks.x) == [d.isoformat() for d in days]
    assert list(marks.customdata) == ["1 Trang ngừng được đọc", "1 Trang bắt đầu được đọc",
                                      "1 Trang ngừng được đọc", "1 Trang bắt đầu được đọc"]
    bars = next(t for t in figure.data if t.type == "bar")
    assert bars.y[20] == 10  # the bar of the day B joined: A's growth only
