"""The insights backlog: Page insights windows that failed, asked again on later nights.

A window fails for many reasons (Facebook unreachable, a quota, the run stopped early). The
nightly window is covered again anyway (``pages.insights_until`` moves only on success), but a
backfill's older windows would be lost for good; so every failed window is kept here until it
succeeds or falls outside the two years Facebook keeps (docs/graph-api.md §4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fanpulse.storage.models import InsightsBacklog
from fanpulse.storage.save import dialect_insert, storable_text

Window = tuple[dt.date, dt.date]


def pending_windows(session: Session) -> dict[int, list[Window]]:
    """Page id -> its failed windows, oldest first."""
    found: dict[int, list[Window]] = {}
    rows = session.execute(select(InsightsBacklog.page_id, InsightsBacklog.since,
                                  InsightsBacklog.until)
                           .order_by(InsightsBacklog.page_id, InsightsBacklog.since))
    for page_id, since, until in rows:
        found.setdefault(page_id, []).append((since, until))
    return found


def _merge(windows: Sequence[Window]) -> list[Window]:
    """Adjacent or overlapping windows joined: what the night's successes cover."""
    merged: list[Window] = []
    for since, until in sorted(windows):
        if merged and since <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], until))
        else:
            merged.append((since, until))
    return merged


def update_backlog(session: Session, page_id: int, succeeded: Sequence[Window],
                   failed: Sequence[tuple[dt.date, dt.date, str]], now: dt.datetime,
                   oldest: dt.date) -> None:
    """Forget the windows the night's successes cover (and those older than ``oldest``);
    remember the failed ones, counting attempts. Runs in the Page's own transaction."""
    if succeeded:
        covered = _merge(succeeded)
        for waiting in session.scalars(select(InsightsBacklog).where(
                InsightsBacklog.page_id == page_id)).all():
            if any(a <= waiting.since and waiting.until <= b for a, b in covered):
                session.delete(waiting)
    session.execute(delete(InsightsBacklog).where(InsightsBacklog.page_id == page_id,
                                                  InsightsBacklog.until <= oldest))
    for since, until, raw_error in failed:
        if until <= oldest:
            continue
        error = storable_text(raw_error)[0]
        row = session.scalars(select(InsightsBacklog).where(
            InsightsBacklog.page_id == page_id, InsightsBacklog.since == since,
            InsightsBacklog.until == until)).first()
        if row is None:
            session.add(InsightsBacklog(page_id=page_id, since=since, until=until, attempts=1,
                                        first_failed_at=now, last_tried_at=now,
                                        last_error=error))
        else:
            row.attempts += 1
            row.last_tried_at = now
            row.last_error = error


# One page's windows for :func:`update_backlogs`: (page_id, succeeded, failed).
PageWindows = tuple[int, Sequence[Window], Sequence[tuple[dt.date, dt.date, str]]]

_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statements(dialect: str) -> dict[str, Any]:
    """The backlog's group statements for one dialect, built once."""
    table: Table = InsightsBacklog.__table__  # type: ignore[assignment]
    if (dialect, "covered") not in _STATEMENTS:
        day = table.c.since.type
        _STATEMENTS[dialect, "covered"] = delete(table).where(
            table.c.page_id == bindparam("page_id_"),
            table.c.since >= bindparam("from_", type_=day),
            table.c.until <= bindparam("to_", type_=day))
        _STATEMENTS[dialect, "old"] = delete(table).where(
            table.c.page_id == bindparam("page_id_"),
            table.c.until <= bindparam("oldest_", type_=day))
        insert = dialect_insert(dialect, table)
        _STATEMENTS[dialect, "failed"] = insert.on_conflict_do_update(
            index_elements=["page_id", "since", "until"],
            set_={"attempts": table.c.attempts + 1,
                  "last_tried_at": insert.excluded.last_tried_at,
                  "last_error": insert.excluded.last_error})
    return {name: _STATEMENTS[dialect, name] for name in ("covered", "old", "failed")}


def update_backlogs(conn: Connection, pages: Sequence[PageWindows], now: dt.datetime,
                    oldest: dt.date) -> None:
    """:func:`update_backlog` for many Pages in the caller's transaction, with three
    statements (each run as executemany) whatever the number of Pages."""
    if not pages:
        return
    statements = _statements(conn.dialect.name)
    covered = [{"page_id_": page_id, "from_": a, "to_": b}
               for page_id, succeeded, _failed in pages if succeeded
               for a, b in _merge(succeeded)]
    if covered:
        conn.execute(statements["covered"], covered)
    conn.execute(statements["old"], [{"page_id_": page_id, "oldest_": oldest}
                                     for page_id, _ok, _failed in pages])
    # One upsert per failed window, in order (executemany): a window failing twice in one
    # night counts two attempts, as it would written one by one.
    failed = [{"page_id": page_id, "since": since, "until": until, "attempts": 1,
               "first_failed_at": now, "last_tried_at": now,
               "last_error": storable_text(raw_error)[0]}
              for page_id, _ok, windows in pages for since, until, raw_error in windows
              if until > oldest]
    if failed:
        conn.execute(statements["failed"], failed)
