"""like-for-like unit_daily: a unit's day change counts only the Pages in its roll-up the day
before as well

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

A unit's followers on a day add up each Page's latest figure, carried at most 30 days (not at
all for a Page no longer collected, ``pages.active`` false): reports/metrics.py, CARRY_DAYS.
Its change that day must then leave out the Pages that enter or leave that sum, or every Page
added to the units file reads as growth and every Page that stops being read as loss. A Page's
first snapshot already added nothing (its change is empty); what 0002 still counted was a Page
coming back after more than the carry window: the whole gap's growth landed on one day while
the level line had dropped that Page in between.

So ``unit_daily.followers_change`` and ``likes_change`` now add up a Page's change only when
its previous snapshot is at most 31 days earlier (30 days carried, then read again), or 1 day
for an inactive Page. The report's daily net change and period changes follow the same rule,
and ``page_daily`` is unchanged (a Page's own change is against its previous snapshot,
whatever its day). The 31 is written here, not imported: a migration is a fixed picture.

Only ``unit_daily`` changes; it is dropped and created again from 0002's text with the
change columns rewritten (nothing reads ``unit_daily``, so nothing else is dropped).
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The views, exactly as 0002 creates them (the module name starts with a digit: no plain import).
_views = importlib.import_module("fanpulse.storage.migrations.versions.0002_views")

# A Page still in the roll-up the day before: its previous snapshot at most CARRY_DAYS + 1 days
# earlier when it is collected, the day before exactly when it is not.
MAX_GAP = "CASE WHEN pg.active THEN 31 ELSE 1 END"
RECENT = {
    "sqlite": f"julianday(ps.day) - julianday(prev.day) <= {MAX_GAP}",
    "postgresql": f"ps.day - prev.day <= {MAX_GAP}",
}


def _replace(sql: str, old: str, new: str) -> str:
    """``sql`` with ``old`` replaced; 0002's text is fixed, so a miss is a bug here."""
    if old not in sql:
        raise RuntimeError(f"0007: {old!r} not found in 0002's unit_daily")
    return sql.replace(old, new)


def unit_daily_sql(dialect: str) -> str:
    """0002's CREATE VIEW unit_daily for ``dialect``, its change columns like-for-like."""
    sql = _views.view_sql(dialect)["unit_daily"]
    recent = RECENT[dialect]
    if dialect == "postgresql":
        # The previous snapshot's day, which 0002's LATERAL did not select.
        sql = _replace(sql, "SELECT x.followers_count, x.fan_count",
                       "SELECT x.day, x.followers_count, x.fan_count")
        for column in ("followers_count", "fan_count"):
            sql = _replace(sql, f"SUM(ps.{column} - prev.{column})",
                           f"SUM(CASE WHEN {recent} THEN ps.{column} - prev.{column} END)")
        return sql
    for column in ("followers_count", "fan_count"):
        # Nested, not "AND": 0002's condition is an OR that must stay whole.
        sql = _replace(sql, f"THEN ps.{column} - prev.{column} END",
                       f"THEN CASE WHEN {recent}\n                            "
                       f"THEN ps.{column} - prev.{column} END END")
    return sql


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS unit_daily")
    op.execute(unit_daily_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS unit_daily")
    op.execute(_views.view_sql(op.get_bind().dialect.name)["unit_daily"])
