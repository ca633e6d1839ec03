"""The roll-up of every unit with units under it, per day, kept in ``unit_day_totals``.

A province's figures for a year from the snapshots mean a per-Page LAG over every snapshot of
the year (1.8 million rows at 5,000 Pages), seconds on either database; from this table they
are 365 rows. The figures are exactly those of the ``unit_rollup`` saved query (and of the
``unit_daily`` view), like-for-like changes included (migration 0007's rule: a Page's change
counts when its previous snapshot is at most 31 days earlier, 1 day for a Page no longer
collected).

Freshness (migration 0009): triggers append to ``rollup_changes`` every write that can change
a figure, with its day (``snapshot``, ``post``) or ``tree`` for a Page moved, deactivated or
the units' tree changed. The saved query reads this table only for the days before the
earliest logged day and computes the rest from the snapshots, so it never returns a stale
figure; :func:`refresh_rollups` recomputes from that day on and clears what it consumed, so
the live part stays a day or so. Callers: the end of a collection run (collector/run.py), a
units import (storage/units.py ``sync_units``), the synthetic fill; and an operator rebuild
(:func:`rebuild_rollups`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, text
from sqlalchemy.engine import Connection, Engine

from fanpulse.storage.models import UTCDateTime

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# unit_daily's like-for-like window (migration 0007): a change against a snapshot at most
# this many days earlier counts, so recomputing from a day needs the snapshots this far back.
LOOKBACK_DAYS = 31
# "Everything": the first day a full rebuild recomputes from.
EPOCH = dt.date(1900, 1, 1)

GAP_DAYS = {
    "sqlite": "julianday(s.day) - julianday(s.prev_day)",
    "postgresql": "s.day - s.prev_day",
}

# The units with units under it, whose rows are kept (the saved query asks the same question).
SUMMED_UNITS = "SELECT parent_id FROM units WHERE parent_id IS NOT NULL"

REFRESH_SQL = """
INSERT INTO unit_day_totals (unit_id, day, pages_reporting, followers, followers_change, likes,
                             likes_change, posts, reactions, comments, shares, engagement)
WITH snaps AS (
    SELECT ps.page_id,
           ps.day,
           ps.followers_count,
           ps.fan_count,
           LAG(ps.day) OVER w AS prev_day,
           LAG(ps.followers_count) OVER w AS prev_followers,
           LAG(ps.fan_count) OVER w AS prev_likes
    FROM page_snapshots ps
    WHERE ps.day >= :lookback
    WINDOW w AS (PARTITION BY ps.page_id ORDER BY ps.day)
),
page_days AS (
    SELECT s.page_id,
           s.day,
           s.followers_count,
           s.fan_count,
           CASE WHEN {gap} <= CASE WHEN pg.active THEN 31 ELSE 1 END
                THEN s.followers_count - s.prev_followers END AS followers_change,
           CASE WHEN {gap} <= CASE WHEN pg.active THEN 31 ELSE 1 END
                THEN s.fan_count - s.prev_likes END AS likes_change,
           pg.unit_id
    FROM snaps s
    JOIN pages pg ON pg.id = s.page_id
    WHERE s.day >= :start
),
audience AS (
    SELECT d.ancestor_id AS unit_id,
           p.day,
           COUNT(*) AS pages_reporting,
           SUM(p.followers_count) AS followers,
           SUM(p.followers_change) AS followers_change,
           SUM(p.fan_count) AS likes,
           SUM(p.likes_change) AS likes_change
    FROM page_days p
    JOIN unit_descendants d ON d.unit_id = p.unit_id
    WHERE d.ancestor_id IN ({summed})
    GROUP BY d.ancestor_id, p.day
),
post_days AS (
    -- As in unit_rollup: a post counts on its local day when its Page has a snapshot that day.
    SELECT d.ancestor_id AS unit_id,
           pl.local_day AS day,
           COUNT(*) AS posts,
           SUM(pl.reactions) AS reactions,
           SUM(pl.comments) AS comments,
           SUM(pl.shares) AS shares,
           SUM(pl.engagement) AS engagement
    FROM post_latest pl
    JOIN unit_descendants d ON d.unit_id = pl.unit_id
    WHERE pl.created_time >= :start_utc
      AND d.ancestor_id IN ({summed})
      AND EXISTS (SELECT 1 FROM page_snapshots x
                  WHERE x.page_id = pl.page_id AND x.day = pl.local_day)
    GROUP BY d.ancestor_id, pl.local_day
)
SELECT a.unit_id,
       a.day,
       a.pages_reporting,
       a.followers,
       a.followers_change,
       a.likes,
       a.likes_change,
       COALESCE(p.posts, 0),
       COALESCE(p.reactions, 0),
       COALESCE(p.comments, 0),
       COALESCE(p.shares, 0),
       COALESCE(p.engagement, 0)
