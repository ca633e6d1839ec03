"""Checks on the shipped units files (config/*.csv) and the 2025 builder in config/units_2025.py."""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fanpulse.config.units_2025 import (
    build_units_2025,
    read_page_refs,
    units_2025_command,
    write_units_csv,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"
UNITS_2024 = CONFIG / "units.nghe-an.csv"
UNITS_2025 = CONFIG / "units.nghe-an-2025.csv"
COLUMNS = ["code", "name", "level", "parent_code", "page"]
LEVELS = ("province", "district", "commune", "residential_area")
# vietnam-provinces release the committed 2025 file was generated with (config/README.md)
GENERATED_WITH = "2025.10.1"

_USERNAME = r"(?=[A-Za-z0-9.]*[A-Za-z])[A-Za-z0-9.]{5,50}"
PAGE_FORMS = {
    "id": re.compile(r"[1-9][0-9]{4,19}"),
    "username": re.compile(_USERNAME),
    "url": re.compile(
        r"https://(?:www\.|m\.)?facebook\.com/(?:profile\.php\?id=[1-9][0-9]{4,19}|"
        + _USERNAME
        + r")/?"
    ),
}

DISTRICTS_2024 = {
    "Thành phố Vinh",
    "Thị xã Cửa Lò",
    "Thị xã Thái Hoà",  # spelled as in the official list (old tone placement)
    "Thị xã Hoàng Mai",
    *(
        f"Huyện {n}"
        for n in (
            "Anh Sơn", "Con Cuông", "Diễn Châu", "Đô Lương", "Hưng Nguyên", "Kỳ Sơn",
            "Nam Đàn", "Nghi Lộc", "Nghĩa Đàn", "Quế Phong", "Quỳ Châu", "Quỳ Hợp",
            "Quỳnh Lưu", "Tân Kỳ", "Thanh Chương", "Tương Dương", "Yên Thành",
        )
    ),
}  # fmt: skip


def page_form(ref: str) -> str | None:
    """Which accepted form a page reference has, or None."""
    for form, pattern in PAGE_FORMS.items():
        if pattern.fullmatch(ref):
            return form
    return None


def read_units(path: Path) -> list[dict[str, str]]:
    # strict UTF-8 without BOM: the header must be the first bytes of the file
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("code,"), "units file must start with its header (no BOM, no comments)"
    reader = csv.DictReader(text.splitlines())
    # The five columns, and the 2025 file's formed_from and effective (config/README.md).
    assert reader.fieldnames in (COLUMNS, [*COLUMNS, "formed_from", "effective"])
    rows = list(reader)
    for row in rows:
        assert None not in row, f"extra fields in {row}"
        assert all(v == v.strip() for v in row.values()), f"stray spaces in {row}"
    return rows


def check_tree(rows: list[dict[str, str]]) -> None:
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    by_code = {r["code"]: r for r in rows}
    roots = [r for r in rows if r["parent_code"] == ""]
    assert len(roots) == 1 and roots[0]["level"] == "province"
    for row in rows:
        assert row["level"] in LEVELS
        assert row["name"] and row["code"]
        if row["parent_code"]:
            assert row["parent_code"] in by_code, f"{row['code']}: unknown parent"
            parent_level = by_code[row["parent_code"]]["level"]
            assert LEVELS.index(parent_level) < LEVELS.index(row["level"]), row


@pytest.fixture(scope="module")
def units_2024() -> list[dict[str, str]]:
    return read_units(UNITS_2024)


@pytest.fixture(scope="module")
def units_2025() -> list[dict[str, str]]:
    return read_units(UNITS_2025)


# ---- 2024 shape -------------------------------------------------------------------------


def test_2024_counts_per_level(units_2024: list[dict[str, str]]) -> None:
    assert len(units_2024) == 482
    assert Counter(r["level"] for r in units_2024) == {
        "province": 1,
        "district": 21,
        "commune": 460,
    }


def test_2024_tree_is_consistent(units_2024: list[dict[str, str]]) -> None:
    check_tree(units_2024)
    by_code = {r["code"]: r for r in units_2024}
    assert by_code["40"]["name"] == "Tỉnh Nghệ An"
    for row in units_2024:
        if row["level"] != "province":
            parent = by_code[row["parent_code"]]["level"]
            assert parent == {"district": "province", "commune": "district"}[row["level"]]


def test_2024_names(units_2024: list[dict[str, str]]) -> None:
    districts = {r["name"] for r in units_2024 if r["level"] == "district"}
    assert districts == DISTRICTS_2024
    for row in units_2024:
        if row["level"] == "commune":
            assert row["name"].startswith(("Xã ", "Phường ", "Thị trấn ")), row


def test_2024_every_unit_has_a_well_formed_page(units_2024: list[dict[str, str]]) -> None:
    forms = Counter(page_form(r["page"]) for r in units_2024)
    assert None not in forms, [r for r in units_2024 if page_form(r["page"]) is None]
    assert set(forms) == {"id", "username", "url"}
    pages = [r["page"] for r in units_2024]
    assert len(pages) == len(set(pages)), "two units share a page"


@pytest.mark.parametrize(
    ("ref", "form"),
    [
        ("615500000016663", "id"),
        ("mttq.anhson", "username"),
        ("mattrannghean", "username"),
        ("https://www.facebook.com/mttq.vinh", "url"),
        ("https://www.facebook.com/profile.php?id=615500000000123", "url"),
        ("", None),
        ("abc", None),  # username too short
        ("mttq anh son", None),
        ("mttq.anhsơn", None),  # usernames are ASCII
        ("https://example.com/mttq.vinh", None),
        ("https://www.facebook.com/profile.php?id=abc", None),
    ],
)
def test_page_form_table(ref: str, form: str | None) -> None:
    assert page_form(ref) == form


# ---- 2025 shape (committed file) --------------------------------------------------------


def test_2025_file_shape(units_2025: list[dict[str, str]]) -> None:
    assert len(units_2025) == 131
    check_tree(units_2025)
    communes = [r for r in units_2025 if r["level"] == "commune"]
    assert len(communes) == 130
    assert {r["parent_code"] for r in communes} == {"40"}
    assert Counter(r["name"].split(" ", 1)[0] for r in communes) == {"Xã": 119, "Phường": 11}
    for row in units_2025:
        assert row["page"] == "" or page_form(row["page"]) is not None, row


# ---- 2025 builder -------------------------------------------------------------------------


def test_builder_without_package_raises_runtime_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vietnam_provinces", None)  # makes the import fail
    with pytest.raises(RuntimeError, match="pip install 'vietnam-provinces"):
        build_units_2025()


@pytest.fixture
def vietnam_provinces() -> object:
    return pytest.importorskip(
        "vietnam_provinces",
        reason="vietnam-provinces is not installed (optional extra: pip install 'fanpulse[units]')",
    )


def test_builder_gives_130_communes_under_the_province(vietnam_provinces: object) -> None:
    rows = build_units_2025(40, {"40": "mattrannghean", "16681": "mttq.thanhvinh"})
    assert rows[0] == {
        "code": "40",
        "name": "Tỉnh Nghệ An",
        "level": "province",
        "parent_code": "",
        "page": "mattrannghean",
    }
    communes = rows[1:]
    assert len(communes) == 130
    assert all(r["level"] == "commune" and r["parent_code"] == "40" for r in communes)
    prefixes = Counter(r["name"].split(" ", 1)[0] for r in communes)
    assert prefixes == {"Xã": 119, "Phường": 11}
    pages = {r["code"]: r["page"] for r in communes if r["page"]}
    assert pages == {"16681": "mttq.thanhvinh"}
    check_tree(rows)


def test_builder_rejects_unknown_province(vietnam_provinces: object) -> None:
    with pytest.raises(ValueError, match="unknown province code 99"):
        build_units_2025(99)


def test_committed_2025_file_matches_builder(
    vietnam_provinces: object, units_2025: list[dict[str, str]]
) -> None:
    version = getattr(vietnam_provinces, "__version__", "?")
    if version != GENERATED_WITH:
        pytest.skip(
            f"committed file was made with vietnam-provinces {GENERATED_WITH}, not {version}"
        )
    # Units and names from the package; formed_from, effective and Pages are make-2025's
    # (tests/test_units_2025.py checks the whole file against what make-2025 writes).
    rows = build_units_2025(40, read_page_refs(UNITS_2025))
    keys = ("code", "name", "level", "parent_code", "page")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys}
                                                         for r in units_2025]


