"""Collection runs, per-Page errors and the store-wide lock (one collection at a time)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, desc, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from fanpulse.storage.db import transaction
from fanpulse.storage.models import CollectionRun, Lock, Page, PageError, Unit
from fanpulse.storage.save import storable_text

COLLECT_LOCK = "collect"
# The holder renews its lock every HEARTBEAT from a timer thread (not from progress, which a
# slow slice of Pages can hold up); a lock not renewed for LOCK_TTL belongs to a process that
# is gone or hung, and is taken over.
HEARTBEAT = dt.timedelta(seconds=30)
LOCK_TTL = dt.timedelta(minutes=3)

log = logging.getLogger(__name__)


class LockBusy(RuntimeError):
    """Another process holds the lock; the message says who and since when."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs (True when it cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows; age decides there
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` ("host:pid") is a process of this machine that no longer runs."""
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process: only its heartbeat can tell
    return not process_alive(int(pid_text))


def take_lock(engine: Engine, name: str = COLLECT_LOCK,
              ttl: dt.timedelta = LOCK_TTL) -> tuple[str, str | None]:
    """Take the named lock or raise :class:`LockBusy`. A lock whose holder is dead (same
    host, no such process) or whose heartbeat is older than ``ttl`` is taken over at once.
    Returns (owner id, a sentence about the takeover or None)."""
    owner = owner_id()
    now = dt.datetime.now(dt.UTC)
    try:
        with transaction(engine) as session:
            session.add(Lock(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
        return owner, None
    except IntegrityError:
        pass
    with transaction(engine) as session:
        holder = session.get(Lock, name)
        if holder is None:  # released in between: try again from the start
            return take_lock(engine, name, ttl)
        # Read before the UPDATE: the ORM refreshes ``holder`` with the new values.
        previous, acquired, expires = holder.owner, holder.acquired_at, holder.expires_at
        stale = expires < now
        dead = holder_is_dead(previous)
        since = acquired.strftime("%d/%m/%Y %H:%M UTC")
        if stale or dead:
            taken = session.execute(
                update(Lock).where(Lock.name == name, Lock.owner == previous,
                                   Lock.acquired_at == acquired)
                .values(owner=owner, acquired_at=now, expires_at=now + ttl)
                .execution_options(synchronize_session=False))
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                why = ("is no longer running" if dead else
                       f"stopped renewing its lock at {expires - ttl:%H:%M UTC}")
                note = (f"took over the lock of the collection started {since} by "
                        f"{previous}, which {why}")
                log.warning(note)
                return owner, note
        beat = now - (expires - ttl)
    raise LockBusy(f"another collection is running ({previous}, since {since}, last "
                   f"heartbeat {max(0, int(beat.total_seconds()))} s ago); try again when it "
                   "has finished")


def acquire_lock(engine: Engine, name: str = COLLECT_LOCK, ttl: dt.timedelta = LOCK_TTL) -> str:
    """Take the named lock (see :func:`take_lock`); returns the owner id."""
    return take_lock(engine, name, ttl)[0]


def refresh_lock(engine: Engine, owner: str, name: str = COLLECT_LOCK,
                 ttl: dt.timedelta = LOCK_TTL) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(engine) as session:
        session.execute(update(Lock).where(Lock.name == name, Lock.owner == owner)
                        .values(expires_at=now + ttl))


def release_lock(engine: Engine, owner: str, name: str = COLLECT_LOCK) -> None:
    with transaction(engine) as session:
        session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


class Heartbeat:
    """Renews the lock and the run's ``heartbeat_at`` every ``every`` from a timer thread, so
    a live run keeps its lock however slow its work, and a dead one loses it within the TTL."""

    def __init__(self, engine: Engine, owner: str, run_id: int,
                 every: dt.timedelta = HEARTBEAT) -> None:
        self.engine, self.owner, self.run_id = engine, owner, run_id
        self.every = every.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fanpulse-heartbeat",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def beat(self) -> None:
        refresh_lock(self.engine, self.owner)
        with transaction(self.engine) as session:
            session.execute(update(CollectionRun).where(CollectionRun.id == self.run_id)
                            .values(heartbeat_at=dt.datetime.now(dt.UTC)))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # a busy store now and then must not kill the heartbeat
                log.warning("could not renew the collection lock", exc_info=True)


def close_abandoned_runs(engine: Engine, now: dt.datetime) -> int:
    """Runs still 'running' while we hold the lock were killed: say so. (A live run holds
    the lock, renewed by its heartbeat, so the caller could not hold it.)"""
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
    message = storable_text(message)[0]  # Facebook's own words may hold a NUL
    with transaction(engine) as session:
        session.add(PageError(run_id=run_id, page_id=page_id, occurred_at=now, kind=kind,
                              code=code, subcode=subcode, message=message,
                              retry_after_minutes=retry_after, severity=severity))


def page_error_row(run_id: int, page_id: int | None, kind: str, message: str,
                   now: dt.datetime, code: int | None = None, subcode: int | None = None,
                   retry_after: int | None = None, severity: str = "failed") -> dict[str, Any]:
    """A ``page_errors`` row as :func:`record_page_error` writes it, for
    :func:`record_page_errors`."""
    return {"run_id": run_id, "page_id": page_id, "occurred_at": now, "kind": kind,
            "code": code, "subcode": subcode, "message": storable_text(message)[0],
            "retry_after_minutes": retry_after, "severity": severity}


_INSERT_ERRORS = insert(PageError.__table__)  # type: ignore[arg-type]


def record_page_errors(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Many Pages' problems (rows from :func:`page_error_row`) in the caller's transaction:
    one executemany."""
    if rows:
        conn.execute(_INSERT_ERRORS, list(rows))


def finish_run(engine: Engine, run_id: int, now: dt.datetime, *, status: str, pages_total: int,
               pages_ok: int, pages_failed: int, graph_calls: int, api_version: str | None,
               message: str | None) -> None:
    message = storable_text(message)[0] if message else message
    with transaction(engine) as session:
        session.execute(update(CollectionRun).where(CollectionRun.id == run_id).values(
            finished_at=now, status=status, pages_total=pages_total, pages_ok=pages_ok,
            pages_failed=pages_failed, graph_calls=graph_calls, api_version=api_version,
            message=message))


def record_token(engine: Engine, run_id: int, expires_at: dt.datetime | None,
                 permissions: frozenset[str] | None) -> None:
    """What the run learned of the configured token (the brief's token rule reads it): its
    expiry and its granted permissions. Never the token."""
    with transaction(engine) as session:
        session.execute(update(CollectionRun).where(CollectionRun.id == run_id).values(
            token_expires_at=expires_at,
            token_permissions=",".join(sorted(permissions)) if permissions is not None
            else None))


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