FROM audience a
LEFT JOIN post_days p ON p.unit_id = a.unit_id AND p.day = a.day
"""


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: from which day it recomputed (None: nothing to do; ``EPOCH``:
    everything), how many rows it wrote, how many logged changes it consumed, in how long."""

    since: dt.date | None
    rows: int
    changes: int
    seconds: float


def refresh_rollups(bind: Engine | Connection,
                    since_day: dt.date | None = None) -> RefreshResult:
    """Bring ``unit_day_totals`` up to date with every write logged in ``rollup_changes``
    (and recompute from ``since_day`` on as well, when given), then clear those log rows.

    With an Engine it runs in its own transaction; with a Connection it runs in the caller's.
    Nothing is needed for correctness: the saved query computes whatever is not summed yet.
    """
    if isinstance(bind, Engine):
        # PostgreSQL: one snapshot for the whole refresh. Under READ COMMITTED each statement
        # sees the rows committed before it, so a collection committing between the summing
        # and the clearing of the log would have its change cleared unsummed; under
        # REPEATABLE READ the clearing sees only the changes the summing saw. (SQLite has one
        # writer at a time: a write committed meanwhile makes this transaction fail, and the
        # next refresh catches up.) The lock below keeps refreshes from overlapping, and no
        # one else writes the totals, so this never fails to serialise.
        options = ({"isolation_level": "REPEATABLE READ"}
                   if bind.dialect.name == "postgresql" else {})
        with bind.connect().execution_options(**options) as conn, conn.begin():
            return _refresh(conn, since_day)
    return _refresh(bind, since_day)


def refresh_after_writes(engine: Engine) -> RefreshResult | None:
    """:func:`refresh_rollups` for a writer that must not fail because of it (the collector):
    a failure is logged and left for the next refresh; the saved query stays right meanwhile,
    only slower."""
    try:
        return refresh_rollups(engine)
    except Exception:  # noqa: BLE001 - the totals are an optimisation, never the data
        log.warning("unit_day_totals not refreshed; the next refresh will catch up",
                    exc_info=True)
        return None


def rebuild_rollups(engine: Engine) -> RefreshResult:
    """Recompute ``unit_day_totals`` for every day (the command ``fanpulse rollups rebuild``)."""
    return refresh_rollups(engine, EPOCH)


def _refresh(conn: Connection, since_day: dt.date | None) -> RefreshResult:
    began = time.perf_counter()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # One refresh at a time (a second one waits, then finds little to do); readers and
        # the collector's writes go on meanwhile.
        conn.execute(text("LOCK TABLE unit_day_totals IN SHARE ROW EXCLUSIVE MODE"))
    last = conn.execute(text("SELECT MAX(id) FROM rollup_changes")).scalar()
    start: dt.date | None = since_day
    changes = 0
    if last is not None:
        changes = int(conn.execute(text("SELECT COUNT(*) FROM rollup_changes WHERE id <= :last"),
                                   {"last": last}).scalar_one())
        tree = conn.execute(text("SELECT 1 FROM rollup_changes WHERE kind = 'tree' "
                                 "AND id <= :last"), {"last": last}).first()
        if tree is not None:
            start = EPOCH
        else:
            first = _as_date(conn.execute(text(
                "SELECT MIN(day) FROM rollup_changes WHERE id <= :last"), {"last": last}).scalar())
            if first is not None:
                start = first if start is None else min(start, first)
    if start is None:
        return RefreshResult(None, 0, 0, round(time.perf_counter() - began, 3))
    conn.execute(text("DELETE FROM unit_day_totals WHERE day >= :start")
                 .bindparams(bindparam("start", type_=Date())), {"start": start})
    statement = text(REFRESH_SQL.format(gap=GAP_DAYS[dialect], summed=SUMMED_UNITS)).bindparams(
        bindparam("start", type_=Date()), bindparam("lookback", type_=Date()),
        bindparam("start_utc", type_=UTCDateTime()))
    start_utc = dt.datetime.combine(start, dt.time(0), LOCAL_TZ).astimezone(dt.UTC)
    rows = conn.execute(statement, {"start": start,
                                    "lookback": start - dt.timedelta(days=LOOKBACK_DAYS),
                                    "start_utc": start_utc}).rowcount
    if last is not None:
        conn.execute(text("DELETE FROM rollup_changes WHERE id <= :last"), {"last": last})
    seconds = round(time.perf_counter() - began, 3)
    log.info("unit_day_totals: %d rows recomputed from %s (%d changes) in %.1f s",
             rows, start, changes, seconds)
    return RefreshResult(start, rows, changes, seconds)


def _as_date(value: object) -> dt.date | None:
    """A DATE read back without a type: SQLite gives the text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