def test_command_writes_file(vietnam_provinces: object, tmp_path: Path) -> None:
    assert isinstance(units_2025_command, click.Command)
    assert units_2025_command.name == "make-2025"
    pages = tmp_path / "pages.csv"
    pages.write_text("code,page\n40,mattrannghean\n16681,\n", encoding="utf-8")
    no_pages = tmp_path / "units-2024.csv"  # the 2024 file without its Pages
    no_pages.write_text("\n".join(
        ",".join(line.split(",")[:4]) + "," for line in
        (Path(__file__).parent.parent / "config" / "units.nghe-an.csv")
        .read_text(encoding="utf-8").splitlines()).replace("parent_code,", "parent_code,page",
                                                           1) + "\n", encoding="utf-8")
    out = tmp_path / "units.csv"
    result = CliRunner().invoke(
        units_2025_command,
        ["--out", str(out), "--pages-from", str(pages), "--page", "16690=mttq.truongvinh",
         "--pages-from-2024", str(no_pages)],
    )
    assert result.exit_code == 0, result.output
    assert "130 communes, 2 with a page" in result.output
    rows = read_units(out)
    assert len(rows) == 131
    assert {r["code"]: r["page"] for r in rows if r["page"]} == {
        "40": "mattrannghean",
        "16690": "mttq.truongvinh",
    }


def test_command_rejects_bad_page_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        units_2025_command, ["--out", str(tmp_path / "u.csv"), "--page", "40"]
    )
    assert result.exit_code == 2
    assert "expected CODE=PAGE" in result.output


def test_write_units_csv_round_trip(tmp_path: Path) -> None:
    rows = [
        {"code": "40", "name": "Tỉnh Nghệ An", "level": "province", "parent_code": "", "page": ""},
        {"code": "1", "name": "Xã A, B", "level": "commune", "parent_code": "40", "page": "12345"},
    ]
    out = tmp_path / "u.csv"
    assert write_units_csv(rows, out) == 2
    assert read_units(out) == rows
