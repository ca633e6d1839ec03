"""What the token can read of each Page (pages.access), in the numbers and on the pages."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.reports.build import DEFAULT_DAYS, build_reports
from fanpulse.reports.i18n import Lang, sort_key
from fanpulse.reports.metrics import (
    CARRY_DAYS,
    AccessSplit,
    Calculator,
    action_key,
    insights_key,
    posts_key,
)
from fanpulse.reports.queries import PageInfo, load_store
from tests.reports.conftest import END, NOW, XSS_PAGE_NAME, BuiltReports

FROM = END - dt.timedelta(days=DEFAULT_DAYS - 1)
VI = Lang("vi")
SPLIT_VI = {"full": "{n} Trang đầy đủ", "partial": "{n} thiếu insights",
            "audience": "{n} chỉ lượt thích/theo dõi", "unreachable": "{n} không truy cập được",
            "unknown": "{n} chưa kiểm tra"}
SHARE_VI = ("Đề nghị quản trị viên Trang chia sẻ Trang với Business Manager của tỉnh (đối tác, "
            "quyền Phân tích/Analyze)")


def calculator(engine: Engine) -> Calculator:
    return Calculator(load_store(engine, FROM, END,
                                 audience_from=END - dt.timedelta(days=90 + CARRY_DAYS)))


def split_in_sql(engine: Engine, unit_id: int) -> AccessSplit:
    """The access split of a unit's active Pages, counted straight from the tables."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT COALESCE(p.access, 'unknown') AS level, COUNT(*) FROM pages p "
            "JOIN unit_descendants d ON d.unit_id = p.unit_id "
            "WHERE d.ancestor_id = :u AND p.active = TRUE GROUP BY COALESCE(p.access, 'unknown')"
        ), {"u": unit_id}).all()
    return AccessSplit(**{level: int(n) for level, n in rows})


def unit_ids(engine: Engine, level: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(i, c) for i, c in conn.execute(text(
            "SELECT id, code FROM units WHERE level = :l ORDER BY code"), {"l": level})]


