"""Collection runs, per-Page errors and the store-wide lock (one collection at a time)."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from sqlalchemy import delete, desc, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import transaction
from storage.models import CollectionRun, Lock, Page, PageError, Unit

COLLECT_LOCK = "collect"
LOCK_TTL = dt.timedelta(minutes=10)


class LockBusy(RuntimeError):
    """Another process holds the lock; the message says who and since when."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lock(engine: Engine, name: str = COLLECT_LOCK, ttl: dt.timedelta = LOCK_TTL) -> str:
    """Take the named lock or raise :class:`LockBusy`. An expired lock (its holder was killed
    and stopped refreshing it) is taken over. Returns the owner id."""
    owner = owner_id()
    now = dt.datetime.now(dt.UTC)
    try:
        with transaction(engine) as session:
            session.add(Lock(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
        return owner
    except IntegrityError:
        pass
    with transaction(engine) as session:
        taken = session.execute(
            update(Lock).where(Lock.name == name, Lock.expires_at < now)
            .values(owner=owner, acquired_at=now, expires_at=now + ttl)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return owner
        holder = session.get(Lock, name)
    since = holder.acquired_at.strftime("%d/%m/%Y %H:%M UTC") if holder else "?"
    who = holder.owner if holder else "?"
    raise LockBusy(f"another collection is running ({who}, since {since}); "
                   "try again when it has finished")


def refresh_lock(engine: Engine, owner: str, name: str = COLLECT_LOCK,
                 ttl: dt.timedelta = LOCK_TTL) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(engine) as session:
        session.execute(update(Lock).where(Lock.name == name, Lock.owner == owner)
                        .values(expires_at=now + ttl))


def release_lock(engine: Engine, owner: str, name: str = COLLECT_LOCK) -> None:
    with transaction(engine) as session:
        session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


def close_abandoned_runs(engine: Engine, now: dt.datetime) -> int:
    """Runs still 'running' while we hold the lock were killed: say so."""
    with transaction(engine) as session:
        result = session.execute(
            update(CollectionRun).where(CollectionRun.status == "running")
            .values(status="interrupted", finished_at=now,
                    message="the process stopped before the run finished (killed or crashed); "
                            "the next run completed the work")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def start_run(engine: Engine, now: dt.datetime, trigger: str, day: dt.date) -> int:
    with transaction(engine) as session:
        run = CollectionRun(started_at=now, heartbeat_at=now, status="running", trigger=trigger,
                            day=day, host=socket.gethostname(), pid=os.getpid())
        session.add(run)
        session.flush()
        return run.id


def record_page_error(engine: Engine, run_id: int, page_id: int | None, kind: str,
                      message: str, now: dt.datetime, code: int | None = None,
                      subcode: int | None = None, retry_after: int | None = None,
                      severity: str = "failed") -> None:
    with transaction(engine) as session:
        session.add(PageError(run_id=run_id, page_id=page_id, occurred_at=now, kind=kind,
                              code=code, subcode=subcode, message=message,
                              retry_after_minutes=retry_after, severity=severity))


def finish_run(engine: Engine, run_id: int, now: dt.datetime, *, status: str, pages_total: int,
               pages_ok: int, pages_failed: int, graph_calls: int, api_version: str | None,
               message: str | None) -> None:
    with transaction(engine) as session:
        session.execute(update(CollectionRun).where(CollectionRun.id == run_id).values(
            finished_at=now, status=status, pages_total=pages_total, pages_ok=pages_ok,
            pages_failed=pages_failed, graph_calls=graph_calls, api_version=api_version,
            message=message))


@dataclass
class FailedPage:
    unit_code: str | None
    unit_name: str | None
    page_ref: str | None
    kind: str
    message: str
    severity: str = "failed"  # failed, or gap (collected, with something missing)


@dataclass
class PageAccessRow:
    unit_code: str | None
    unit_name: str | None
    page_ref: str
    access: str | None
    reason: str | None
    action: str | None


def recent_runs(engine: Engine, limit: int = 10) -> list[CollectionRun]:
    with transaction(engine) as session:
        return list(session.scalars(
            select(CollectionRun).order_by(desc(CollectionRun.id))
            .limit(limit)))


def run_failures(engine: Engine, run_id: int) -> list[FailedPage]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Unit.code, Unit.name, Page.ref, PageError.kind, PageError.message,
                   PageError.severity)
            .select_from(PageError)
            .outerjoin(Page, Page.id == PageError.page_id)
            .outerjoin(Unit, Unit.id == Page.unit_id)
            .where(PageError.run_id == run_id)
            .order_by(Unit.code, PageError.id))
        return [FailedPage(*row) for row in rows]


def page_access(engine: Engine) -> list[PageAccessRow]:
    """Every active Page with what the token could read of it at the last collection."""
    with transaction(engine) as session:
        rows = session.execute(
            select(Unit.code, Unit.name, Page.ref, Page.access, Page.access_reason,
                   Page.access_action)
            .select_from(Page).outerjoin(Unit, Unit.id == Page.unit_id)
            .where(Page.active).order_by(Unit.code, Page.ref))
        return [PageAccessRow(*row) for row in rows]
