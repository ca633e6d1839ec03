"""SQL → plain rows: everything the reports read, in a handful of bulk queries.

The figures are defined once, in the views of migration 0002 (``unit_tree``,
``unit_descendants``, ``page_daily``, ``post_latest``), so what a report shows is what an
analyst gets from the same views with ad-hoc SQL. Reports read every unit's data at once
(a few queries for the whole store, not a few per unit): rendering 482 units must take
seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Integer, bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import BindParameter

from fanpulse.storage.history import tree_as_of
from fanpulse.storage.models import UTCDateTime

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
REACTION_KINDS = ("like", "love", "care", "haha", "wow", "sad", "angry")
# What the token can read of a Page (``pages.access``, written by the collector), best first;
# NULL (or anything else) is "not yet checked".
ACCESS_LEVELS = ("full", "partial", "audience", "unreachable")
# page_errors.severity: the Page was not collected that run (failed), or collected with
# something missing (gap: posts_unreadable, insights_refused).
FAILED, GAP = "failed", "gap"


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    depth: int
    active: bool


@dataclass(frozen=True)
class PageInfo:
    id: int
    ref: str
    name: str | None
    unit_id: int | None
    link: str | None
    active: bool
    has_insights: bool | None
    access: str | None = None  # one of ACCESS_LEVELS; None: not yet checked
    tasks: tuple[str, ...] = ()  # the Page's tasks; empty: no Page token (or not yet known)
    posts_readable: bool | None = None
    insights_state: str | None = None  # available, none, refused; None: not asked
    access_checked_at: dt.datetime | None = None
    former_unit_id: int | None = None  # a former unit's Page, given to unit_id by a merge

    @property
    def posts_unreadable(self) -> bool:
        """The store cannot know this Page's posts: its post figures are unknown, not 0."""
        return self.posts_readable is False or self.access in ("audience", "unreachable")


@dataclass(frozen=True)
class DailyRow:
    """One ``page_daily`` row: a Page's audience on a day it was collected."""

    page_id: int
    day: dt.date
    followers: int | None
    likes: int | None
    followers_change: int | None
    likes_change: int | None


@dataclass(frozen=True)
class PostRow:
    """One ``post_latest`` row of the period: a post with its latest engagement."""

    post_id: int
    page_id: int
    local_day: dt.date
    created_time: dt.datetime
    message: str | None
    permalink_url: str | None
    reactions: int
    comments: int
    shares: int
    engagement: int
    reaction_kinds: tuple[int, ...]  # in REACTION_KINDS order
    deleted: bool


@dataclass(frozen=True)
class RunInfo:
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    pages_total: int
    pages_ok: int
    pages_failed: int


@dataclass(frozen=True)
class ErrorRow:
    page_id: int
    kind: str
    code: int | None
    message: str
    severity: str = FAILED  # failed: not collected; gap: collected with something missing


@dataclass
class StoreData:
    """Everything a report build needs, read once."""

    audience_from: dt.date  # first audience day loaded (before the period, for 90-day changes)
    date_from: dt.date  # the period: posts are those published in [date_from, date_to]
    date_to: dt.date
    units: dict[int, UnitInfo]
    descendants: dict[int, list[int]]  # unit id -> unit ids below it, itself included
    pages: dict[int, PageInfo]
    daily: dict[int, list[DailyRow]]  # page id -> rows by day
    posts: list[PostRow]  # posts whose local day is in [date_from, date_to]
    last_post: dict[int, dt.datetime]  # page id -> newest post ever collected (any period)
    last_snapshot: dict[int, tuple[dt.date, dt.datetime]]  # page id -> (day, collected_at)
    latest_run: RunInfo | None
    last_good_run: RunInfo | None  # latest run that ended ok or partial
    errors: dict[int, ErrorRow] = field(default_factory=dict)  # latest run's failures, by page
    gaps: dict[int, list[ErrorRow]] = field(default_factory=dict)  # latest run's gaps, by page
    # page id -> the first day fanpulse collected the Page (its first snapshot): "no post since"
    first_snapshot: dict[int, dt.date] = field(default_factory=dict)
    # unit id -> (day, predecessor's name) of each merge that formed it (unit_merges)
    merges: dict[int, list[tuple[dt.date, str]]] = field(default_factory=dict)
    as_was: dt.date | None = None  # the tree is as it was on this day (None: as it is)

    @property
    def first_day(self) -> dt.date | None:
        """The period's first day with any snapshot (None: no data in the period)."""
        firsts = [next((r.day for r in rows if r.day >= self.date_from), None)
                  for rows in self.daily.values()]
        known = [d for d in firsts if d is not None]
        return min(known) if known else None


def _day_params() -> list[BindParameter[dt.date]]:
    return [bindparam("date_from", type_=Date), bindparam("date_to", type_=Date)]


