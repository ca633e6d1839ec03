"""The units file: every accepted form and every refused input, with its message."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpulse.config.units import (
    PageRef,
    UnitsFileError,
    parse_page_ref,
    parse_units_text,
    read_units_file,
)

HEADER = "code,name,level,parent_code,page\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        ("615500000000123", PageRef("id", "615500000000123")),
        ("MatTranNgheAn", PageRef("username", "mattrannghean")),
        ("mttq.vinh", PageRef("username", "mttq.vinh")),
        ("https://www.facebook.com/mttq.vinh", PageRef("username", "mttq.vinh")),
        ("https://www.facebook.com/mttq.vinh/", PageRef("username", "mttq.vinh")),
        ("facebook.com/mttq.vinh?ref=bookmarks", PageRef("username", "mttq.vinh")),
        ("https://m.facebook.com/mttq.vinh/posts/123", PageRef("username", "mttq.vinh")),
        ("https://www.facebook.com/profile.php?id=615500000000999",
         PageRef("id", "615500000000999")),
        ("https://www.facebook.com/pages/Mat-Tran/123456789012",
         PageRef("id", "123456789012")),
        ("https://www.facebook.com/people/Mat-Tran/61550000000012/",
         PageRef("id", "61550000000012")),
        ("https://fb.com/123456789012", PageRef("id", "123456789012")),
    ],
)
def test_page_reference_forms(text: str, expected: PageRef | None) -> None:
    assert parse_page_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not a Page id"),
        ("https://example.com/mttq.vinh", "not a Page id"),
        ("https://www.facebook.com/", "names no Page"),
        ("https://www.facebook.com/groups/123456", "groups"),
        ("https://www.facebook.com/profile.php", "without a numeric id"),
        ("https://www.facebook.com/mặt-trận", "not a valid Page username"),
        ("mttq vinh", "not a Page id"),
    ],
)
def test_bad_page_references(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_page_ref(text)


def test_valid_file_any_depth_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(
        (
            "\ufeff" + HEADER
            + "40,Tỉnh Nghệ An,province,,mattrannghean\n"
            + "412,Thành phố Vinh,district,40,\n"
            + "16681,Phường Hưng Bình,commune,412,615500000000123\n"
            + "16681-01,Khối 1,khu dân cư,16681,\n"
            + "\n"
        ).encode("utf-8")
    )
    rows = read_units_file(path)
    assert [r.code for r in rows] == ["40", "412", "16681", "16681-01"]
    assert rows[3].level == "residential_area"
    assert rows[0].page == PageRef("username", "mattrannghean")
    assert rows[1].page is None


def test_post_2025_two_tier_shape() -> None:
    rows = parse_units_text(HEADER + "40,Tỉnh Nghệ An,province,,\n1,Phường Vinh Phú,commune,40,\n")
    assert rows[1].parent_code == "40"


def problems_of(text: str) -> list[str]:
    with pytest.raises(UnitsFileError) as info:
        parse_units_text(text, "units.csv")
    return info.value.problems


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("40,A,province,,\n40,B,province,,\n",
         ["line 3: duplicate code '40' (first used on line 2)"]),
        ("40,A,province,,\n41,B,district,99,\n", ["line 3: unit '41' has unknown parent '99'"]),
        ("40,A,province,,\n41,B,huyen-x,40,\n", ["line 3: unknown level 'huyen-x'"]),
        ("40,A,province,,not a page\n", ["line 2: bad page reference"]),
        ("40,,province,,\n", ["line 2: unit '40' has an empty name"]),
        (",A,province,,\n", ["line 2: empty code"]),
        ("40,A,province,,\n41,B,district,40\n", ["line 3: 4 fields, the header has 5"]),
        ("40,A,province,,p.one1\n41,B,district,40,p.one1\n",
         ["line 3: page 'p.one1' is already given to the unit on line 2"]),
        ("40,A,district,,\n41,B,district,42,\n42,C,district,41,\n", ["cycle in parents"]),
        ("40,A,province,40,\n", ["line 2: unit '40' is its own parent"]),
        ("40,A,commune,,\n41,B,province,40,\n", ["line 3: unit '41' (province) cannot sit under"]),
    ],
)
def test_each_problem_is_reported_with_its_line(body: str, expected: list[str]) -> None:
    problems = problems_of(HEADER + body)
    for fragment in expected:
        assert any(fragment in p for p in problems), problems


def test_every_problem_is_listed_at_once() -> None:
    body = (
        "40,Tỉnh,province,,\n"
        "41,Dup,district,40,\n"
        "41,Dup again,district,40,\n"
        "42,Orphan,district,77,\n"
        "43,Bad page,district,40,https://example.org/x\n"
        "50,Loop A,commune,51,\n"
        "51,Loop B,commune,50,\n"
    )
    problems = problems_of(HEADER + body)
    joined = "\n".join(problems)
    assert "line 4: duplicate code '41'" in joined
    assert "line 5: unit '42' has unknown parent '77'" in joined
    assert "line 6: bad page reference" in joined
    assert "cycle in parents: 50 -> 51 -> 50" in joined
    lines = [int(p.split()[1].rstrip(":")) for p in problems]
    assert lines == sorted(lines)


@pytest.mark.parametrize(
    ("header", "missing"),
    [("code,name,level,page\n", "parent_code"), ("ma,ten,cap,cha,trang\n", "code, name")],
)
def test_missing_columns(header: str, missing: str) -> None:
    problems = problems_of(header + "40,A,province,,\n")
    assert problems[0].startswith("line 1: missing column(s) " + missing)


def test_empty_file() -> None:
    assert problems_of("") == ["line 1: the file is empty"]


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes((HEADER + "40,Tỉnh Nghệ An,province,,\n").encode("cp1258", "replace")
                     .replace(b"Ngh", b"Ngh\xe9", 1))
    with pytest.raises(UnitsFileError) as info:
        read_units_file(path)
    assert info.value.problems[0].startswith("line 2: the file is not UTF-8")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnitsFileError, match="file not found"):
        read_units_file(tmp_path / "nope.csv")


def test_extra_columns_are_ignored() -> None:
    rows = parse_units_text("code,name,level,parent_code,page,notes\n40,A,province,,,ghi chú\n")
    assert rows[0].name == "A"
