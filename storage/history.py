"""The unit tree as it was on a day ("as-was"), from the dated changes the units imports left.

The store always holds today's tree ("as-is"): a commune formed in 2025 owns its predecessors'
Pages, whose snapshots go back years, so its history is the sum of theirs. To see the tree as it
was on a day, :func:`tree_as_of` starts from today's units and Pages and undoes, newest first,
every change that took effect after that day:

* ``unit_changes`` rows with an ``effective`` date after the day: ``added`` (the unit did not
  exist yet), ``retired`` and ``merged_into`` (it was still active), ``moved`` (back under its
  old parent), ``renamed`` (its old name), ``level`` (its old level), ``reactivated``;
* ``page_moves`` with an ``effective`` date after the day: the Page back in its old unit.

Changes without an ``effective`` date are operational (a name corrected, a Page added) and are
never undone: the units of the first import count as having always existed. Nothing is read
but the store; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Boolean, Date, bindparam, text
from sqlalchemy.engine import Connection


@dataclass
class UnitThen:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    active: bool
    existed: bool = True


def tree_as_of(conn: Connection, day: dt.date) -> tuple[dict[int, UnitThen], dict[int, int | None]]:
    """(units by id as they were on ``day``, the unit id of each Page on ``day``)."""
    units = {
        row.id: UnitThen(row.id, row.code, row.name, row.level, row.parent_id, bool(row.active))
        for row in conn.execute(text(
            "SELECT id, code, name, level, parent_id, active FROM units"
        ).columns(active=Boolean))
    }
    by_code = {u.code: u for u in units.values()}
    for row in conn.execute(text(
        "SELECT unit_id, change, old_value, new_value FROM unit_changes "
        "WHERE effective > :day ORDER BY effective DESC, id DESC"
    ).bindparams(bindparam("day", type_=Date)), {"day": day}):
        unit = units.get(row.unit_id)
        if unit is None:
            continue
        if row.change == "added":
            unit.existed = False
        elif row.change in ("retired", "merged_into"):
            unit.active = True
        elif row.change == "reactivated":
            unit.active = False
        elif row.change == "moved":
            old = by_code.get(row.old_value) if row.old_value else None
            unit.parent_id = old.id if old is not None else None
        elif row.change == "renamed" and row.old_value:
            unit.name = row.old_value
        elif row.change == "level" and row.old_value:
            unit.level = row.old_value
    page_unit: dict[int, int | None] = {
        row.id: row.unit_id for row in conn.execute(text("SELECT id, unit_id FROM pages"))
    }
    for row in conn.execute(text(
        "SELECT page_id, from_unit_id FROM page_moves WHERE effective > :day "
        "ORDER BY effective DESC, id DESC"
    ).bindparams(bindparam("day", type_=Date)), {"day": day}):
        page_unit[row.page_id] = row.from_unit_id
    return {uid: u for uid, u in units.items() if u.existed}, page_unit
