"""The Excel workbooks beside the pages (reports/export.py): opened with openpyxl, they hold the
page's figures, typed (numbers, dates, percentages), and Facebook's text stays text."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fanpulse.reports.build import build_reports
from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import CARRY_DAYS, CHANGE_WINDOWS, Calculator
from fanpulse.reports.overview import leaderboards
from fanpulse.reports.publish import FolderRefused, check_replaceable
from fanpulse.reports.queries import LOCAL_TZ, load_store
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.models import Page, Post, Unit
from tests.reports.conftest import NOW, XSS_MESSAGE, BuiltReports, seed_store

VI = Lang("vi")
FORMULA_PAGE = "=HYPERLINK(\"http://x\",\"Mặt trận Tổ quốc xã Đô Lương\")"
FORMULA_POST = "@SUM(1+1) +cmd|' /C calc'!A0 – Ủy ban Mặt trận, đoàn kết"


def calculator(engine: Engine, summary: Any) -> Calculator:
    """The same numbers build_reports computed (the same period and load)."""
    audience_from = min(summary.date_from, summary.date_to - dt.timedelta(days=max(CHANGE_WINDOWS)))
    return Calculator(load_store(engine, summary.date_from, summary.date_to,
                                 audience_from=audience_from - dt.timedelta(days=CARRY_DAYS)))


def rows(ws: Worksheet) -> list[dict[str, Any]]:
    """The sheet's rows as {header: cell}."""
    table = list(ws.iter_rows())
    header = [c.value for c in table[0]]
    return [dict(zip(header, row, strict=True)) for row in table[1:]]


def unit_id(engine: Engine, level: str) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(select(Unit.id, Unit.code).where(Unit.level == level)
                           .order_by(Unit.code)).first()
    assert row is not None
    return int(row[0]), str(row[1])


def test_every_page_has_its_workbook_linked(built: BuiltReports) -> None:
    for page in built.html_files():
        xlsx = page.with_suffix(".xlsx")
        assert xlsx.is_file(), xlsx.name
        assert f'href="{xlsx.name}" download>Tải bảng (Excel)</a>' in page.read_text("utf-8")
    check_replaceable(built.out)  # a report folder with its workbooks is still a report folder


