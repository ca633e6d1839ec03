"""Reports by calendar period (issue 11): months, quarters, years, against the period before and
the same period a year earlier, on SQLite and PostgreSQL.

A hand-made store, 1 October 2025 to 25 November 2026 ("today" is 25/11/2026, noon in Vietnam):

    40 Tỉnh Nghệ An (province)  Page P: 10,000 + 3 a day, read every day except March 2026
    ├── Xã A (commune)          Page A: 1,000 + 2 a day, likewise; one post every 3rd day
    └── Xã B (commune)          Page B: first read on 10/11/2026 (joins mid-month), 5,000 + 5 a day

March 2026 has no snapshot and no post at all: a month with no data.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from fanpulse.cli import cli
from fanpulse.reports.build import ReportError, build_reports
from fanpulse.reports.compare import spans
from fanpulse.reports.cycle import due_periods, refresh_reports
from fanpulse.reports.metrics import Calculator
from fanpulse.reports.periods import MONTH, QUARTER, YEAR, Period, PeriodError, latest_keys
from fanpulse.reports.queries import data_span, load_store
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot, Post, PostSnapshot, Unit

FIRST = dt.date(2025, 10, 1)
TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)  # 12:00 in Vietnam
B_JOINS = dt.date(2026, 11, 10)
CREATED = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def no_data(day: dt.date) -> bool:
    return day.year == 2026 and day.month == 3


def followers(page: str, day: dt.date) -> int | None:
    i = (day - FIRST).days
    if no_data(day) or day > TODAY:
        return None
    if page == "P":
        return 10_000 + 3 * i
    if page == "A":
        return 1_000 + 2 * i
    return 5_000 + 5 * (day - B_JOINS).days if day >= B_JOINS else None


def post_days(page: str) -> list[dt.date]:
    """A posts every third day (at 09:00 Vietnam time), P every day, B never."""
    step = {"A": 3, "P": 1}.get(page)
    if step is None:
        return []
    days = [FIRST + dt.timedelta(days=k) for k in range(0, (TODAY - FIRST).days + 1, step)]
    return [d for d in days if not no_data(d)]


def engagement(page: str, day: dt.date) -> int:
    return (day.day % 7) + (20 if page == "P" else 4)


@pytest.fixture
def store(engine: Engine) -> Engine:
    with transaction(engine) as s:
        province = Unit(code="40", name="Tỉnh Nghệ An", level="province", active=True,
                        created_at=CREATED, updated_at=CREATED)
        s.add(province)
        s.flush()
        owners = {"P": province}
        for name in "AB":
            unit = Unit(code=f"40{name}", name=f"Xã {name}", level="commune",
                        parent_id=province.id, active=True, created_at=CREATED,
                        updated_at=CREATED)
            s.add(unit)
            s.flush()
            owners[name] = unit
        for name, unit in owners.items():
            page = Page(ref=f"page{name}", unit_id=unit.id, name=f"Trang {name}", active=True,
                        created_at=CREATED, access="full", posts_readable=True)
            s.add(page)
            s.flush()
            day = FIRST
            while day <= TODAY:
                value = followers(name, day)
                if value is not None:
                    s.add(PageSnapshot(page_id=page.id, day=day, followers_count=value,
                                       fan_count=value, collected_at=dt.datetime.combine(
                                           day, dt.time(13), dt.UTC)))
                day += dt.timedelta(days=1)
            for k, day in enumerate(post_days(name)):
                created = dt.datetime.combine(day, dt.time(2), dt.UTC)  # 09:00 in Vietnam
                seen = created + dt.timedelta(hours=10)
                post = Post(graph_id=f"{name}_{k}", page_id=page.id, created_time=created,
                            message=f"Bài {k}", first_seen_at=seen, last_seen_at=seen)
                s.add(post)
                s.flush()
                s.add(PostSnapshot(post_id=post.id, day=day, collected_at=seen,
                                   reactions=engagement(name, day), comments=0, shares=0,
                                   reactions_like=engagement(name, day)))
    return engine


def unit_page(folder: Path, name: str) -> str:
    for path in folder.glob("u-*.html"):
        text = path.read_text(encoding="utf-8")
        if f"<h1>{name} " in text:
            return text
    raise AssertionError(f"no page for {name} in {folder}")


def expected_posts(first: dt.date, last: dt.date, pages: str = "PAB") -> tuple[int, int]:
    days = [(p, d) for p in pages for d in post_days(p) if first <= d <= last]
    return len(days), sum(engagement(p, d) for p, d in days)


# --- the calendar ----------------------------------------------------------------------------

def test_periods_are_read_written_and_compared_as_staff_write_them() -> None:
    assert Period.parse(MONTH, "2026-11") == Period.parse(MONTH, "11/2026") \
        == Period.month(2026, 11)
    assert Period.parse(QUARTER, "2026-Q4") == Period.parse(QUARTER, "q4/2026")
    assert Period.parse(YEAR, "2026").end == dt.date(2026, 12, 31)
    for kind, bad in ((MONTH, "2026-13"), (MONTH, "Nov 2026"), (QUARTER, "2026-Q5"),
                      (YEAR, "26")):
        with pytest.raises(PeriodError):
            Period.parse(kind, bad)
    nov = Period.month(2026, 11)
    assert (nov.label("vi"), nov.label("en")) == ("Tháng 11/2026", "November 2026")
    assert Period.quarter(2026, 4).label("vi") == "Quý IV/2026"
    assert nov.previous() == Period.month(2026, 10)
    assert nov.year_before() == Period.month(2025, 11)
    assert Period.month(2026, 1).previous() == Period.month(2025, 12)
    assert Period.quarter(2026, 1).previous() == Period.quarter(2025, 4)
    assert nov.key == "2026-11" and nov.folder == "periods/2026-11"
    assert Period.from_key("2026-Q4") == Period.quarter(2026, 4)
    assert latest_keys(["2026-10", "2026-11", "2026-Q3", "2025", "2026", "junk"]) == {
        MONTH: "2026-11", QUARTER: "2026-Q3", YEAR: "2026"}
    # An ongoing month is compared over the same number of days.
    now, before, year = spans(nov, TODAY)
    assert (now.date_from, now.date_to, now.partial) == (dt.date(2026, 11, 1), TODAY, True)
    assert (before.date_from, before.date_to) == (dt.date(2026, 10, 1), dt.date(2026, 10, 25))
    assert (year.date_from, year.date_to) == (dt.date(2025, 11, 1), dt.date(2025, 11, 25))
    # A complete month against whole months.
    oct_, sep, _ = spans(Period.month(2026, 10), TODAY)
    assert not oct_.partial and (sep.date_from, sep.date_to) == (dt.date(2026, 9, 1),
                                                                  dt.date(2026, 9, 30))
    assert Period.month(2026, 10).complete(TODAY) and not nov.complete(TODAY)


# --- a month's report ------------------------------------------------------------------------

def test_a_month_with_a_page_joining_mid_month(store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "periods" / "2026-11"
    summary = build_reports(store, out, period=Period.month(2026, 11), now=NOW)
    assert (summary.date_from, summary.date_to) == (dt.date(2026, 11, 1), TODAY)
    info = json.loads((out / "period.json").read_text())
    assert info["key"] == "2026-11" and info["complete"] is False

    data = load_store(store, dt.date(2026, 11, 1), TODAY,
                      audience_from=dt.date(2026, 10, 1))
    calc = Calculator(data)
    province = next(u for u in data.units.values() if u.parent_id is None)
    h = calc.headline(calc.subtree_pages(province.id))
    # The month's change counts P and A from 31/10 to 25/11; B joined on 10/11 and adds none.
    change = h.period_change
    assert change is not None
    oct31 = dt.date(2026, 10, 31)
    expected = sum(followers(p, TODAY) - followers(p, oct31) for p in "PA")  # type: ignore[operator]
    assert change.absolute == expected and change.pages_counted == 2
    assert [p.name for p in change.joined] == ["Trang B"]
    assert h.followers == sum(followers(p, TODAY) or 0 for p in "PAB")

    page = unit_page(out, "Tỉnh Nghệ An")
    vi = f"{expected:,}".replace(",", ".")
    assert "Tháng 11/2026</b> (đang diễn ra)" in page
    assert f"Trong kỳ tăng {vi} người" in page  # the summary paragraph
    assert "tính trên 2/3 Trang có số liệu đầu và cuối kỳ" in page
    assert "1 Trang bắt đầu được đọc" in page and "Trang B" in page
    # The comparison: 1–25/11/2026 against 1–25/10/2026 and 1–25/11/2025.
    assert "Tháng 10/2026 (01/10–25/10)" in page and "Tháng 11/2025 (01/11–25/11)" in page
    posts_now, eng_now = expected_posts(dt.date(2026, 11, 1), TODAY)
    posts_oct, _ = expected_posts(dt.date(2026, 10, 1), dt.date(2026, 10, 25))
    assert f"số bài {posts_now} so với {posts_oct}" in page
    assert h.posts == posts_now and h.engagement == eng_now
    # Followers against the end of the previous span, like for like (B was not read then).
    oct25 = dt.date(2026, 10, 25)
    vs_prev = sum(followers(p, TODAY) - followers(p, oct25) for p in "PA")  # type: ignore[operator]
    assert f"người theo dõi +{vs_prev:,}".replace(",", ".") in page

    # The workbook holds the comparison as numbers.
    book = load_workbook(out / _xlsx_of(out, "Tỉnh Nghệ An"), read_only=True)
    rows = {r[0]: r for r in book["So sánh"].iter_rows(values_only=True) if r}
    book.close()
    assert rows["Bài viết"][1] == posts_now and rows["Bài viết"][2] == posts_oct
    assert any(str(key).startswith("Tháng 11/2026") for key in rows)  # the summary paragraph


def _xlsx_of(folder: Path, name: str) -> str:
    for path in folder.glob("u-*.html"):
        if f"<h1>{name} " in path.read_text(encoding="utf-8"):
            return path.with_suffix(".xlsx").name
    raise AssertionError(name)


def test_a_month_without_data_shows_no_zeros(store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "march"
    build_reports(store, out, period=Period.month(2026, 3), now=NOW)
    page = unit_page(out, "Tỉnh Nghệ An")
    assert "không có số liệu trong giai đoạn" in page
    assert "Không Trang nào của đơn vị được thu thập trong giai đoạn này" in page
    assert 'class="value unknown">–<' in page
    assert 'class="value ">0<' not in page and ">0</div>" not in page
    # The charts say there is nothing to draw instead of a −1…4 axis.
    assert page.count("không có số liệu trong giai đoạn") >= 3
    # The comparison leaves no figure of its own and says why, once.
    assert "Tháng 3/2026: chưa có số liệu" in page
    # The workbook: unknown is an empty cell, never 0.
    book = load_workbook(out / _xlsx_of(out, "Tỉnh Nghệ An"), read_only=True)
    head = list(book["Số liệu chính"].iter_rows(values_only=True))
    book.close()
    columns = dict(zip(head[0], head[1], strict=True))
    assert columns["Bài viết"] is None and columns["Tương tác"] is None


def test_the_year_before_without_data_is_said_not_zero(store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "oct25"
    build_reports(store, out, period=Period.month(2025, 10), now=NOW)
    page = unit_page(out, "Tỉnh Nghệ An")
    assert "Chưa có số liệu Tháng 9/2025 để so sánh." in page
    assert "Chưa có số liệu Tháng 10/2024 để so sánh." in page


def test_periods_that_have_not_begun_or_clash_are_refused(store: Engine,
                                                          tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="has not begun"):
        build_reports(store, tmp_path / "x", period=Period.month(2026, 12), now=NOW)
    with pytest.raises(ReportError, match="not both"):
        build_reports(store, tmp_path / "x", period=Period.month(2026, 11),
                      date_from=dt.date(2026, 11, 1), now=NOW)


def test_the_default_period_starts_with_the_data(store: Engine, tmp_path: Path) -> None:
    assert data_span(store) == (FIRST, TODAY)
    summary = build_reports(store, tmp_path / "d", date_to=dt.date(2025, 11, 15), now=NOW)
    assert summary.date_from == FIRST  # not 90 days before 15/11/2025
    index = (tmp_path / "d" / "index.html").read_text(encoding="utf-8")
    assert "01/10/2025 – 15/11/2025" in index
    summary = build_reports(store, tmp_path / "e", now=NOW)
    assert summary.date_from == TODAY - dt.timedelta(days=89)


# --- the cycle: what the nightly job keeps ---------------------------------------------------

def test_the_nightly_cycle_builds_freezes_and_keeps_the_periods(store: Engine,
                                                                tmp_path: Path) -> None:
    base = tmp_path / "reports"
    refresh_reports(store, base, now=NOW)
    periods = base / "periods"
    months = sorted(p.name for p in periods.iterdir() if len(p.name) == 7 and "Q" not in p.name)
    assert months[0] == "2025-10" and months[-1] == "2026-11" and len(months) == 14
    assert {"2025-Q4", "2026-Q4", "2025", "2026"} <= {p.name for p in periods.iterdir()}
    index = (base / "index.html").read_text(encoding="utf-8")
    for link in ("periods/2026-11/index.html", "periods/2026-Q4/index.html",
                 "periods/2026/index.html"):
        assert f'href="{link}"' in index
    october = json.loads((periods / "2026-10" / "period.json").read_text())
    assert october["complete"] is True
    # One plotly.min.js on disk, hard-linked into every period folder.
    assert (periods / "2026-10" / "plotly.min.js").stat().st_nlink > 10
    # A period links back to the main report and to its neighbour.
    nov_index = (periods / "2026-11" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../index.html"' in nov_index and 'href="../2026-10/index.html"' in nov_index

    # The next night: only what is under way is built again; a complete month stays frozen,
    # and replacing the main report keeps the period folders.
    later = NOW + dt.timedelta(hours=20)
    assert [p.key for p in due_periods(base, TODAY + dt.timedelta(days=0), data_span(store))] \
        == ["2026", "2026-Q4", "2026-11"]
    refresh_reports(store, base, now=later)
    assert json.loads((periods / "2026-10" / "period.json").read_text()) == october
    assert json.loads((periods / "2026-11" / "period.json").read_text())["generated"] \
        == later.isoformat()
    assert (periods / "2026-10" / "index.html").is_file()

    # The first night after November: November is built one last time, complete.
    december = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)
    due = [p.key for p in due_periods(base, dt.date(2026, 12, 1), data_span(store))]
    assert "2026-11" in due and "2026-12" in due and "2026-10" not in due
    refresh_reports(store, base, now=december)
    assert json.loads((periods / "2026-11" / "period.json").read_text())["complete"] is True


def test_report_command_writes_a_month_into_the_periods_folder(store: Engine,
                                                               tmp_path: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    base = tmp_path / "r"
    runner = CliRunner()
    result = runner.invoke(cli, ["--database-url", url, "report", "--month", "2025-11",
                                 "--out", str(base / "m")])
    assert result.exit_code == 0, result.output
    assert (base / "m" / "period.json").is_file()
    assert "November 2025" in result.output
    bad = runner.invoke(cli, ["--database-url", url, "report", "--month", "2025-13"])
    assert bad.exit_code == 2 and "not a month" in bad.output
    both = runner.invoke(cli, ["--database-url", url, "report", "--month", "2025-11",
                               "--year", "2025"])
    assert both.exit_code == 2 and "give one of" in both.output
