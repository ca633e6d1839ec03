"""The 2025 reform for Nghệ An: the shipped old -> new mapping, `units make-2025` and its Pages.

config/reform-2025-nghe-an.csv holds the facts (copied from the PyPI package vietnamadminunits,
see config/README.md); config/units.nghe-an-2025.csv is what `fanpulse units make-2025` writes
from it. When vietnamadminunits' data files can be found (the package need not be importable:
its own imports need shapely and geopy), the shipped mapping is derived again from them.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sqlite3
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanpulse.config.units_2025 import (
    EFFECTIVE_2025,
    REFORM_COLUMNS,
    ReformLink,
    bare_name,
    choose_page,
    formed_from_text,
    read_reform_csv,
    units_2025_command,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"
UNITS_2024 = CONFIG / "units.nghe-an.csv"
UNITS_2025 = CONFIG / "units.nghe-an-2025.csv"
REFORM = CONFIG / "reform-2025-nghe-an.csv"
COLUMNS_2025 = ["code", "name", "level", "parent_code", "page", "formed_from", "effective"]
# old communes the mapping cannot place, with the reason make-2025 prints
UNMAPPED = {"17563"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_formed_from(text: str) -> list[tuple[str, bool]]:
    out = []
    for item in text.split():
        code, _, part = item.partition(":")
        assert part in ("", "part"), item
        assert re.fullmatch(r"\d+", code), item
        out.append((code, part == ""))
    return out


@pytest.fixture(scope="module")
def old_communes() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in read_csv(UNITS_2024) if r["level"] == "commune"}


@pytest.fixture(scope="module")
def mapping() -> list[dict[str, str]]:
    return read_csv(REFORM)


def run_make_2025(out: Path, *args: str) -> str:
    result = CliRunner().invoke(units_2025_command, ["--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


# ---- the shipped mapping -----------------------------------------------------------------


def test_mapping_covers_every_old_commune(
    mapping: list[dict[str, str]], old_communes: dict[str, dict[str, str]]
) -> None:
    assert list(mapping[0]) == list(REFORM_COLUMNS)
    assert {r["old_code"] for r in mapping} == set(old_communes)
    for row in mapping:
        old = old_communes[row["old_code"]]
        assert (row["old_name"], row["old_district_code"]) == (old["name"], old["parent_code"])
        if row["old_code"] in UNMAPPED:
            assert row["new_code"] == "" and row["note"], row
        else:
            assert row["whole"] in ("0", "1") and row["new_code"] and row["new_name"], row
    whole = Counter(r["old_code"] for r in mapping if r["whole"] == "1")
    assert max(whole.values()) == 1, "an old commune taken whole by two new ones"
    both = {r["old_code"] for r in mapping if r["whole"] == "0"} & set(whole)
    assert not both, f"taken whole and in part: {both}"


def test_mapping_new_units_are_the_130_of_vietnam_provinces(mapping: list[dict[str, str]]) -> None:
    # the pre-reform file written from vietnam-provinces 2025.10.1 kept these names and codes
    vp = pytest.importorskip("vietnam_provinces", reason="vietnam-provinces not installed")
    if not hasattr(vp.Ward, "iter_by_province"):
        pytest.skip("vietnam-provinces 0.x has no 2025 data")
    wards = {f"{int(w.code):05d}": w.name for w in vp.Ward.iter_by_province(vp.ProvinceCode(40))}
    new = {r["new_code"]: r["new_name"] for r in mapping if r["new_code"]}
    assert new == wards


# ---- the file make-2025 wrote --------------------------------------------------------------


def test_shipped_2025_file_is_what_make_2025_writes(tmp_path: Path) -> None:
    out = tmp_path / "u.csv"
    output = run_make_2025(out, "--page", "40=mattrannghean")
    assert out.read_bytes() == UNITS_2025.read_bytes()
    assert "1 province, 130 communes" in output
    assert "unmapped 17563 Xã Hợp Thành: merged away in the 2024 reorganisation" in output


def test_2025_file_against_the_mapping(
    mapping: list[dict[str, str]], old_communes: dict[str, dict[str, str]]
) -> None:
    text = UNITS_2025.read_bytes().decode("utf-8")
    assert text.startswith(",".join(COLUMNS_2025) + "\n")
    rows = read_csv(UNITS_2025)
    assert all(r["effective"] == EFFECTIVE_2025 for r in rows)
    province, communes = rows[0], rows[1:]
    assert (province["code"], province["level"], province["page"]) == (
        "40", "province", "mattrannghean"
    )  # fmt: skip
    districts = [r["code"] for r in read_csv(UNITS_2024) if r["level"] == "district"]
    assert sorted(province["formed_from"].split()) == sorted(districts) and len(districts) == 21
    assert len(communes) == 130
    assert {r["code"] for r in communes} == {r["new_code"] for r in mapping if r["new_code"]}

    bare: Counter[str] = Counter()
    parts: dict[str, set[str]] = {}
    codes = {r["code"] for r in rows}
    for row in communes:
        for code, whole in parse_formed_from(row["formed_from"]):
            assert code in old_communes, (row["code"], code)
            if whole:
                bare[code] += 1
                # the parser refuses a unit still in the file taken whole by another one
                assert code == row["code"] or code not in codes, (row["code"], code)
            else:
                parts.setdefault(code, set()).add(row["code"])
    expect_whole = {r["old_code"]: r["new_code"] for r in mapping if r["whole"] == "1"}
    expect_parts: dict[str, set[str]] = {}
    for r in mapping:
        if r["whole"] == "0":
            expect_parts.setdefault(r["old_code"], set()).add(r["new_code"])
    for code in old_communes:
        if code in UNMAPPED:
            assert bare[code] == 0 and code not in parts
        elif code in expect_whole:
            assert bare[code] == 1 and code not in parts, code
        else:
            assert bare[code] == 0 and parts.get(code) == expect_parts[code], code
    placed = {
        c for r in communes for c, whole in parse_formed_from(r["formed_from"]) if whole
    }  # fmt: skip
    for row in communes:
        mine = {r["old_code"] for r in mapping if r["new_code"] == row["code"]}
        assert {c for c, _ in parse_formed_from(row["formed_from"])} == mine
    assert placed | set(parts) | UNMAPPED == set(old_communes)


# ---- the Page rule -------------------------------------------------------------------------


def link(old: str, name: str, new: str = "9", whole: bool = True) -> ReformLink:
    return ReformLink(old, name, "1", new, "Xã Hòa Bình", whole)


def test_choose_page_cases() -> None:
    pages = {"1": "page.one", "2": "page.two", "3": "page.three"}
    # exactly one whole predecessor with a Page
    assert choose_page("9", "Xã Hòa Bình", [link("1", "Xã A"), link("5", "Xã B")], pages) == (
        "page.one", ""
    )  # fmt: skip
    # several: the one whose name matches (type word and diacritics removed)
    two = [link("1", "Xã A"), link("2", "Thị trấn Hoà Bình")]
    assert choose_page("9", "Xã Hòa Bình", two, pages) == ("page.two", "")
    # several, no name match: the one with the new unit's code
    assert choose_page("1", "Xã Hòa Bình", [link("1", "Xã A"), link("2", "Xã B")], pages)[0] == (
        "page.one"
    )
    # several, no name, no code: none
    page, reason = choose_page("9", "Xã Hòa Bình", [link("1", "Xã A"), link("2", "Xã B")], pages)
    assert page == "" and reason.startswith("2 predecessors with Pages, none matches the name")
    # never a predecessor taken in part, even the only one with a Page
    page, reason = choose_page("9", "Xã Hòa Bình", [link("3", "Xã Hòa Bình", whole=False)], pages)
    assert page == "" and "in part" in reason
    assert choose_page("9", "Xã Hòa Bình", [link("7", "Xã C")], pages) == (
        "", "no predecessor has a Page"
    )  # fmt: skip


def test_bare_name_and_formed_from() -> None:
    assert bare_name("Phường Hà Huy Tập") == bare_name("Xã Hà  Huy Tập") == "ha huy tap"
    assert bare_name("Thị trấn Đô Lương") == "do luong"
    links = [link("17011", "A", whole=False), link("16994", "B"), link("9", "C")]
    assert formed_from_text(links) == "9 16994 17011:part"


def test_command_pages_from_a_hand_made_2024_file(tmp_path: Path) -> None:
    reform = tmp_path / "reform.csv"
    reform.write_text(
        "old_code,old_name,old_district_code,new_code,new_name,whole,note\n"
        "101,Xã Hòa,11,101,Xã Bình An,1,\n"  # one Page among the whole predecessors
        "102,Xã Lạc,11,101,Xã Bình An,1,\n"
        "201,Xã Đông,11,203,Xã Tây,1,\n"  # two Pages, the name matches 203's
        "203,Xã Tây,12,203,Xã Tây,1,\n"
        "301,Xã Một,12,305,Xã Ba,1,\n"  # two Pages, no name, no code: ambiguous
        "302,Xã Hai,12,305,Xã Ba,1,\n"
        "401,Xã Bốn,12,401,Xã Bốn Mới,0,\n"  # only a part has a Page
        "401,Xã Bốn,12,305,Xã Ba,0,\n"
        "402,Xã Năm,12,401,Xã Bốn Mới,1,\n"
        "501,Xã Sáu,12,,,,merged away; no successor known\n",
        encoding="utf-8",
    )
    old = tmp_path / "units-2024.csv"
    old.write_text(
        "code,name,level,parent_code,page\n"
        "40,Tỉnh Nghệ An,province,,mattrannghean\n"
        "102,Xã Lạc,commune,11,page.lac\n"
        "201,Xã Đông,commune,11,page.dong\n"
        "203,Xã Tây,commune,12,page.tay\n"
        "301,Xã Một,commune,12,page.mot\n"
        "302,Xã Hai,commune,12,page.hai\n"
        "401,Xã Bốn,commune,12,page.bon\n",
        encoding="utf-8",
    )
    out = tmp_path / "u.csv"
    output = run_make_2025(out, "--reform", str(reform), "--pages-from-2024", str(old))
    rows = {r["code"]: r for r in read_csv(out)}
    assert list(rows) == ["40", "101", "203", "305", "401"]
    assert rows["40"]["page"] == "mattrannghean"
    assert rows["40"]["formed_from"] == "11 12"
    assert {c: r["page"] for c, r in rows.items()} == {
        "40": "mattrannghean", "101": "page.lac", "203": "page.tay", "305": "", "401": "",
    }  # fmt: skip
    assert rows["305"]["formed_from"] == "301 302 401:part"
    assert rows["401"]["formed_from"] == "401:part 402"
    assert all(r["effective"] == "2025-07-01" for r in rows.values())
    assert "communes with a Page: 2; left empty: 2" in output
    assert "no Page  305 Xã Ba: 2 predecessors with Pages, none matches the name" in output
    assert "no Page  401 Xã Bốn Mới: only predecessors taken in part have Pages" in output
    assert "unmapped 501 Xã Sáu: merged away; no successor known" in output

    # --page and --pages-from win over the automatic choice
    pages = tmp_path / "pages.csv"
    pages.write_text("code,page\n101,page.manual\n", encoding="utf-8")
    run_make_2025(
        out, "--reform", str(reform), "--pages-from-2024", str(old),
        "--pages-from", str(pages), "--page", "305=page.chosen",
    )  # fmt: skip
    got = {r["code"]: r["page"] for r in read_csv(out)}
    assert (got["101"], got["305"], got["203"]) == ("page.manual", "page.chosen", "page.tay")


def test_reform_rejects_an_old_code_taken_whole_twice(tmp_path: Path) -> None:
    reform = tmp_path / "reform.csv"
    reform.write_text(
        "old_code,old_name,old_district_code,new_code,new_name,whole\n"
        "1,Xã A,11,1,Xã A,1\n1,Xã A,11,2,Xã B,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="taken whole by both 1 and 2"):
        read_reform_csv(reform)


# ---- against the source package's data -----------------------------------------------------


def _ascii_key(text: str) -> str:
    s = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9]", "", s)


def derive_from_vietnamadminunits(data_dir: Path) -> list[dict[str, str]]:
    """The mapping as config/README.md says it was derived from vietnamadminunits 1.0.4."""
    old = [r for r in read_csv(UNITS_2024) if r["level"] == "commune"]
    new_by_name = {r["new_name"]: r["new_code"] for r in read_csv(REFORM) if r["new_code"]}
    db = sqlite3.connect(data_dir / "dataset.db")
    try:
        legacy = {
            f"{p}_{d}_{w}": code
            for p, d, w, code in db.execute(
                "select provinceKey, districtKey, wardKey, wardCode from admin_units_legacy "
                "where provinceCode = '40'"
            )
        }
        district_of = dict(
            db.execute(
                "select wardCode, districtCode from admin_units_legacy where provinceCode='40'"
            )
        )
        new_names = dict(
            db.execute("select wardKey, ward from admin_units where provinceCode='40'")
        )
    finally:
        db.close()
    conv = json.loads((data_dir / "converter_2025.json").read_text(encoding="utf-8"))
    target: dict[str, list[tuple[str, bool]]] = {}
    for new_key, old_keys in conv["DICT_PROVINCE_WARD_NO_DIVIDED"]["tinhnghean"].items():
        for key in old_keys:
            target.setdefault(legacy[key], []).append((new_names[new_key], True))
    for key, parts in conv["DICT_PROVINCE_WARD_DIVIDED"].get("tinhnghean", {}).items():
        for part in parts:
            target.setdefault(legacy[key], []).append((new_names[part["newWardKey"]], False))
    legacy_parser = json.loads((data_dir / "parser_legacy.json").read_text(encoding="utf-8"))
    keywords = {
        info["wardCode"]: set(info["wardKeywords"])
        for wards in legacy_parser["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"]["tinhnghean"].values()
        for info in wards.values()
    }
    out = []
    for r in old:
        via, note = r["code"], ""
        if via not in target:  # merged away in 2024: its name is a keyword of its successor
            key = _ascii_key(r["name"])
            found = [
                c for c, kw in keywords.items() if key in kw and district_of[c] == r["parent_code"]
            ]
            if len(found) != 1:
                out.append({"old_code": r["code"], "new_code": "", "whole": ""})
                continue
            via = found[0]
            note = f"via {via}"
        for new_name, whole in target[via]:
            row = {
                "old_code": r["code"],
                "new_code": new_by_name[new_name],
                "whole": str(int(whole)),
            }
            out.append(row | ({"via": note} if note else {}))
    return out


def test_mapping_matches_vietnamadminunits_data(mapping: list[dict[str, str]]) -> None:
    spec = importlib.util.find_spec("vietnamadminunits")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "vietnamadminunits 1.0.4 (MIT) is not installed (the test extra installs it: "
            "pip install -e '.[test]'); the shipped mapping is checked on its own above."
        )
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    derived = derive_from_vietnamadminunits(data_dir)
    shipped = [
        {"old_code": r["old_code"], "new_code": r["new_code"], "whole": r["whole"]}
        | ({"via": r["note"].split(" (")[0]} if r["note"].startswith("via ") else {})
        for r in mapping
    ]
    assert shipped == derived