def audience_page(engine: Engine) -> tuple[int, str, str, str, str]:
    """(page id, page name, unit code, unit name, parent code) of the first audience-only Page:
    the one with a posts_unreadable gap in the latest run."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT p.id, p.name, u.code, u.name, pu.code FROM pages p "
            "JOIN units u ON u.id = p.unit_id JOIN units pu ON pu.id = u.parent_id "
            "WHERE p.access = 'audience' ORDER BY p.id"
        )).first()
    assert row is not None
    return row[0], row[1], row[2], row[3], row[4]


def plain(html: str) -> str:
    """Text of an HTML fragment: tags and ⓘ definitions removed, spaces collapsed."""
    html = re.sub(r"<details><summary class=\"info\".*?</details>", "", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def split_lines(html: str) -> list[str]:
    return [plain(m) for m in re.findall(r'<div class="split"[^>]*>(.*?)</div>', html, re.S)]


def expected_line(split: AccessSplit) -> str:
    parts = [SPLIT_VI[key].format(n=VI.integer(n)) for key, n in split.items()]
    return "Mức truy cập: " + " · ".join(parts)


def section(html: str, start: str, end: str = "</details>") -> str:
    i = html.index(start)
    return html[i:html.index(end, i)]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- numbers ----------------------------------------------------------------------------------

def test_split_matches_the_store(store: Engine) -> None:
    calc = calculator(store)
    province = unit_ids(store, "province")
    for unit_id, _code in province + unit_ids(store, "district"):
        split = calc.headline(calc.subtree_pages(unit_id)).access
        assert split == split_in_sql(store, unit_id)
    root = calc.headline(calc.subtree_pages(province[0][0])).access
    # The generator's shape: most Pages full, some audience-only, one unreachable; the test
    # store adds a partial Page and one not yet checked.
    assert root.full > root.audience > 0 and root.unreachable == 1
    assert root.partial >= 1 and root.unknown == 1
    assert root.total == sum(1 for p in calc.data.pages.values() if p.active)


def test_a_page_whose_posts_cannot_be_read(store: Engine) -> None:
    calc = calculator(store)
    page_id, *_ = audience_page(store)
    page = calc.data.pages[page_id]
    assert page.posts_unreadable
    headline = calc.headline([page])
    assert headline.followers is not None  # its audience is read
    assert not headline.posts_known and headline.posts == 0 and headline.engagement_rate is None
    assert all(w.posts is None for w in calc.weeks([page]))  # gaps, not weeks of 0 posts
    assert calc.top_posts([page]) == [] and calc.last_post([page]) is None
    # The latest run's gap is not a failure.
    assert [e.kind for e in calc.data.gaps[page_id]][-1] == "posts_unreadable"
    assert page_id not in calc.data.errors
    assert page.unit_id is not None
    metrics = calc.unit(page.unit_id)
    coverage = metrics.coverage
    assert [s.page.id for s in coverage.access] == [page_id]
    assert not coverage.failed and not any(coverage.silent.values())
    parent = calc.unit(metrics.unit.parent_id or 0)
    row = next(r for r in parent.child_rows if r.unit.id == page.unit_id)
    assert row.posts_unreadable and row.silent_days is None and row.access.audience == 1


def test_post_figures_leave_out_unreadable_pages(store: Engine) -> None:
    calc = calculator(store)
    root = unit_ids(store, "province")[0][0]
    pages = calc.subtree_pages(root)
    headline = calc.headline(pages)
    with store.connect() as conn:
        unreadable = conn.execute(text(
            "SELECT COUNT(*) FROM pages WHERE posts_readable = FALSE "
            "OR access IN ('audience', 'unreachable')")).scalar_one()
    assert headline.posts_unreadable == unreadable > 0
    assert headline.posts_known and headline.posts == calc.headline(
        [p for p in pages if not p.posts_unreadable]).posts


def page(access: str | None, tasks: tuple[str, ...] = (), posts: bool | None = True,
         insights: str | None = None) -> PageInfo:
    return PageInfo(1, "ref", "name", 1, None, True, None, access, tasks, posts, insights)


@pytest.mark.parametrize(("info", "action", "posts", "insights"), [
    (page("full", ("ANALYZE",), True, "available"), None, "posts_readable", "ins_available"),
    (page("full", ("ANALYZE",), True, "none"), None, "posts_readable", "ins_none"),
    (page("audience", (), False), "act_share", "posts_unreadable", "ins_unavailable"),
    (page("audience", ("CREATE_CONTENT",), False), "act_analyze", "posts_unreadable",
     "ins_unavailable"),
    (page("partial", ("CREATE_CONTENT", "MODERATE"), True, "refused"), "act_analyze",
     "posts_readable", "ins_refused"),
    (page("partial", (), True), "act_share", "posts_readable", "ins_unavailable"),
    (page("partial", ("ANALYZE",), True), "act_read_insights", "posts_readable",
     "ins_unavailable"),
    (page("partial", ("ANALYZE",), True, "refused"), "act_check_insights", "posts_readable",
     "ins_refused"),
    (page("unreachable", (), None), "act_check_ref", "posts_unreadable", "ins_unavailable"),
    (page(None, (), None), "act_wait", "posts_unknown", "ins_unknown"),
])
def test_actions_come_from_the_access_columns(info: PageInfo, action: str | None, posts: str,
                                              insights: str) -> None:
    assert (action_key(info), posts_key(info), insights_key(info)) == (action, posts, insights)
    for key in (action, posts, insights):
        if key is not None:
            assert VI.t(key) and Lang("en").t(key)  # a label in both languages


# --- pages ------------------------------------------------------------------------------------

def test_headlines_show_the_split(built: BuiltReports, built_engine: Engine) -> None:
    (province_id, province_code), = unit_ids(built_engine, "province")
    expected = expected_line(split_in_sql(built_engine, province_id))
    assert "Trang đầy đủ · " in expected and "chỉ lượt thích/theo dõi" in expected
    index = read(built.out / "index.html")
    assert split_lines(index)[0] == expected
    province = read(built.out / f"u-{province_code}.html")
    assert split_lines(province)[0] == expected  # the roll-up; then the province's own Page
    assert split_lines(province)[1] == "Mức truy cập: 1 Trang đầy đủ"
    for unit_id, code in unit_ids(built_engine, "district"):
        page_text = read(built.out / f"u-{code}.html")
        assert split_lines(page_text)[0] == expected_line(split_in_sql(built_engine, unit_id))


def test_an_audience_only_page_shows_why_and_what_to_do(built: BuiltReports,
                                                        built_engine: Engine) -> None:
    _, name, code, unit_name, parent_code = audience_page(built_engine)
    own = read(built.out / f"u-{code}.html")
    coverage = own[own.index('id="coverage"'):]
    assert "Chỉ lượt thích/theo dõi" in coverage and SHARE_VI in coverage
    assert "không đọc được bài viết" in coverage
    assert "chưa có bài" not in own
    assert own.count('<div class="value unknown">–</div>') == 3  # posts, engagement, rate
    assert "Trang thu thập lỗi ở lần chạy gần nhất: 0" in own  # its gap is not a failure
    for silent in ("Trang im lặng từ 30 ngày trở lên: 0", "Trang im lặng từ 14 ngày trở lên: 0"):
        assert silent in own

    parent = read(built.out / f"u-{parent_code}.html")
    row = section(parent, f'<td data-v="{escape(" ".join(sort_key(unit_name)))}">', "</tr>")
    assert "không đọc được bài viết" in row and "Chỉ lượt thích/theo dõi" in row
    assert "im lặng" not in row and "chưa có bài" not in row
    assert row.count('title="không đọc được bài viết">–</td>') == 2  # posts, engagement
    for start in ("Trang im lặng từ 30", "Trang im lặng từ 14"):
        assert str(escape(name)) not in section(parent, start)
    assert str(escape(name)) in section(parent, "Trang chưa đọc được đầy đủ")

    index = read(built.out / "index.html")
    silent_board = section(index, "Im lặng lâu nhất", "</ol>")
    assert f'href="u-{code}.html"' not in silent_board
    access = section(index, 'id="access"', "</section>")
    assert str(escape(name)) in access and SHARE_VI in access


def test_unreachable_partial_and_unchecked_pages_are_listed(built: BuiltReports) -> None:
    access = section(read(built.out / "index.html"), 'id="access"', "</section>")
    rows = re.findall(r"<tr>.*?</tr>", access, re.S)[1:]
    assert "Không truy cập được" in rows[0]  # the worst first
    assert "Kiểm tra lại mã/đường dẫn Trang trong tệp đơn vị" in rows[0]
    partial = next(r for r in rows if "Thiếu số liệu chi tiết (insights)" in r)
    assert "Đề nghị quản trị viên Trang cấp quyền Phân tích (Analyze)" in partial
    assert "Facebook từ chối" in partial
    assert str(escape(XSS_PAGE_NAME)) in partial and "<img" not in access  # escaped
    unchecked = next(r for r in rows if "Chưa kiểm tra" in r)
    assert "Lần thu thập tới sẽ kiểm tra" in unchecked
    assert not any("Đầy đủ" in r for r in rows)


def test_no_insights_means_facebook_has_none(built: BuiltReports) -> None:
    everything = "\n".join(read(p) for p in built.html_files())
    for stale in ("chưa đủ lớn", "too small", "100 likes", "100 lượt thích"):
        assert stale not in everything
    province = read(built.out / "u-P01.html")
    listed = section(province, "Trang Facebook không có số liệu chi tiết (insights):")
    assert "Facebook không có số liệu chi tiết cho Trang này" in listed


def test_definitions_still_render(built: BuiltReports) -> None:
    province = read(built.out / "u-P01.html")
    cards = province.count('<div class="card"')
    infos = province.count('<details><summary class="info" aria-label="?">i</summary><p>')
    splits = province.count('<div class="split"')
    # Every card and split has its ⓘ, and the trends its like-for-like daily change.
    assert cards >= 16 and splits == 2 and infos == cards + splits + 1
    assert "so sánh tương đương" in province
    assert "Những gì fanpulse đọc được của mỗi Trang đang theo dõi." in province


def test_english_labels(built_engine: Engine, tmp_path: Path) -> None:
    _, name, code, _, _ = audience_page(built_engine)
    build_reports(built_engine, tmp_path, lang="en", now=NOW)
    index = read(tmp_path / "index.html")
    line = split_lines(index)[0]
    assert re.fullmatch(r"Access: [\d,]+ full · \d+ without insights · \d+ audience only · "
                        r"1 unreachable · 1 not yet checked", line), line
    access = section(index, 'id="access"', "</section>")
    for label in ("What to do", "Audience only", "posts not readable", "Unreachable",
                  "Ask the Page&#39;s admin to share the Page with the province&#39;s Business "
                  "Manager", "Check the Page&#39;s id or address in the units file"):
        assert label in access
    own = read(tmp_path / f"u-{code}.html")
    assert "posts not readable" in own and "no post since" not in own \
        and "no post yet" not in own
    for vietnamese in ("Chỉ lượt thích", "không đọc được", "Đề nghị", "Mức truy cập"):
        assert vietnamese not in own and vietnamese not in index