def test_district_workbook_holds_the_page_figures(built: BuiltReports,
                                                  built_engine: Engine) -> None:
    district, code = unit_id(built_engine, "district")
    m = calculator(built_engine, built.summary).unit(district)
    page = built.out / f"u-{code}.html"
    wb = load_workbook(page.with_suffix(".xlsx"))
    assert wb.sheetnames[:3] == ["Số liệu chính", "Bài viết nổi bật", "Đơn vị trực thuộc"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.column_dimensions["A"].width > 5

    # Headline figures: the roll-up and the own Page, as on the page.
    headline = rows(wb["Số liệu chính"])
    assert headline[0]["Phạm vi"].value == "Toàn đơn vị"
    followers = headline[0]["Người theo dõi"]
    assert followers.value == m.rollup.followers and followers.data_type == "n"
    assert followers.number_format == "#,##0"
    assert VI.integer(followers.value) in page.read_text("utf-8")
    as_of = headline[0]["Ngày"]
    assert as_of.is_date and as_of.value.date() == m.rollup.as_of
    assert as_of.number_format == "dd/mm/yyyy"
    change = headline[0]["Thay đổi 30 ngày (%)"]
    assert change.value == pytest.approx(m.rollup.change(30).fraction)
    assert "%" in change.number_format
    assert headline[0]["Tương tác"].value == m.rollup.engagement

    # Units below: every row's figures, in the page's order; the page's data-v values agree.
    children = rows(wb["Đơn vị trực thuộc"])
    assert [r["Đơn vị"].value for r in children] == [r.unit.name for r in m.child_rows]
    for cells, r in zip(children, m.child_rows, strict=True):
        h = r.headline
        assert cells["Người theo dõi"].value == h.followers
        assert cells["Tăng 30 ngày"].value == h.change(30).absolute
        assert cells["Tăng 30 ngày (%)"].value == pytest.approx(h.change(30).fraction)
        if h.posts_known:
            assert cells["Bài viết"].value == h.posts
            assert cells["Tương tác"].value == h.engagement
        else:  # "–" on the page: an empty cell, never 0
            assert cells["Bài viết"].value is None and cells["Tương tác"].value is None
        assert cells["Tỷ lệ tương tác (‰)"].value == pytest.approx(h.engagement_rate)
        if r.last_post is not None and not r.posts_unreadable:
            assert cells["Bài gần nhất"].value.date() == r.last_post.astimezone(LOCAL_TZ).date()
    html = page.read_text("utf-8")
    table = html[html.index('<section id="children">'):html.index('<section id="coverage">')]
    followers_cell = r'<td class="n" data-v="(-?\d+)">[\d.–]+</td>\s*<td class="n '
    shown = [int(v) for v in re.findall(followers_cell, table)]
    assert shown and shown == [c["Người theo dõi"].value for c in children
                     if c["Người theo dõi"].value is not None]

    # Top posts: engagement and reactions as numbers, the day as a date.
    posts = rows(wb["Bài viết nổi bật"])
    assert posts
    assert [c["Tương tác"].value for c in posts] == [p.engagement for p, _ in m.top_posts]
    assert all(c["Tương tác"].data_type == "n" for c in posts)
    assert [c["Ngày"].value.date() for c in posts] == [p.local_day for p, _ in m.top_posts]

    # Coverage: the Pages not fully readable, worst first, with what to do.
    access = rows(wb["Trang chưa đọc được đầy đủ"])
    assert access
    assert [c["Trang"].value for c in access] == [s.page.name or s.page.ref
                                                  for s in m.coverage.access]
    assert all(c["Việc cần làm"].value for c in access)


def test_index_workbook_holds_the_leaderboards_and_tree(built: BuiltReports,
                                                        built_engine: Engine) -> None:
    calc = calculator(built_engine, built.summary)
    wb = load_workbook(built.out / "index.xlsx")
    assert {"Tăng trưởng nhanh nhất", "Tương tác tốt nhất", "Im lặng lâu nhất",
            "Cây đơn vị", "Trang chưa đọc được đầy đủ"} <= set(wb.sheetnames)
    boards = leaderboards(calc, list(calc.data.units.values()))
    growth = rows(wb["Tăng trưởng nhanh nhất"])
    assert growth
    assert [c["Đơn vị"].value for c in growth] == [u.name for u, _ in boards["growth"]]
    assert [c["Tăng 30 ngày (%)"].value for c in growth] == pytest.approx(
        [h.change(30).fraction for _, h in boards["growth"]])
    engaging = rows(wb["Tương tác tốt nhất"])
    assert [c["Tỷ lệ tương tác (‰)"].value for c in engaging] == pytest.approx(
        [h.engagement_rate for _, h in boards["engaging"]])
    assert all(c["Tỷ lệ tương tác (‰)"].number_format == "0.00" for c in engaging)
    silent = rows(wb["Im lặng lâu nhất"])
    assert [c["Đơn vị"].value for c in silent] == [u.name for u, _ in boards["silent"]]

    tree = rows(wb["Cây đơn vị"])
    assert len(tree) == len(calc.data.units)
    root = next(u for u in calc.data.units.values() if u.parent_id is None)
    assert tree[0]["Đơn vị"].value == root.name and tree[0]["Loại đơn vị"].value == "Tỉnh"
    rollup = calc.headline(calc.subtree_pages(root.id))
    assert tree[0]["Người theo dõi"].value == rollup.followers
    assert rows(wb["Số liệu chính"])[0]["Người theo dõi"].value == rollup.followers
    index = (built.out / "index.html").read_text("utf-8")
    assert VI.integer(rollup.followers) in index
    # Vietnamese names round-trip exactly.
    names = {u.name for u in calc.data.units.values()}
    assert {c["Đơn vị"].value for c in tree} == names
    assert any(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", n)
               for n in names)


@pytest.fixture(scope="module")
def formula_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store whose Page name and post text look like spreadsheet formulas."""
    root = tmp_path_factory.mktemp("xlsx")
    engine = make_engine(f"sqlite:///{root / 'store.db'}")
    ensure_schema(engine)
    seed_store(engine)
    with transaction(engine) as s:
        page = s.scalars(select(Page).where(Page.access == "audience").order_by(Page.id)).first()
        assert page is not None
        page.name = FORMULA_PAGE
        post = s.scalars(select(Post).where(Post.message == XSS_MESSAGE)).one()
        post.message = FORMULA_POST + "\x00\x07"  # control characters XML cannot hold
    build_reports(engine, root / "reports", now=NOW, lang="vi")
    build_reports(engine, root / "reports-en", now=NOW, lang="en")
    engine.dispose()
    yield root


def test_formula_looking_text_stays_text(formula_reports: Path) -> None:
    path = formula_reports / "reports" / "index.xlsx"
    wb = load_workbook(path)
    access = rows(wb["Trang chưa đọc được đầy đủ"])
    cell = next(c["Trang"] for c in access if c["Trang"].value == FORMULA_PAGE)
    assert cell.data_type == "s"
    with zipfile.ZipFile(path) as z:  # no formula anywhere in the file
        assert not any("<f>" in z.read(n).decode("utf-8") for n in z.namelist()
                       if n.startswith("xl/worksheets/"))

    province = next(p for p in (formula_reports / "reports").glob("u-*.xlsx")
                    if "Đơn vị trực thuộc" in load_workbook(p, read_only=True).sheetnames
                    and "Bài viết nổi bật" in load_workbook(p, read_only=True).sheetnames
                    and any(c["Nội dung"].value == FORMULA_POST
                            for c in rows(load_workbook(p)["Bài viết nổi bật"])))
    post = next(c["Nội dung"] for c in rows(load_workbook(province)["Bài viết nổi bật"])
                if c["Nội dung"].value == FORMULA_POST)
    assert post.data_type == "s"


def test_english_workbook(formula_reports: Path) -> None:
    wb = load_workbook(formula_reports / "reports-en" / "index.xlsx")
    assert "Fastest growing" in wb.sheetnames
    first = rows(wb["Headline figures"])[0]
    assert first["Followers"].data_type == "n"
    assert first["Date"].number_format == "yyyy-mm-dd"
    html = (formula_reports / "reports-en" / "index.html").read_text("utf-8")
    assert 'href="index.xlsx" download>Download tables (Excel)</a>' in html


def test_a_workbook_is_a_report_file_only_beside_its_page(tmp_path: Path) -> None:
    for name in ("index.html", "plotly.min.js", "u-1.html", "u-1.xlsx", "index.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    check_replaceable(tmp_path)
    (tmp_path / "budget.xlsx").write_bytes(b"numbers")
    with pytest.raises(FolderRefused, match=r"\(budget.xlsx\)"):
        check_replaceable(tmp_path)


def test_the_same_store_and_now_give_the_same_bytes(formula_reports: Path,
                                                    tmp_path: Path) -> None:
    """A workbook carries the build's now (properties and zip entries), never the clock."""
    engine = make_engine(f"sqlite:///{formula_reports / 'store.db'}")
    build_reports(engine, tmp_path / "again", now=NOW, lang="vi")
    engine.dispose()
    books = sorted((formula_reports / "reports").glob("*.xlsx"))
    assert books
    for path in books:
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    stamp = NOW.astimezone(dt.UTC).replace(tzinfo=None)
    with zipfile.ZipFile(books[0]) as z:
        assert z.testzip() is None
        assert {i.date_time for i in z.infolist()} == {stamp.timetuple()[:6]}
    props = load_workbook(books[0]).properties
    assert props.creator == "fanpulse"
    assert props.created == props.modified == stamp


def test_cells_of_every_kind(tmp_path: Path) -> None:
    """None is empty, text stays text (cut at 32,767, without XML's illegal characters), dates
    and moments as dates, numbers with their formats; sheet names Excel accepts, unique."""
    from fanpulse.reports.export import EXCEL_MAX_CHARS, _Book

    book = _Book(VI, NOW)
    columns = [("Chữ", "text"), ("Số", "int"), ("Tăng", "signed"), ("%", "pct"),
               ("Tỷ lệ", "rate"), ("Ngày", "date"), ("Lúc", "datetime")]
    book.sheet("a/b:c*d?e[f]g\\h " + "x" * 40, columns, [
        ["-1+2", 163180, -5, 0.125, 1.5, dt.date(2026, 9, 1), NOW],
        ["x" * 40_000 + "\x01", None, None, None, None, None, None],
        ["", None, None, None, None, None, None],
        ["\x00ok\x1f", 0, 0, 0.0, 0.0, None, None],
    ])
    book.sheet("A/B:C*D?E[F]G\\H " + "X" * 40, columns[:1], [])
    book.save(tmp_path / "t.xlsx")
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["a b c d e f g h xxxxxxxxxxxxxxx", "A B C D E F G H XXXXXXXXXXX (2)"]
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2" and ws["A1"].font.b and ws["G1"].font.b
    first, long, blank, small = rows(ws)
    assert first["Chữ"].value == "-1+2" and first["Chữ"].data_type == "s"
    assert [first[h].number_format for h in ("Số", "Tăng", "%", "Tỷ lệ")] == [
        "#,##0", "+#,##0;-#,##0;0", "+0.0%;-0.0%;0.0%", "0.00"]
    assert [first[h].value for h in ("Số", "Tăng", "%", "Tỷ lệ")] == [163180, -5, 0.125, 1.5]
    assert first["Ngày"].value == dt.datetime(2026, 9, 1)
    assert first["Ngày"].number_format == "dd/mm/yyyy"
    assert first["Lúc"].value == dt.datetime(2026, 11, 25, 12, 0)  # Vietnam time
    assert first["Lúc"].number_format == "dd/mm/yyyy hh:mm"
    assert long["Chữ"].value == "x" * EXCEL_MAX_CHARS
    assert all(long[h].value is None for h, _ in columns[1:])
    assert small["Chữ"].value == "ok" and small["Số"].value == 0 and small["Số"].data_type == "n"
    assert all(cell.value is None for cell in blank.values())
    # Widths by column number (<col min max> may span neighbours of the same width).
    widths = {n: d.width for d in ws.column_dimensions.values() if d.min
              for n in range(d.min, d.max + 1)}
    assert widths == {1: 60, 2: len("163,180") + 1 + 2, 3: 6, 4: 10, 5: 10, 6: 12, 7: 18}

    empty = _Book(Lang("en"), NOW)
    empty.save(tmp_path / "empty.xlsx")
    assert load_workbook(tmp_path / "empty.xlsx").sheetnames == ["-"]