def load_store(engine: Engine, date_from: dt.date, date_to: dt.date, *,
               audience_from: dt.date | None = None,
               as_was: dt.date | None = None) -> StoreData:
    """Read units, Pages, run status, the posts of ``[date_from, date_to]`` and the audience
    of ``[audience_from, date_to]`` (``audience_from`` defaults to ``date_from``).

    The tree is today's ("as-is": a merged unit holds its predecessors' Pages and history);
    ``as_was`` gives the tree as it was on that day instead (storage/history.py)."""
    audience_from = min(audience_from or date_from, date_from)
    days = {"date_from": date_from, "date_to": date_to}
    with engine.connect() as conn:
        units = {
            row.unit_id: UnitInfo(row.unit_id, row.code, row.name, row.level, row.parent_id,
                                  row.depth, bool(row.active))
            for row in conn.execute(text(
                "SELECT unit_id, code, name, level, parent_id, depth, active FROM unit_tree "
                "ORDER BY depth, code"
            ).columns(active=Boolean))
        }
        descendants: dict[int, list[int]] = defaultdict(list)
        for ancestor_id, unit_id in conn.execute(text(
            "SELECT ancestor_id, unit_id FROM unit_descendants"
        )):
            descendants[ancestor_id].append(unit_id)
        pages = {
            row.id: PageInfo(
                row.id, row.ref, row.name, row.unit_id, row.link, bool(row.active),
                row.has_insights, access=row.access if row.access in ACCESS_LEVELS else None,
                tasks=tuple(t.strip().upper() for t in (row.tasks or "").split(",") if t.strip()),
                posts_readable=row.posts_readable, insights_state=row.insights_state,
                access_checked_at=row.access_checked_at, former_unit_id=row.former_unit_id,
            )
            for row in conn.execute(text(
                "SELECT id, ref, name, unit_id, link, active, has_insights, access, tasks, "
                "posts_readable, insights_state, access_checked_at, former_unit_id "
                "FROM pages ORDER BY id"
            ).columns(active=Boolean, has_insights=Boolean, posts_readable=Boolean,
                      access_checked_at=UTCDateTime))
        }
        if as_was is not None:
            units, descendants, pages = _as_was(conn, as_was, pages)
        merges: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
        for row in conn.execute(text(
            "SELECT m.unit_id, m.effective, p.name FROM unit_merges m "
            "JOIN units p ON p.id = m.predecessor_id WHERE m.unit_id <> m.predecessor_id "
            "ORDER BY m.effective, p.name"
        ).columns(effective=Date)):
            merges[row.unit_id].append((row.effective, row.name))
        daily: dict[int, list[DailyRow]] = defaultdict(list)
        for row in conn.execute(text(
            "SELECT page_id, day, followers, likes, followers_change, likes_change "
            "FROM page_daily WHERE day BETWEEN :date_from AND :date_to ORDER BY page_id, day"
        ).bindparams(*_day_params()).columns(day=Date),
            {"date_from": audience_from, "date_to": date_to},
        ):
            daily[row.page_id].append(DailyRow(*row))
        posts = _load_posts(conn, days)
        # "Now" is the end of date_to: a report on a past period ignores what came later.
        until = {"until": end_of_local_day(date_to)}
        last_post = {
            page_id: moment for page_id, moment in conn.execute(text(
                "SELECT page_id, MAX(created_time) AS latest FROM posts "
                "WHERE created_time < :until GROUP BY page_id"
            ).bindparams(bindparam("until", type_=UTCDateTime)).columns(latest=UTCDateTime),
                until)
        }
        last_snapshot = {
            row.page_id: (row.day, row.collected_at) for row in conn.execute(text(
                "SELECT s.page_id, s.day, s.collected_at FROM page_snapshots s "
                "JOIN (SELECT page_id, MAX(day) AS day FROM page_snapshots "
                "      WHERE day <= :date_to GROUP BY page_id) m "
                "ON m.page_id = s.page_id AND m.day = s.day"
            ).bindparams(bindparam("date_to", type_=Date))
             .columns(day=Date, collected_at=UTCDateTime), {"date_to": date_to})
        }
        first_snapshot = {
            row.page_id: row.day for row in conn.execute(text(
                "SELECT page_id, MIN(day) AS day FROM page_snapshots WHERE day <= :date_to "
                "GROUP BY page_id"
            ).bindparams(bindparam("date_to", type_=Date)).columns(day=Date),
                {"date_to": date_to})
        }
        latest_run, last_good_run = _load_runs(conn, until["until"])
        errors: dict[int, ErrorRow] = {}
        gaps: dict[int, list[ErrorRow]] = defaultdict(list)
        if latest_run is not None:
            for row in conn.execute(text(
                "SELECT page_id, kind, code, message, severity FROM page_errors "
                "WHERE run_id = :run_id AND page_id IS NOT NULL ORDER BY occurred_at, id"
            ).bindparams(bindparam("run_id", type_=Integer)), {"run_id": latest_run.id}):
                error = ErrorRow(*row)
                if error.severity == GAP:
                    gaps[row.page_id].append(error)
                else:
                    errors[row.page_id] = error
    return StoreData(audience_from, date_from, date_to, units, dict(descendants), pages,
                     dict(daily), posts, last_post, last_snapshot, latest_run, last_good_run,
                     errors, dict(gaps), first_snapshot, dict(merges), as_was)


