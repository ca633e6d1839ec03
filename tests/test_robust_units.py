"""A units import never retires the province by accident: a header-only file, codes Excel
turned into 4.0E+13, a semicolon-separated export, an over-long name or a NUL byte are each
refused with what to do, before anything is written, on SQLite and PostgreSQL; the nightly
re-import obeys the same guard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fanpulse.app import AppContext
from fanpulse.cli import PACKAGED_UNITS, cli, import_units_file, run_collection
from fanpulse.config.units import UnitsFileError, parse_units_text, read_units_file
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Unit
from fanpulse.storage.units import RETIRE_SHARE, RetireRefused, check_retirements, sync_units

HEADER = "code,name,level,parent_code,page\n"
LINES = PACKAGED_UNITS.read_text(encoding="utf-8").splitlines()  # header + 482 units


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def active_units(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(Unit).where(Unit.active)) or 0


@pytest.fixture
def nghe_an(engine: Engine) -> Engine:
    import_units_file(engine, PACKAGED_UNITS)
    assert active_units(engine) == 482
    return engine


def refused(engine: Engine, path: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(UnitsFileError) as info:
        import_units_file(engine, path, **kwargs)
    assert info.value.path == str(path)
    return info.value.problems


# -- the retirement guard, in the library function every caller uses ---------------------------

def test_a_header_only_file_retires_nothing(nghe_an: Engine, tmp_path: Path) -> None:
    problems = refused(nghe_an, write(tmp_path / "u.csv", LINES[:1]))
    assert problems[0].startswith(
        "the file lists no units (only its header?): it would retire all 482 active units and "
        "stop collecting their Pages: 40 Tỉnh Nghệ An; 412 Thành phố Vinh; 413 Thị xã Cửa Lò; "
        "414 Thị xã Thái Hoà; 415 Huyện Quế Phong; ... (482 in all).")
    assert problems[-1] == "If this is what you mean, import it again with --allow-retire."
    assert active_units(nghe_an) == 482


def test_a_header_only_file_with_allow_retire_retires_every_unit(nghe_an: Engine,
                                                                 tmp_path: Path) -> None:
    count, summary = import_units_file(nghe_an, write(tmp_path / "u.csv", LINES[:1]),
                                       allow_retire=True)
    assert count == 0 and "482 retired" in summary
    assert active_units(nghe_an) == 0


def test_an_empty_file_into_an_empty_store_is_refused_too(engine: Engine,
                                                          tmp_path: Path) -> None:
    problems = refused(engine, write(tmp_path / "u.csv", LINES[:1]))
    assert problems[0] == "the file lists no units (only its header?): nothing would be retired."


def test_up_to_ten_percent_is_applied_more_is_refused(nghe_an: Engine, tmp_path: Path) -> None:
    communes = [i for i, line in enumerate(LINES) if ",commune," in line]
    limit = int(RETIRE_SHARE * 482)  # 48
    too_many = write(tmp_path / "many.csv",
                     [line for i, line in enumerate(LINES) if i not in communes[:limit + 1]])
    problems = refused(nghe_an, too_many)
    assert problems[0].startswith(f"it would retire {limit + 1} of the 482 active units, more "
                                  "than 10%, and stop collecting their Pages: 16")
    assert problems[0].endswith(
        f"; ... ({limit + 1} in all). A unit is retired when its code is missing from the "
        "file: check the code column (Excel may have changed the codes).")
    assert refused(nghe_an, too_many, dry_run=True) == problems  # the dry run says the same
    assert active_units(nghe_an) == 482
    fine = write(tmp_path / "fine.csv",
                 [line for i, line in enumerate(LINES) if i not in communes[:limit]])
    count, summary = import_units_file(nghe_an, fine)
    assert count == 482 - limit and f"{limit} retired" in summary
    assert active_units(nghe_an) == 482 - limit


def test_allow_retire_applies_a_large_reorganisation(nghe_an: Engine, tmp_path: Path) -> None:
    province_and_districts = [line for line in LINES if ",commune," not in line]
    path = write(tmp_path / "u.csv", province_and_districts)
    refused(nghe_an, path)
    count, summary = import_units_file(nghe_an, path, allow_retire=True)
    assert (count, active_units(nghe_an)) == (22, 22) and "460 retired" in summary


def test_check_retirements_names_the_first_few() -> None:
    rows = parse_units_text(HEADER + "40,Tỉnh Nghệ An,province,,\n")
    units = [Unit(code=str(n), name=f"Xã {n}", level="commune", active=True)
             for n in range(100, 110)] + [Unit(code="40", name="Tỉnh Nghệ An", active=True)]
    problems = check_retirements(rows, units)
    assert problems[0].startswith("it would retire 10 of the 11 active units, more than 10%, "
                                  "and stop collecting their Pages: 100 Xã 100; 101 Xã 101; "
                                  "102 Xã 102; 103 Xã 103; 104 Xã 104; ... (10 in all). ")


def test_sync_units_refuses_before_writing_when_told_to_guard(nghe_an: Engine) -> None:
    with transaction(nghe_an) as session, pytest.raises(RetireRefused) as info:
        sync_units(session, [], dt.datetime.now(dt.UTC), allow_retire=False)
    assert info.value.problems[0].startswith("the file lists no units")
    assert active_units(nghe_an) == 482


# -- the command line ---------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_units_import_refuses_and_says_what_would_happen(tmp_path: Path) -> None:
    assert run("units", "import", str(PACKAGED_UNITS))[0] == 0
    header_only = write(tmp_path / "u.csv", LINES[:1])
    code, out = run("units", "import", str(header_only))
    assert code == 1
    assert out.startswith(f"Error: units file {header_only} was refused, nothing was written:\n"
                          "  the file lists no units (only its header?): it would retire all "
                          "482 active units and stop collecting their Pages: 40 Tỉnh Nghệ An; ")
    assert out.endswith("  If this is what you mean, import it again with --allow-retire.\n")
    assert "482 units" in run("units", "list")[1]
    code, out = run("units", "import", "--allow-retire", str(header_only))
    assert code == 0 and "Imported 0 units" in out and "482 retired" in out


def test_the_nightly_reimport_obeys_the_guard(nghe_an: Engine, db_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANPULSE_ACCESS_TOKEN", "EAAG-test")
    header_only = write(tmp_path / "u.csv", LINES[:1])
    app = AppContext(None, {"database_url": db_url, "units_file": str(header_only)})
    seen: dict[str, Any] = {}

    def collect(*_args: Any, **kwargs: Any) -> str:
        seen.update(kwargs)
        return "collected"

    # The night still runs, on the units already stored, and its note says why the file
    # was not applied.
    monkeypatch.setattr("fanpulse.cli.collect_once", collect)
    try:
        assert run_collection(app, None, "schedule") == "collected"  # type: ignore[comparison-overlap]
    finally:
        app.engine().dispose()
    assert active_units(nghe_an) == 482
    assert any("was refused and not applied" in n and "the file lists no units" in n
               for n in seen["notes"])


# -- what spreadsheets do to a units file -------------------------------------------------------

@pytest.mark.parametrize("code", ["4.0E+13", "4E+13", "1.23E+05", "1,23E+05"])
def test_excel_scientific_codes_are_refused_with_the_fix(engine: Engine, tmp_path: Path,
                                                         code: str) -> None:
    lines = [*LINES[:3], f'"{code}",Xã Mới,commune,412,', *LINES[3:]]
    problems = refused(engine, write(tmp_path / "u.csv", lines))
    assert problems == [f"line 4: code '{code}' is a number Excel turned into scientific "
                        "notation, and its digits are lost: format the column as Text in "
                        "Excel, then export CSV UTF-8"]
    assert active_units(engine) == 0


def test_excel_scientific_parent_and_page_are_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", [LINES[0], "40,Tỉnh Nghệ An,province,,6.155E+14",
                                      "412,Thành phố Vinh,district,4E+01,mttq.vinh"])
    with pytest.raises(UnitsFileError) as info:
        read_units_file(path)
    assert info.value.problems == [
        "line 2: page '6.155E+14' is a number Excel turned into scientific notation, and its "
        "digits are lost: format the column as Text in Excel, then export CSV UTF-8",
        "line 3: parent_code '4E+01' is a number Excel turned into scientific notation, and "
        "its digits are lost: format the column as Text in Excel, then export CSV UTF-8"]


def test_a_semicolon_separated_file_gets_the_excel_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", [line.replace(",", ";") for line in LINES[:3]])
    with pytest.raises(UnitsFileError) as info:
        read_units_file(path)
    [problem] = info.value.problems
    assert problem.startswith("line 1: missing column(s) code, name, level, parent_code, page")
    assert problem.endswith("the file is separated by semicolons (;), not commas; in Excel "
                            "use 'Save As' > 'CSV UTF-8 (Comma delimited)'")


def test_a_missing_file_is_reported_without_a_line_number(tmp_path: Path) -> None:
    code, out = run("units", "import", str(tmp_path / "nope.csv"))
    assert code == 1
    assert out == (f"Error: units file {tmp_path / 'nope.csv'} was refused, nothing was "
                   f"written:\n  file not found (looked for {tmp_path / 'nope.csv'})\n")
    assert "line 0" not in out


def test_long_names_long_codes_and_nul_bytes_are_line_errors(engine: Engine,
                                                            tmp_path: Path) -> None:
    long_name = "Xã" + " Nghi Phong" * 30
    path = write(tmp_path / "u.csv", [
        LINES[0], "40,Tỉnh Nghệ An,province,,",
        f"16672,{long_name},commune,40,",
        "16673,Xã Nghi\x00 Thủy,commune,40,",
        f"{'7' * 70},Xã Dài,commune,40,",
    ])
    problems = refused(engine, path)
    assert problems == [
        f"line 3: the name of unit '16672' has {len(long_name)} characters; at most 255 are "
        "kept",
        "line 4: column 'name' holds a NUL character: the file is damaged or not a text CSV; "
        "in Excel use 'Save As' > 'CSV UTF-8 (Comma delimited)'",
        "line 5: code '77777777777777777777...' has 70 characters; at most 64 are kept",
    ]
    assert active_units(engine) == 0


def test_a_name_of_255_characters_is_stored(engine: Engine, tmp_path: Path) -> None:
    name = "Ư" * 255
    import_units_file(engine, write(tmp_path / "u.csv", [LINES[0], f"40,{name},province,,"]))
    with transaction(engine) as session:
        assert session.scalars(select(Unit.name)).one() == name
