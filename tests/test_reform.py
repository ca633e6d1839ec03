"""The 2025 reform as an import (issue 12): units formed from others keep the history.

A 2024-shaped store (a province, two districts, four communes, each with a Page but one
district) with a year of snapshots, every day from 1 October 2024 to 30 September 2025, then the
2025 file imported on 1 October 2025, with merges effective on 1 July 2025:

    2024                                      2025 (effective 2025-07-01)
    40 Tỉnh (pagep)                           40 Tỉnh (pagep)            formed_from 401 402
    ├── 401 Huyện Một (paged1)                ├── 40101 Xã A Mới (pagea) formed_from 40101 40102
    │   ├── 40101 Xã A (pagea)                ├── 50001 Xã Hợp Nhất (pagec) from 40201 40202:part
    │   └── 40102 Xã B (pageb)                └── 50002 Xã Tách               from 40202:part
    └── 402 Huyện Hai (no Page)
        ├── 40201 Xã C (pagec)
        └── 40202 Xã D (paged)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.engine import Engine

from fanpulse.cli import import_units_file
from fanpulse.config.units import UnitsFileError, parse_units_text
from fanpulse.reports.build import build_reports
from fanpulse.reports.metrics import Calculator
from fanpulse.reports.queries import load_store
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageMove, PageSnapshot, Unit, UnitChange, UnitMerge

FIRST = dt.date(2024, 10, 1)
LAST = dt.date(2025, 9, 30)
MERGE = dt.date(2025, 7, 1)
IMPORT_2024 = dt.datetime(2024, 9, 30, 12, tzinfo=dt.UTC)
IMPORT_2025 = dt.datetime(2025, 10, 1, 3, tzinfo=dt.UTC)
BEFORE = dt.date(2025, 6, 30)

FILE_2024 = """code,name,level,parent_code,page
40,Tỉnh Nghệ An,province,,pagep
401,Huyện Một,district,40,paged1
402,Huyện Hai,district,40,
40101,Xã A,commune,401,pagea
40102,Xã B,commune,401,pageb
40201,Xã C,commune,402,pagec
40202,Xã D,commune,402,paged
"""
FILE_2025 = """code,name,level,parent_code,page,formed_from,effective
40,Tỉnh Nghệ An,province,,pagep,401 402,2025-07-01
40101,Xã A Mới,commune,40,pagea,40101 40102,2025-07-01
50001,Xã Hợp Nhất,commune,40,pagec,40201 40202:part,2025-07-01
50002,Xã Tách,commune,40,,40202:part,2025-07-01
"""
BASE = {"pagep": 100_000, "paged1": 20_000, "pagea": 3_000, "pageb": 2_000, "pagec": 4_000,
        "paged": 1_000}


def followers(ref: str, day: dt.date) -> int:
    return BASE[ref] + (day - FIRST).days * (len(ref) + 1)


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "units-2024.csv"
    path.write_text(FILE_2024, encoding="utf-8")
    import_units_file(engine, path, now=IMPORT_2024)
    with transaction(engine) as s:
        for page in s.scalars(select(Page)):
            day = FIRST
            while day <= LAST:
                s.add(PageSnapshot(page_id=page.id, day=day, followers_count=followers(
                    page.ref, day), fan_count=followers(page.ref, day),
                    collected_at=dt.datetime.combine(day, dt.time(13), dt.UTC)))
                day += dt.timedelta(days=1)
    return engine


def import_2025(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "units-2025.csv"
    path.write_text(FILE_2025, encoding="utf-8")
    import_units_file(engine, path, now=IMPORT_2025)


def series_by_code(engine: Engine, as_was: dt.date | None = None) -> dict[str, list[int | None]]:
    data = load_store(engine, FIRST, LAST, as_was=as_was)
    calc = Calculator(data)
    return {u.code: calc.series(calc.subtree_pages(u.id)).followers
            for u in data.units.values()}


def test_merges_keep_every_snapshot_and_follow_the_map(store: Engine, tmp_path: Path) -> None:
    with store.connect() as conn:
        snapshots = conn.execute(select(func.count()).select_from(PageSnapshot)).scalar_one()
    old = series_by_code(store)
    import_2025(store, tmp_path)
    with transaction(store) as s:
        assert s.scalar(select(func.count()).select_from(PageSnapshot)) == snapshots
        units = {u.code: u for u in s.scalars(select(Unit))}
        pages = {p.ref: p for p in s.scalars(select(Page))}
        # Whole predecessors gave their Pages; the Pages stay collected.
        assert pages["pageb"].unit_id == units["40101"].id
        assert pages["pageb"].former_unit_id == units["40102"].id and pages["pageb"].active
        assert pages["pagea"].unit_id == units["40101"].id and pages["pagea"].former_unit_id \
            is None
        assert pages["paged1"].unit_id == units["40"].id and pages["paged1"].active
        assert pages["pagec"].unit_id == units["50001"].id
        # A unit split among new units, none taking it whole: its Page outlives it, still
        # collected, attached to the nearest unit that remains (the province).
        assert pages["paged"].unit_id == units["40"].id and pages["paged"].active
        assert pages["paged"].former_unit_id == units["40202"].id
        assert not units["40202"].active and not units["401"].active
        merges = {(m.unit_id, m.predecessor_id, m.whole) for m in s.scalars(select(UnitMerge))}
        assert (units["50002"].id, units["40202"].id, False) in merges
        assert (units["40101"].id, units["40102"].id, True) in merges
        retired = s.scalars(select(UnitChange).where(UnitChange.change == "retired",
                                                     UnitChange.unit_id == units["40102"].id)
                            ).one()
        assert retired.effective == MERGE  # merged units end on the merge's date
        moved = s.scalars(select(UnitChange).where(UnitChange.change == "moved",
                                                   UnitChange.unit_id == units["40101"].id)
                          ).one()
        assert (moved.old_value, moved.new_value, moved.effective) == ("401", "40", MERGE)
        assert s.scalar(select(func.count()).select_from(PageMove)) >= 3

    new = series_by_code(store)
    # A merged commune's history is the sum of its predecessors' Pages (as-is).
    for k in range(len(new["40101"])):
        assert new["40101"][k] == (old["40101"][k] or 0) + (old["40102"][k] or 0)
        assert new["50001"][k] == old["40201"][k]
    # The province keeps every Page, every one still collected: its line does not break on
    # the merge day.
    assert new["40"] == old["40"]
    data = load_store(store, FIRST, LAST)
    calc = Calculator(data)
    province = next(u for u in data.units.values() if u.code == "40")
    s = calc.series(calc.subtree_pages(province.id))
    k = s.days.index(MERGE)
    assert s.joined[k] == 0 and s.left[k] == 0
    assert s.net_change[k] == (s.followers[k] or 0) - (s.followers[k - 1] or 0)
    # The merge is marked on the merged unit's chart.
    assert data.merges[next(u.id for u in data.units.values() if u.code == "40101")] == [
        (MERGE, "Xã B")]

    # As it was on 30/06/2025: the old tree's figures exactly.
    was = series_by_code(store, as_was=BEFORE)
    for code in ("401", "402", "40101", "40102", "40201", "40202", "40"):
        assert was[code] == old[code], code
    assert "50001" not in was and "50002" not in was
    was_units = load_store(store, FIRST, LAST, as_was=BEFORE).units
    assert {u.name for u in was_units.values() if u.code == "40101"} == {"Xã A"}


def test_importing_the_same_file_again_changes_nothing(store: Engine, tmp_path: Path) -> None:
    import_2025(store, tmp_path)
    with store.connect() as conn:
        merges = conn.execute(select(func.count()).select_from(UnitMerge)).scalar_one()
        moves = conn.execute(select(func.count()).select_from(PageMove)).scalar_one()
    import_2025(store, tmp_path)
    with transaction(store) as s:
        assert s.scalar(select(func.count()).select_from(UnitMerge)) == merges
        assert s.scalar(select(func.count()).select_from(PageMove)) == moves
        page_b = s.scalars(select(Page).where(Page.ref == "pageb")).one()
        assert page_b.active and page_b.former_unit_id is not None  # still a former unit's


def test_an_unknown_predecessor_is_refused_and_nothing_written(store: Engine,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(FILE_2025.replace("40101 40102", "40101 49999"), encoding="utf-8")
    with pytest.raises(UnitsFileError, match="'49999', which is neither in the file nor"):
        import_units_file(store, path, now=IMPORT_2025)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UnitMerge)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Unit)
                            .where(Unit.active.is_(False))).scalar_one() == 0


@pytest.mark.parametrize(("formed_from", "effective", "message"), [
    ("40102", "", "but has no effective date"),
    ("", "2025-07-01", "has an effective date but no formed_from"),
    ("40102", "1/7/25", "is not a date"),
    ("40102 40102", "2025-07-01", "lists '40102' twice"),
    ("x:y", "2025-07-01", "is not a unit code"),
])
def test_formed_from_is_validated(formed_from: str, effective: str, message: str) -> None:
    text = ("code,name,level,parent_code,page,formed_from,effective\n"
            "40,Tỉnh,province,,,,\n"
            f"1,Xã Một,commune,40,,{formed_from},{effective}\n")
    with pytest.raises(UnitsFileError, match=message):
        parse_units_text(text)


def test_a_code_merged_twice_or_still_there_is_refused() -> None:
    twice = ("code,name,level,parent_code,page,formed_from,effective\n"
             "40,Tỉnh,province,,,,\n"
             "1,Xã Một,commune,40,,7,2025-07-01\n"
             "2,Xã Hai,commune,40,,7,2025-07-01\n")
    with pytest.raises(UnitsFileError, match="'7' is merged whole into two units"):
        parse_units_text(twice)
    still = ("code,name,level,parent_code,page,formed_from,effective\n"
             "40,Tỉnh,province,,,,\n"
             "1,Xã Một,commune,40,,2,2025-07-01\n"
             "2,Xã Hai,commune,40,,1,2025-07-01\n")
    with pytest.raises(UnitsFileError, match="which is still in the file"):
        parse_units_text(still)  # a cycle of merges cannot be written either
    parts = ("code,name,level,parent_code,page,formed_from,effective\n"
             "40,Tỉnh,province,,,,\n"
             "1,Xã Một,commune,40,,1 7:part,01/07/2025\n"
             "2,Xã Hai,commune,40,,7:part,2025-07-01\n")
    rows = parse_units_text(parts)
    assert [str(p) for p in rows[1].formed_from] == ["1", "7:part"]
    assert rows[1].effective == MERGE


def test_the_report_as_was_shows_the_old_tree(store: Engine, tmp_path: Path) -> None:
    import_2025(store, tmp_path)
    now = dt.datetime(2025, 10, 1, 5, tzinfo=dt.UTC)
    build_reports(store, tmp_path / "was", date_from=dt.date(2025, 6, 1), date_to=BEFORE,
                  as_was=BEFORE, now=now)
    index = (tmp_path / "was" / "index.html").read_text(encoding="utf-8")
    assert "Cây đơn vị như ngày 30/06/2025" in index
    assert "Huyện Một" in index and "Xã Hợp Nhất" not in index
    build_reports(store, tmp_path / "is", date_from=dt.date(2025, 6, 1), date_to=LAST, now=now)
    page = next(p.read_text(encoding="utf-8") for p in (tmp_path / "is").glob("u-*.html")
                if "<h1>Xã A Mới " in p.read_text(encoding="utf-8"))
    mark = "Sáp nhập (1 đơn vị)"  # the merge marked on the chart (in Plotly's JSON)
    assert mark in page or json.dumps(mark)[1:-1] in page
    # Xã B's Page outlives its unit: listed under the former units' Pages, not as the unit's
    # own Page.
    assert "Trang của đơn vị cũ (sau sáp nhập): 1" in page and "trước đây của Xã B" in page
    own = page.split('id="rollup"', 1)[1].split("</h2>", 1)[0]
    assert "pageb" not in own.lower()
    # Nothing of the retired, emptied Xã B is left to report on its own.
    assert not any("<h1>Xã B " in p.read_text(encoding="utf-8")
                   for p in (tmp_path / "is").glob("u-*.html"))


def test_unit_daily_counts_a_merged_unit_as_its_predecessors(store: Engine,
                                                            tmp_path: Path) -> None:
    import_2025(store, tmp_path)
    day = dt.date(2025, 3, 15)
    with store.connect() as conn:
        level = conn.execute(text(
            "SELECT d.followers FROM unit_daily d JOIN units u ON u.id = d.unit_id "
            "WHERE u.code = '40101' AND d.day = :d"
        ).bindparams(bindparam("d", type_=Date)), {"d": day}).scalar_one()
    assert level == followers("pagea", day) + followers("pageb", day)


def test_the_shipped_files_make_the_reform_without_losing_a_page(engine: Engine) -> None:
    """config/units.nghe-an.csv with ten days of data, then config/units.nghe-an-2025.csv: 130
    communes, every Page still there and collected (but the one unmapped commune's), every
    snapshot kept, each commune's history the sum of its predecessors', no break."""
    root = Path(__file__).parent.parent / "config"
    import_units_file(engine, root / "units.nghe-an.csv", now=IMPORT_2024)
    days = [MERGE + dt.timedelta(days=k) for k in range(-5, 5)]
    with transaction(engine) as s:
        for page in s.scalars(select(Page)):
            for k, day in enumerate(days):
                s.add(PageSnapshot(page_id=page.id, day=day, followers_count=1000 + page.id + k,
                                   fan_count=1000, collected_at=dt.datetime.combine(
                                       day, dt.time(13), dt.UTC)))
    before = load_store(engine, days[0], days[-1])
    old = Calculator(before)
    old_level = {u.code: old.headline(old.subtree_pages(u.id)).followers
                 for u in before.units.values()}
    import_units_file(engine, root / "units.nghe-an-2025.csv", now=IMPORT_2025)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(PageSnapshot)) == 482 * len(days)
        assert s.scalar(select(func.count()).select_from(Unit).where(
            Unit.active.is_(True), Unit.level == "commune")) == 130
        inactive = list(s.scalars(select(Page).where(Page.active.is_(False))))
        assert [p.unit_id for p in inactive] == [
            s.scalars(select(Unit.id).where(Unit.code == "17563")).one()]  # unmapped: retired
    after = load_store(engine, days[0], days[-1])
    new = Calculator(after)
    province = next(u for u in after.units.values() if u.parent_id is None)
    series = new.series(new.subtree_pages(province.id))
    assert sum(series.joined) == 0 and sum(series.left) == 0  # no step: no Page lost
    assert new.headline(new.subtree_pages(province.id)).followers == old_level["40"]
    rows = {r["code"]: r for r in csv.DictReader(
        (root / "units.nghe-an-2025.csv").read_text(encoding="utf-8").splitlines())}
    for unit in after.units.values():
        if unit.level != "commune" or not unit.active:
            continue
        predecessors = [c for c in rows[unit.code]["formed_from"].split() if ":" not in c]
        expected = sum(old_level[c] or 0 for c in predecessors)
        assert new.headline(new.subtree_pages(unit.id)).followers == expected, unit.code
    was = Calculator(load_store(engine, days[0], days[-1], as_was=BEFORE))
    for unit in was.data.units.values():
        assert was.headline(was.subtree_pages(unit.id)).followers == old_level[unit.code], \
            unit.code