def _as_was(conn: Connection, day: dt.date, pages: dict[int, PageInfo]
            ) -> tuple[dict[int, UnitInfo], dict[int, list[int]], dict[int, PageInfo]]:
    """Units, descendants and Pages' units as they were on ``day``."""
    then, page_unit = tree_as_of(conn, day)
    depth: dict[int, int] = {}

    def depth_of(uid: int) -> int:
        if uid not in depth:
            parent = then[uid].parent_id
            depth[uid] = 0  # guards a cycle in broken data
            depth[uid] = depth_of(parent) + 1 if parent in then else 0
        return depth[uid]

    units = {
        u.id: UnitInfo(u.id, u.code, u.name, u.level,
                       u.parent_id if u.parent_id in then else None, depth_of(u.id), u.active)
        for u in sorted(then.values(), key=lambda u: (depth_of(u.id), u.code))
    }
    children: dict[int | None, list[int]] = defaultdict(list)
    for unit in units.values():
        children[unit.parent_id].append(unit.id)
    descendants: dict[int, list[int]] = {}
    for uid in units:
        found, todo = [], [uid]
        while todo:
            current = todo.pop()
            found.append(current)
            todo.extend(children.get(current, []))
        descendants[uid] = found
    moved = {}
    for pid, page in pages.items():
        unit_id = page_unit.get(pid, page.unit_id)
        # Back in its old unit, a former unit's Page is that unit's own again.
        former = page.former_unit_id if unit_id == page.unit_id else None
        moved[pid] = replace(page, unit_id=unit_id, former_unit_id=former)
    return units, descendants, moved


def _load_posts(conn: Connection, days: dict[str, dt.date]) -> list[PostRow]:
    kinds = ", ".join(f"reactions_{k}" for k in REACTION_KINDS)
    rows = conn.execute(text(
        "SELECT post_id, page_id, local_day, created_time, message, permalink_url, "
        f"reactions, comments, shares, engagement, {kinds}, deleted_at "
        "FROM post_latest WHERE local_day BETWEEN :date_from AND :date_to "
        "ORDER BY created_time, post_id"
    ).bindparams(*_day_params()).columns(local_day=Date, created_time=UTCDateTime,
                                         deleted_at=UTCDateTime), days)
    posts = []
    for row in rows:
        values = tuple(row)
        posts.append(PostRow(
            post_id=row.post_id, page_id=row.page_id, local_day=row.local_day,
            created_time=row.created_time, message=row.message,
            permalink_url=row.permalink_url, reactions=row.reactions or 0,
            comments=row.comments or 0, shares=row.shares or 0,
            engagement=row.engagement or 0,
            reaction_kinds=tuple(v or 0 for v in values[10:10 + len(REACTION_KINDS)]),
            deleted=row.deleted_at is not None,
        ))
    return posts


def _load_runs(conn: Connection,
               until: dt.datetime) -> tuple[RunInfo | None, RunInfo | None]:
    query = (
        "SELECT id, started_at, finished_at, status, pages_total, pages_ok, pages_failed "
        "FROM collection_runs WHERE started_at < :until {status} "
        "ORDER BY started_at DESC, id DESC LIMIT 1"
    )
    found = []
    for status in ("", "AND status IN ('ok', 'partial')"):
        row = conn.execute(
            text(query.format(status=status))
            .bindparams(bindparam("until", type_=UTCDateTime))
            .columns(started_at=UTCDateTime, finished_at=UTCDateTime),
            {"until": until},
        ).first()
        found.append(RunInfo(*row) if row is not None else None)
    return found[0], found[1]


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The UTC instant at which the Asia/Ho_Chi_Minh day ``day`` ends."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), LOCAL_TZ).astimezone(dt.UTC)


def data_span(engine: Engine) -> tuple[dt.date, dt.date] | None:
    """The first and last local day any Page has a snapshot: what the store covers (None
    when it holds no snapshot yet). The default report period starts no earlier."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT MIN(day) AS first_day, MAX(day) AS last_day FROM page_snapshots"
        ).columns(first_day=Date, last_day=Date)).one()
    return None if row.first_day is None else (row.first_day, row.last_day)
