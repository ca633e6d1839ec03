"""Importing units into the store, on SQLite and PostgreSQL: updates, moves, retirements."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fanpulse.config.units import parse_units_text
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot, Unit, UnitChange
from fanpulse.storage.units import load_tree, sync_units

HEADER = "code,name,level,parent_code,page\n"
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)

BEFORE = HEADER + (
    "40,Tỉnh Nghệ An,province,,mattrannghean\n"
    "412,Thành phố Vinh,district,40,mttq.vinh\n"
    "413,Thị xã Cửa Lò,district,40,mttq.cualo\n"
    "100,Phường Nghi Thủy,commune,413,615500000000100\n"
    "101,Phường Hưng Bình,commune,412,615500000000101\n"
)
# Cửa Lò merged into Vinh: its ward moves, the district is retired, Vinh is renamed.
AFTER = HEADER + (
    "40,Tỉnh Nghệ An,province,,mattrannghean\n"
    "412,Thành phố Vinh (mới),district,40,mttq.vinh\n"
    "100,Phường Nghi Thủy,commune,412,615500000000100\n"
    "101,Phường Hưng Bình,commune,412,615500000000101\n"
)


def apply(engine: Engine, text: str, now: dt.datetime) -> object:
    with transaction(engine) as session:
        return sync_units(session, parse_units_text(text), now)


def test_first_import(engine: Engine) -> None:
    report = apply(engine, BEFORE, T0)
    assert report.added == ["40", "412", "413", "100", "101"]  # type: ignore[attr-defined]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == 5
        page = s.scalars(select(Page).where(Page.ref == "615500000000100")).one()
        assert page.graph_id == "615500000000100"
        named = s.scalars(select(Page).where(Page.ref == "mttq.vinh")).one()
        assert named.graph_id is None and named.username == "mttq.vinh"


def test_reimport_same_file_changes_nothing(engine: Engine) -> None:
    apply(engine, BEFORE, T0)
    report = apply(engine, BEFORE, T1)
    assert not report.changed  # type: ignore[attr-defined]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(UnitChange)) == 5  # the five "added"


def test_reimport_moves_renames_and_retires_but_keeps_history(engine: Engine) -> None:
    apply(engine, BEFORE, T0)
    with transaction(engine) as s:
        cualo_page = s.scalars(select(Page).where(Page.ref == "mttq.cualo")).one()
        s.add(PageSnapshot(page_id=cualo_page.id, day=dt.date(2025, 1, 1), collected_at=T0,
                           fan_count=10, followers_count=12))
    report = apply(engine, AFTER, T1)
    assert report.moved == ["100"]  # type: ignore[attr-defined]
    assert report.renamed == ["412"]  # type: ignore[attr-defined]
    assert report.retired == ["413"]  # type: ignore[attr-defined]
    with transaction(engine) as s:
        cualo = s.scalars(select(Unit).where(Unit.code == "413")).one()
        assert not cualo.active and cualo.retired_at == T1
        vinh = s.scalars(select(Unit).where(Unit.code == "412")).one()
        ward = s.scalars(select(Unit).where(Unit.code == "100")).one()
        assert ward.parent_id == vinh.id
        page = s.scalars(select(Page).where(Page.ref == "mttq.cualo")).one()
        assert not page.active  # no longer collected ...
        assert s.scalar(select(func.count()).select_from(PageSnapshot)) == 1  # ... data kept
        changes = {(c.change, c.old_value, c.new_value)
                   for c in s.scalars(select(UnitChange).where(UnitChange.changed_at == T1))}
        assert ("moved", "413", "412") in changes
        assert ("renamed", "Thành phố Vinh", "Thành phố Vinh (mới)") in changes
        roots = load_tree(s)
        assert [c.unit.code for c in roots[0].children] == ["412"]
        all_roots = load_tree(s, include_retired=True)
        assert [c.unit.code for c in all_roots[0].children] == ["412", "413"]
    # The unit comes back: reactivated with its Page.
    report = apply(engine, BEFORE, T1 + dt.timedelta(days=1))
    assert report.reactivated == ["413"]  # type: ignore[attr-defined]
    with transaction(engine) as s:
        assert s.scalars(select(Page).where(Page.ref == "mttq.cualo")).one().active


def test_page_moves_to_the_merged_unit(engine: Engine) -> None:
    apply(engine, BEFORE, T0)
    merged = HEADER + (
        "40,Tỉnh Nghệ An,province,,mattrannghean\n"
        "412,Thành phố Vinh,district,40,mttq.vinh\n"
        "900,Phường Vinh Mới,commune,412,615500000000100\n"
    )
    report = apply(engine, merged, T1)
    assert set(report.retired) == {"413", "100", "101"}  # type: ignore[attr-defined]
    with transaction(engine) as s:
        page = s.scalars(select(Page).where(Page.ref == "615500000000100")).one()
        new_unit = s.scalars(select(Unit).where(Unit.code == "900")).one()
        assert page.unit_id == new_unit.id and page.active


def test_unit_changes_its_page(engine: Engine) -> None:
    apply(engine, BEFORE, T0)
    apply(engine, BEFORE.replace("mttq.vinh", "mttq.vinh.moi"), T1)
    with transaction(engine) as s:
        old = s.scalars(select(Page).where(Page.ref == "mttq.vinh")).one()
        new = s.scalars(select(Page).where(Page.ref == "mttq.vinh.moi")).one()
        assert not old.active and new.active and old.unit_id == new.unit_id


def test_page_handed_from_one_live_unit_to_another(engine: Engine) -> None:
    apply(engine, BEFORE, T0)
    # Ward 101 hands its Page to ward 100 (listed first) and gets none.
    swapped = BEFORE.replace("100,Phường Nghi Thủy,commune,413,615500000000100",
                             "100,Phường Nghi Thủy,commune,413,615500000000101")
    swapped = swapped.replace("101,Phường Hưng Bình,commune,412,615500000000101",
                              "101,Phường Hưng Bình,commune,412,")
    apply(engine, swapped, T1)
    with transaction(engine) as s:
        ward = s.scalars(select(Unit).where(Unit.code == "100")).one()
        page = s.scalars(select(Page).where(Page.ref == "615500000000101")).one()
        assert page.unit_id == ward.id and page.active
        old = s.scalars(select(Page).where(Page.ref == "615500000000100")).one()
        assert not old.active
