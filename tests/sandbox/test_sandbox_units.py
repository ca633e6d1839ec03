"""Building worlds from units CSVs, page references, and the fields= parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpulse.sandbox import World
from fanpulse.sandbox.errors import GraphError
from fanpulse.sandbox.fields import fields_to_text, parse_fields
from fanpulse.sandbox.units import parse_page_ref, username_page_id

CSV = (
    "\ufeffcode,name,level,parent_code,page\n"
    "40,Nghệ An,tỉnh,,https://www.facebook.com/MatTranNgheAn\n"
    "40.01,Thành phố Vinh,huyện,40,123456789012345\n"
    "40.01.01,Phường Hưng Dũng,xã,40.01,https://facebook.com/profile.php?id=100064000000001\n"
    "40.01.02,Xã Nghi Phú,xã,40.01,\n"
    "40.01.03,Khối 5,khu dân cư,40.01,@khoi5.hungdung\n"
    "40.02,Diễn Châu,,40,https://www.facebook.com/pages/Mat-tran-Dien-Chau/100064000000002\n"
    "40.02.01,Diễn Kim,,40.02,MatTranNgheAn\n"
)


@pytest.fixture
def units_csv(tmp_path: Path) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_world_from_units_csv(units_csv: Path) -> None:
    world = World.from_units_csv(units_csv, seed=2)
    assert len(world.pages) == 5  # one unit without page, one page named twice
    province = world.page_id_for("https://www.facebook.com/MatTranNgheAn")
    assert province == username_page_id("MatTranNgheAn") == world.page_id_for("mattranngheAN")
    assert world.spec(province).level == "province"
    assert world.spec(province).name == "Mặt trận Nghệ An"
    assert 150_000 < world.truth_page(province)["followers_count"] < 200_000
    assert world.page_id_for("123456789012345") == "123456789012345"
    assert world.spec("123456789012345").level == "district"
    assert world.spec("100064000000001").level == "commune"
    assert world.spec(world.page_id_for("khoi5.hungdung")).level == "residential"
    assert world.spec("100064000000002").level == "district"  # from depth: empty level column
    assert world.spec("123456789012345").username is None
    with pytest.raises(KeyError):
        world.page_id_for("someone.else")


def test_level_sizes(units_csv: Path) -> None:
    world = World.from_units_csv(units_csv, seed=2)
    district = world.truth_page("123456789012345")["followers_count"]
    assert 1_000 < district < 30_000


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("code,name,page\n1,x,123\n", "missing column"),
        ("code,name,level,parent_code,page\n1,x,,,not a page!\n", "line 2"),
    ],
)
def test_bad_units_csv(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        World.from_units_csv(path)


def test_units_csv_without_pages(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    path.write_text("code,name,level,parent_code,page\n1,x,tỉnh,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no unit names a page"):
        World.from_units_csv(path)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("123", ("id", "123")),
        ("MatTranNgheAn", ("username", "MatTranNgheAn")),
        ("@mttq.vinh", ("username", "mttq.vinh")),
        ("https://www.facebook.com/MatTranNgheAn/", ("username", "MatTranNgheAn")),
        ("facebook.com/MatTranNgheAn?ref=bookmarks", ("username", "MatTranNgheAn")),
        ("https://m.facebook.com/profile.php?id=1000", ("id", "1000")),
        ("https://www.facebook.com/pages/Some-Name/987654", ("id", "987654")),
        ("https://www.facebook.com/people/Nguyen-Van-A/100012345/", ("id", "100012345")),
        ("https://www.facebook.com/123456", ("id", "123456")),
    ],
)
def test_page_refs(ref: str, expected: tuple[str, str]) -> None:
    assert parse_page_ref(ref) == expected


@pytest.mark.parametrize(
    "ref", ["", "hello world", "https://www.facebook.com/", "https://facebook.com/profile.php"]
)
def test_bad_page_refs(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_page_ref(ref)


# -- fields= parser -------------------------------------------------------------------------------


def test_parse_field_expansion() -> None:
    specs = parse_fields(
        "id,reactions.type(LOVE).limit(0).summary(total_count).as(reactions_love),"
        "attachments{subattachments{target}},insights.metric(post_clicks,post_media_view),"
        " posts.limit(5){id, message}.since(1700000000)"
    )
    assert [s.key for s in specs] == ["id", "reactions_love", "attachments", "insights", "posts"]
    love = specs[1]
    assert love.modifiers == {
        "type": ["LOVE"],
        "limit": ["0"],
        "summary": ["total_count"],
        "as": ["reactions_love"],
    }
    assert specs[2].subfields is not None and specs[2].subfields[0].subfields is not None
    assert specs[3].args("metric") == ["post_clicks", "post_media_view"]
    assert specs[4].arg("since") == "1700000000" and specs[4].subfields is not None
    assert parse_fields(fields_to_text(specs)) == specs


@pytest.mark.parametrize(
    "text", ["posts{id", "reactions.limit(0", "a.(1)", "a,{b}", "posts.limit(1}"]
)
def test_fields_syntax_errors(text: str) -> None:
    with pytest.raises(GraphError) as info:
        parse_fields(text)
    assert info.value.code == 2500 and "Syntax error" in info.value.message


def test_empty_entries_are_tolerated() -> None:
    assert [s.name for s in parse_fields("id,,name,")] == ["id", "name"]
