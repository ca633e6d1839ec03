"""Apply a validated units file to the store, and read the tree back.

Re-importing an edited file updates names, moves units, retires units that disappeared (kept,
marked inactive from that moment) and never deletes a unit, a Page or anything collected.

A file that would retire many units at once is far more often a mistake (a file saved with only
its header, codes Excel turned into 4.0E+13) than a reorganisation, and it stops the collection
of every unit it retires. So an import that would retire more than :data:`RETIRE_SHARE` of the
active units, or that lists no unit at all, is refused unless the caller allows it
(``fanpulse units import FILE --allow-retire``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fanpulse.config.units import LEVEL_RANK, UnitRow
from fanpulse.storage.models import Page, PageMove, Unit, UnitChange, UnitMerge

ChangeLog = Callable[[Unit, str, str | None, str | None], None]


class UnknownPredecessors(ValueError):
    """Codes in formed_from that are neither in the file nor in the store; nothing written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The share of active units one import may retire without being told to (more is refused).
RETIRE_SHARE = 0.10
SHOWN = 5  # units named in a refusal


class RetireRefused(ValueError):
    """An import would retire too many units (or the file lists none); nothing was written.
    ``problems`` says what would have happened, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


def check_retirements(rows: list[UnitRow], units: list[Unit]) -> list[str]:
    """Why applying ``rows`` over the store's ``units`` needs the operator's word: empty when
    the file lists units and retires at most :data:`RETIRE_SHARE` of the active ones."""
    codes = {row.code for row in rows}
    # A unit merged into others is accounted for: its Pages go to the new unit (whole) or
    # stay collected under the nearest unit that remains (in part).
    merged = {pred.code for row in rows for pred in row.formed_from}
    active = [u for u in units if u.active]
    retiring = [u for u in active if u.code not in codes and u.code not in merged]
    if rows and len(retiring) <= RETIRE_SHARE * len(active):
        return []
    # The highest units first: a refusal that names the province says what is at stake.
    retiring.sort(key=lambda u: (LEVEL_RANK.get(u.level, len(LEVEL_RANK)), u.code))
    named = "; ".join(f"{u.code} {u.name}" for u in retiring[:SHOWN])
    if len(retiring) > SHOWN:
        named += f"; ... ({len(retiring)} in all)"
    if not rows:
        what = (f"it would retire all {len(active)} active units and stop collecting their "
                f"Pages: {named}." if retiring else "nothing would be retired.")
        problems = [f"the file lists no units (only its header?): {what}"]
    else:
        problems = [f"it would retire {len(retiring)} of the {len(active)} active units, more "
                    f"than {RETIRE_SHARE:.0%}, and stop collecting their Pages: {named}. A unit "
                    "is retired when its code is missing from the file: check the code column "
                    "(Excel may have changed the codes)."]
    problems.append("If this is what you mean, import it again with --allow-retire.")
    return problems


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    pages_added: int = 0
    pages_changed: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # "17011 -> 16681", from formed_from

    @property
    def changed(self) -> bool:
        return any([self.added, self.renamed, self.moved, self.retired, self.reactivated,
                    self.pages_added, self.pages_changed, self.merged])

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added", f"{len(self.renamed)} renamed",
            f"{len(self.moved)} moved", f"{len(self.retired)} retired",
            f"{len(self.reactivated)} reactivated", f"{self.pages_added} new Pages",
            f"{len(self.pages_changed)} Page changes", f"{len(self.merged)} merges recorded",
        ]
        return ", ".join(parts)


def _order_parents_first(rows: list[UnitRow]) -> list[UnitRow]:
    by_code = {row.code: row for row in rows}

    def depth(row: UnitRow) -> int:
        n, parent = 0, row.parent_code
        while parent is not None:
            n += 1
            parent = by_code[parent].parent_code
        return n

    return sorted(rows, key=depth)


def sync_units(session: Session, rows: list[UnitRow], now: dt.datetime, *,
               allow_retire: bool = True) -> SyncReport:
    """Make the store's units and Page assignments match ``rows`` (already validated).

    With ``allow_retire=False`` (what operators' imports use) an import that retires too many
    units is refused before anything is written: :class:`RetireRefused`, see
    :func:`check_retirements`."""
    report = SyncReport()
    units = {u.code: u for u in session.scalars(select(Unit))}
    unknown = [f"line {row.line}: unit '{row.code}' is formed from '{pred.code}', which is "
               "neither in the file nor in the store (check the code)"
               for row in rows for pred in row.formed_from
               if pred.code not in units and pred.code not in {r.code for r in rows}]
    if unknown:
        raise UnknownPredecessors(unknown)
    if not allow_retire:
        problems = check_retirements(rows, list(units.values()))
        if problems:
            raise RetireRefused(problems)
    pages = {p.ref: p for p in session.scalars(select(Page))}
    by_unit: dict[int, list[Page]] = {}
    for page in pages.values():
        if page.unit_id is not None and page.active:
            by_unit.setdefault(page.unit_id, []).append(page)
    seen: set[str] = set()

    effective: dt.date | None = None  # the current row's effective date (merges)

    def log(unit: Unit, change: str, old: str | None, new: str | None) -> None:
        session.add(UnitChange(unit_id=unit.id, changed_at=now, change=change,
                               old_value=old, new_value=new, effective=effective))

    for row in _order_parents_first(rows):
        seen.add(row.code)
        effective = row.effective
        parent_id = units[row.parent_code].id if row.parent_code else None
        unit = units.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, name=row.name, level=row.level, parent_id=parent_id,
                        active=True, created_at=now, updated_at=now)
            session.add(unit)
            session.flush()
            units[row.code] = unit
            report.added.append(row.code)
            log(unit, "added", None, row.name)
        else:
            if unit.name != row.name:
                log(unit, "renamed", unit.name, row.name)
                report.renamed.append(row.code)
                unit.name = row.name
            if unit.parent_id != parent_id:
                old_parent = next((u.code for u in units.values() if u.id == unit.parent_id),
                                  None)
                log(unit, "moved", old_parent, row.parent_code)
                report.moved.append(row.code)
                unit.parent_id = parent_id
            if unit.level != row.level:
                log(unit, "level", unit.level, row.level)
                unit.level = row.level
            if not unit.active:
                log(unit, "reactivated", None, None)
                report.reactivated.append(row.code)
                unit.active = True
                unit.retired_at = None
            if session.is_modified(unit):
                unit.updated_at = now

        _assign_page(session, unit, row, pages, by_unit.get(unit.id, []), report, now, log)

    merged_on = _apply_merges(session, rows, units, now, report)
    effective = None
    by_id = {u.id: u for u in units.values()}
    for code, unit in units.items():
        if code in seen or not unit.active:
            continue
        unit.active = False
        unit.retired_at = now
        unit.updated_at = now
        report.retired.append(code)
        effective = merged_on.get(code)  # a merged unit ends on its merge's date
        log(unit, "retired", None, None)
        heir = _surviving_ancestor(unit, by_id, seen) if code in merged_on else None
        for page in session.scalars(select(Page).where(Page.unit_id == unit.id, Page.active)):
            if heir is not None and effective is not None:
                # Split among new units, none took it whole: its Page outlives it, still
                # collected, as a former unit's Page of the nearest unit that remains.
                session.add(PageMove(page_id=page.id, from_unit_id=unit.id,
                                     to_unit_id=heir.id, effective=effective, moved_at=now))
                page.unit_id = heir.id
                page.former_unit_id = unit.id
                report.pages_changed.append(f"{heir.code}: keeps {page.ref} of {code}")
                continue
            # Kept with its history (reports still roll it up); no longer collected.
            page.active = False
    session.flush()
    # The unit_rollup totals follow the new tree after the import commits (the caller runs
    # storage.rollups.refresh_after_writes): a tree change sums every day again, tens of
    # seconds on SQLite, which must not hold the store's write lock (a collection waiting on
    # it) nor be spent on a dry run. Until then the saved query computes the days live.
    return report


def _surviving_ancestor(unit: Unit, by_id: dict[int, Unit], kept: set[str]) -> Unit | None:
    """The nearest unit above ``unit`` that the file keeps (the province after the reform)."""
    parent_id = unit.parent_id
    for _ in range(50):
        parent = by_id.get(parent_id) if parent_id is not None else None
        if parent is None:
            return None
        if parent.code in kept:
            return parent
        parent_id = parent.parent_id
    return None


def _apply_merges(session: Session, rows: list[UnitRow], units: dict[str, Unit],
                  now: dt.datetime, report: SyncReport) -> dict[str, dt.date]:
    """Record each row's formed_from (once: importing the file again changes nothing) and give
    the new unit the Pages of every predecessor taken whole. Those Pages keep their snapshots
    and stay collected, as former units' Pages (``pages.former_unit_id``). Returns the date
    each predecessor taken whole was merged, by code."""
    merged_on: dict[str, dt.date] = {}
    known = {(m.unit_id, m.predecessor_id) for m in session.scalars(select(UnitMerge))}
    for row in rows:
        if not row.formed_from or row.effective is None:
            continue
        unit = units[row.code]
        for pred in row.formed_from:
            old = units[pred.code]
            if old is not unit and (pred.whole or old.code not in merged_on):
                merged_on[old.code] = row.effective
            if (unit.id, old.id) in known:
                continue
            known.add((unit.id, old.id))
            session.add(UnitMerge(unit_id=unit.id, predecessor_id=old.id,
                                  effective=row.effective, whole=pred.whole, recorded_at=now))
            session.add(UnitChange(unit_id=unit.id, changed_at=now, change="formed_from",
                                   old_value=str(pred), new_value=row.code,
                                   effective=row.effective))
            report.merged.append(f"{pred} -> {row.code}")
            if not pred.whole or old is unit:
                continue
            session.add(UnitChange(unit_id=old.id, changed_at=now, change="merged_into",
                                   old_value=None, new_value=row.code,
                                   effective=row.effective))
            for page in session.scalars(select(Page).where(Page.unit_id == old.id)):
                session.add(PageMove(page_id=page.id, from_unit_id=old.id, to_unit_id=unit.id,
                                     effective=row.effective, moved_at=now))
                page.unit_id = unit.id
                if page.ref != (row.page.key if row.page else None):
                    page.former_unit_id = old.id  # not the unit's own Page: a former unit's
    session.flush()
    return merged_on


def _assign_page(session: Session, unit: Unit, row: UnitRow, pages: dict[str, Page],
                 current: list[Page], report: SyncReport, now: dt.datetime,
                 log: ChangeLog) -> None:
    """Give ``unit`` the Page of ``row``; ``current`` are its active Pages before the import."""
    # A Page may have moved to another unit earlier in this import: look at its live state.
    current = [p for p in current if p.unit_id == unit.id and p.active
               and p.former_unit_id is None]  # a former unit's Page stays as it is
    wanted = row.page.key if row.page else None
    continues = any(pred.code == row.code and pred.whole for pred in row.formed_from)
    for page in current:
        if page.ref != wanted and continues:
            # Formed from itself and others, the unit took another predecessor's Page as its
            # own: its old one outlives the old unit, still collected, as a former unit's.
            page.former_unit_id = unit.id
            report.pages_changed.append(f"{unit.code}: {page.ref} kept as a former Page")
            log(unit, "page", page.ref, wanted)
            continue
        if page.ref != wanted:
            page.active = False  # the unit changed Pages: keep the old one's history
            report.pages_changed.append(f"{unit.code}: {page.ref} no longer collected")
            log(unit, "page", page.ref, wanted)
    if row.page is None or wanted is None:
        return
    existing = pages.get(wanted)
    if existing is None:
        page = Page(ref=wanted, unit_id=unit.id, active=True, created_at=now,
                    graph_id=row.page.value if row.page.kind == "id" else None,
                    username=row.page.value if row.page.kind == "username" else None)
        session.add(page)
        pages[wanted] = page
        report.pages_added += 1
    elif existing.unit_id != unit.id or not existing.active or existing.former_unit_id:
        if existing.unit_id != unit.id:
            report.pages_changed.append(f"{unit.code}: now owns {existing.ref}")
            session.add(PageMove(page_id=existing.id, from_unit_id=existing.unit_id,
                                 to_unit_id=unit.id, moved_at=now,
                                 effective=row.effective or now.astimezone(LOCAL_TZ).date()))
        existing.unit_id = unit.id  # e.g. a merged commune's Page now belongs to the new unit
        existing.former_unit_id = None  # the file names it: the unit's own Page
        existing.active = True


@dataclass
class TreeNode:
    unit: Unit
    children: list[TreeNode]
    pages: list[Page]


def load_tree(session: Session, include_retired: bool = False) -> list[TreeNode]:
    """The hierarchy as root nodes, children sorted by code."""
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    if not include_retired:
        units = [u for u in units if u.active]
    pages_by_unit: dict[int, list[Page]] = {}
    for page in session.scalars(select(Page).order_by(Page.ref)):
        if page.unit_id is not None and (page.active or include_retired):
            pages_by_unit.setdefault(page.unit_id, []).append(page)
    nodes = {u.id: TreeNode(u, [], pages_by_unit.get(u.id, [])) for u in units}
    roots = []
    for unit in units:
        node = nodes[unit.id]
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots
