"""Names and words: each unit's own type, "no post since", Vietnamese collation (issue 11)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from fanpulse.reports.build import build_reports
from fanpulse.reports.i18n import Lang, collation_key, sort_key
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.models import Page, PageSnapshot, Post, PostSnapshot, Unit
from fanpulse.storage.synthetic import fill_synthetic

END = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)
DISTRICTS = {"D01": "Huyện Nam Đàn", "D02": "Thành phố Vinh", "D03": "Huyện Đô Lương",
             "D04": "Thị xã Cửa Lò", "D05": "Huyện Diễn Châu", "D06": "Huyện Anh Sơn"}
COMMUNES = {"C00001": "Phường Đông Vĩnh", "C00002": "Xã Nghi Phong",
            "C00003": "Thị trấn Quán Hành"}


@dataclass(frozen=True)
class Built:
    out: Path
    silent_unit: str  # the unit of the Page without posts
    first_day: dt.date  # that Page's first snapshot

    def read(self, name: str) -> str:
        return (self.out / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("names")
    engine = make_engine(f"sqlite:///{root / 'store.db'}")
    ensure_schema(engine)
    fill_synthetic(engine, n_pages=140, days=40, end_day=END, seed=3)
    with transaction(engine) as s:
        s.execute(update(Unit).where(Unit.code == "P01").values(name="Tỉnh Nghệ An"))
        for code, name in (DISTRICTS | COMMUNES).items():
            s.execute(update(Unit).where(Unit.code == code).values(name=name))
        page = s.scalars(
            select(Page).join(Unit, Page.unit_id == Unit.id)
            .where(Unit.level == "commune", Page.access == "full", Page.active.is_(True),
                   Unit.code.not_in(list(COMMUNES)))
            .order_by(Page.id)).first()
        assert page is not None
        unit = s.get(Unit, page.unit_id)
        assert unit is not None
        post_ids = select(Post.id).where(Post.page_id == page.id)
        s.execute(delete(PostSnapshot).where(PostSnapshot.post_id.in_(post_ids)))
        s.execute(delete(Post).where(Post.page_id == page.id))
        first_day = s.execute(select(func.min(PageSnapshot.day))
                              .where(PageSnapshot.page_id == page.id)).scalar_one()
        silent_unit = unit.name
    build_reports(engine, root / "reports", now=NOW)
    engine.dispose()
    yield Built(root / "reports", silent_unit, first_day)


def heading(page: str) -> tuple[str, str]:
    found = re.search(r"<h1>(.*?) <small>\(([^,)]*)", page, re.S)
    assert found is not None
    return html_lib.unescape(found.group(1).strip()), html_lib.unescape(found.group(2))


@pytest.mark.parametrize(("code", "kind"), [
    ("D02", "Thành phố"), ("D04", "Thị xã"), ("D01", "Huyện"), ("C00001", "Phường"),
    ("C00002", "Xã"), ("C00003", "Thị trấn"), ("P01", "Tỉnh"),
])
def test_each_unit_shows_its_own_type(built: Built, code: str, kind: str) -> None:
    name, shown = heading(built.read(f"u-{code}.html"))
    assert shown == kind and name.startswith(kind)


def test_no_level_enum_label_is_left(built: Built) -> None:
    index = html_lib.unescape(built.read("index.html"))
    assert "Thành phố Vinh</a>\n      <span class=\"fig\">Thành phố ·" in index
    assert "Thị xã Cửa Lò</a>\n      <span class=\"fig\">Thị xã ·" in index
    for path in built.out.glob("*.html"):
        text = html_lib.unescape(path.read_text(encoding="utf-8"))
        assert "Thành phố Vinh (Huyện)" not in text and "Thị xã Cửa Lò (Huyện)" not in text
        assert "Phường Đông Vĩnh (Xã)" not in text and "Thị trấn Quán Hành (Xã)" not in text
        if path.name.startswith("u-"):
            name, shown = heading(path.read_text(encoding="utf-8"))
            assert name.startswith(shown), path.name


def test_type_falls_back_to_the_level_word() -> None:
    assert Lang("vi").unit_type("Nghệ An", "province") == "Tỉnh"
    assert Lang("en").unit_type("Nghệ An", "district") == "District"
    assert Lang("en").unit_type("Thành phố Vinh", "district") == "Thành phố"


def test_a_page_without_posts_shows_since_when(built: Built) -> None:
    since = f"chưa có bài từ {built.first_day:%d/%m/%Y}"
    index = html_lib.unescape(built.read("index.html"))
    assert f"{built.silent_unit}</a> <span class=\"warn\">{since}</span>" in index
    root = html_lib.unescape(built.read("u-P01.html"))
    assert since in root
    for path in built.out.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "chưa đăng bài" not in text and "never posted" not in text


def test_collation_orders_vietnamese_letters() -> None:
    names = ["Nam Đàn", "Đô Lương", "Dũng", "Anh Sơn", "Ân", "Ăn", "Bá", "An", "Ơn", "Ôn", "On",
             "Ưu", "Uy", "Ê", "Ea"]
    assert sorted(names, key=collation_key) == [
        "An", "Anh Sơn", "Ăn", "Ân", "Bá", "Dũng", "Đô Lương", "Ea", "Ê", "Nam Đàn", "On", "Ôn",
        "Ơn", "Uy", "Ưu"]
    # Tones are second: the letters decide first, then ngang, huyền, hỏi, ngã, sắc, nặng.
    assert sorted(["Má", "Mạ", "Mà", "Ma", "Mã", "Mả", "Mai"], key=collation_key) == [
        "Ma", "Mà", "Mả", "Mã", "Má", "Mạ", "Mai"]
    # Units by their proper name, whatever their type.
    assert sorted(DISTRICTS.values(), key=sort_key) == [
        "Huyện Anh Sơn", "Thị xã Cửa Lò", "Huyện Diễn Châu", "Huyện Đô Lương", "Huyện Nam Đàn",
        "Thành phố Vinh"]


def test_comparison_table_default_order(built: Built) -> None:
    page = built.read("u-P01.html")
    table = page[page.index('<section id="children">'):]
    table = table[:table.index("</section>")]
    rows = re.findall(r'<td data-v="([^"]*)"><a href="[^"]*">([^<]*)</a>', table)
    names = [html_lib.unescape(name) for _, name in rows]
    assert names == ["Huyện Anh Sơn", "Thị xã Cửa Lò", "Huyện Diễn Châu", "Huyện Đô Lương",
                     "Huyện Nam Đàn", "Thành phố Vinh"]
    keys = [html_lib.unescape(key) for key, _ in rows]
    assert keys == sorted(keys)  # the column's sort key (sort.js compares it as is)
    assert '<th data-type="key">' in table
    index = html_lib.unescape(built.read("index.html"))
    index = index[index.index('<section id="tree"'):]
    positions = [index.index(f">{name}</a>") for name in names]
    assert positions == sorted(positions)  # the unit tree too
