"""`fanpulse demo --shape 2025`: the 2024 history, then the reform part-way (issue 12).

The demo collects the 2024 units' Pages (backfill and first night), imports the 2025 file
after the middle night with its effective date rewritten to that simulated day, and collects
the remaining night in the new shape. One short run (2 nights, 3 backfill days, no latency)
is shared by the checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

import fanpulse.demo as demo_module
from fanpulse.cli import PACKAGED_UNITS
from fanpulse.config.units import read_units_file
from fanpulse.demo import (
    DEMO_REPORT_DIR_2025,
    DEMO_STORE_2025,
    REFORM_UNITS,
    DemoStoreRefused,
    DemoSummary,
    demo_report_dir,
    demo_store_url,
    open_demo_store,
    reform_night,
    run_demo,
    write_reform_file,
)
from fanpulse.reports.metrics import Calculator
from fanpulse.reports.queries import load_store
from tests.conftest import make_settings

NIGHTS = 2
BACKFILL = 3
Snapshot = tuple[int, str, int | None]  # page id, day, followers


@dataclass
class Reformed:
    engine: Engine
    summary: DemoSummary
    before: set[Snapshot]  # every Page snapshot collected before the reform was imported


def snapshots(engine: Engine) -> set[Snapshot]:
    with engine.connect() as conn:
        return {(r[0], str(r[1]), r[2]) for r in conn.execute(text(
            "SELECT page_id, day, followers_count FROM page_snapshots"))}


@pytest.fixture(scope="module")
def reformed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reformed]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo2025') / 'demo.db'}"
    engine = open_demo_store(url, PACKAGED_UNITS, "2025")
    before: set[Snapshot] = set()
    original = demo_module.apply_reform

    def recording(engine_: Engine, now: dt.datetime, day: dt.date) -> str:
        before.update(snapshots(engine_))
        return original(engine_, now, day)

    patch = pytest.MonkeyPatch()
    patch.setattr(demo_module, "apply_reform", recording)
    try:
        summary = run_demo(make_settings(), engine, PACKAGED_UNITS, nights=NIGHTS,
                           backfill_days=BACKFILL, shape="2025")
        yield Reformed(engine, summary, before)
    finally:
        patch.undo()
        engine.dispose()


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_the_2025_shape_has_its_own_store_and_folder() -> None:
    assert demo_store_url(None, "2025") == f"sqlite:///{DEMO_STORE_2025}"
    assert demo_store_url(None) == "sqlite:///fanpulse-demo.db"
    assert demo_store_url("x.db", "2025") == "sqlite:///x.db"
    assert demo_report_dir("2025") == DEMO_REPORT_DIR_2025 == "fanpulse-demo-2025-reports"
    assert [reform_night(n) for n in (0, 1, 2, 7)] == [0, 0, 1, 3]


def test_the_reform_file_is_dated_on_the_demo_day(tmp_path: Path) -> None:
    day = dt.date(2026, 11, 20)
    rows = read_units_file(write_reform_file(tmp_path / "r.csv", day))
    original = read_units_file(REFORM_UNITS)
    assert [(r.code, r.name, r.parent_code, r.formed_from) for r in rows] == \
        [(r.code, r.name, r.parent_code, r.formed_from) for r in original]
    assert {r.effective for r in rows} == {day}


def test_the_reform_is_imported_part_way_and_keeps_every_snapshot(reformed: Reformed) -> None:
    summary, engine = reformed.summary, reformed.engine
    assert summary.reform_day is not None
    assert summary.reform_after == 1 + reform_night(NIGHTS)  # backfill + first night
    assert "480 merges recorded" in summary.reform_summary
    assert reformed.before and reformed.before <= snapshots(engine)
    assert scalar(engine, "SELECT COUNT(*) FROM units WHERE active AND level = 'commune'") \
        == 130
    assert scalar(engine, "SELECT COUNT(*) FROM units WHERE active") == 131 == summary.units
    assert scalar(engine, "SELECT COUNT(DISTINCT effective) FROM unit_merges") == 1
    assert scalar(engine, "SELECT MIN(effective) FROM unit_merges") == \
        summary.reform_day.isoformat()


def test_the_collection_after_the_reform_reads_the_active_pages(reformed: Reformed) -> None:
    summary, engine = reformed.summary, reformed.engine
    after = summary.runs[summary.reform_after:]
    assert after and all(run.status in ("ok", "partial") for run in summary.runs)
    active = scalar(engine, "SELECT COUNT(*) FROM pages WHERE active")
    former = scalar(engine, "SELECT COUNT(*) FROM pages WHERE active AND former_unit_id "
                    "IS NOT NULL")
    assert former > 300  # the merged communes' Pages stay collected, as former units' Pages
    for run in after:
        assert run.pages_total == active and run.pages_ok + run.pages_failed == active
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(text(
            "SELECT status FROM collection_runs ORDER BY id"))]
        assert len(statuses) == 1 + NIGHTS and set(statuses) <= {"ok", "partial"}
        last = conn.execute(text("SELECT MAX(day) FROM page_snapshots")).scalar()
        collected = conn.execute(text(
            "SELECT COUNT(*) FROM page_snapshots s JOIN pages p ON p.id = s.page_id "
            "WHERE p.active AND s.day = :day"), {"day": last}).scalar()
    assert collected == active


def test_new_communes_hold_their_predecessors_history(reformed: Reformed) -> None:
    engine, day = reformed.engine, reformed.summary.reform_day
    assert day is not None
    first = day - dt.timedelta(days=BACKFILL + 2)
    data = load_store(engine, first, day + dt.timedelta(days=NIGHTS))
    calc = Calculator(data)
    before = day - dt.timedelta(days=1)
    codes = {u.id: u.code for u in data.units.values()}
    with engine.connect() as conn:
        # Each Page's followers the day before the merge, by the unit it belonged to then.
        by_old_unit: dict[int, int | None] = {unit: total for unit, total in conn.execute(text(
            "SELECT COALESCE(p.former_unit_id, p.unit_id), SUM(s.followers_count) "
            "FROM page_snapshots s JOIN pages p ON p.id = s.page_id WHERE s.day = :day "
            "GROUP BY COALESCE(p.former_unit_id, p.unit_id)"), {"day": before})}
        formed = conn.execute(text(
            "SELECT unit_id, predecessor_id FROM unit_merges WHERE whole")).all()
    predecessors: dict[int, set[int]] = {}
    for unit_id, pred in formed:
        predecessors.setdefault(unit_id, {unit_id}).add(pred)
    communes = [u for u in data.units.values() if u.active and u.level == "commune"]
    assert len(communes) == 130
    checked = 0
    for unit in communes:
        series = calc.series(calc.subtree_pages(unit.id))
        k = series.days.index(before)
        expected = sum(by_old_unit.get(pred) or 0 for pred in predecessors[unit.id])
        assert series.followers[k] == expected, codes[unit.id]
        if len(predecessors[unit.id]) > 1:  # the merge marked on its chart, on that day
            assert {d for d, _ in data.merges.get(unit.id, [])} == {day}, codes[unit.id]
            checked += 1
    assert checked > 100  # most new communes were formed from several


def test_the_province_line_does_not_break_on_the_merge_day(reformed: Reformed) -> None:
    engine, day = reformed.engine, reformed.summary.reform_day
    assert day is not None
    data = load_store(engine, day - dt.timedelta(days=BACKFILL + 2),
                      day + dt.timedelta(days=NIGHTS))
    calc = Calculator(data)
    province = next(u for u in data.units.values() if u.code == "40")
    series = calc.series(calc.subtree_pages(province.id))
    k = series.days.index(day)
    assert series.joined[k] == 0 and series.left[k] == 0
    assert series.followers[k] is not None and series.followers[k - 1] is not None


def test_a_2024_store_is_refused_by_the_2025_shape_and_back(reformed: Reformed,
                                                           tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd2024.db'}"
    run_demo(make_settings(), open_demo_store(url, PACKAGED_UNITS), PACKAGED_UNITS, nights=0,
             backfill_days=1)
    with pytest.raises(DemoStoreRefused, match="a 2024-shape demo"):
        open_demo_store(url, PACKAGED_UNITS, "2025")
    with pytest.raises(DemoStoreRefused, match="a 2025-shape demo"):
        open_demo_store(str(reformed.engine.url), PACKAGED_UNITS, "2024")
    # The 2025 shape's own store, after its reform, is its own: it is opened again.
    open_demo_store(str(reformed.engine.url), PACKAGED_UNITS, "2025").dispose()


def test_after_the_merge_only_the_unmapped_communes_page_leaves(reformed: Reformed) -> None:
    """Every Page stays collected through the reform but the one of 17563 Xã Hợp Thành, which
    the reform map gives no successor (retired, its Page no longer collected): the province's
    line steps by that one Page the day after the merge, and nowhere else."""
    engine, day = reformed.engine, reformed.summary.reform_day
    assert day is not None
    with engine.connect() as conn:
        stopped = conn.execute(text(
            "SELECT u.code FROM pages p JOIN units u ON u.id = p.unit_id WHERE NOT p.active"
        )).scalars().all()
    assert stopped == ["17563"]
    data = load_store(engine, day, day + dt.timedelta(days=NIGHTS))
    calc = Calculator(data)
    province = next(u for u in data.units.values() if u.code == "40")
    series = calc.series(calc.subtree_pages(province.id))
    assert sum(series.joined) == 0
    assert series.left == [0, 1] + [0] * (len(series.left) - 2)
