"""A year of believable nightly data, generated fast and deterministically.

:func:`fill_synthetic` fills a store the way a year of nightly collections would have: units and
Pages, one audience snapshot per Page per local day (with gaps where a collection failed),
posts with Vietnamese messages and a posting rhythm that varies from Page to Page (some post
daily, some go quiet for weeks), post engagement that grows and then saturates, one collection
run per night and the Page errors behind every gap.

It also says what the token could read of each Page (``pages.access`` and the columns beside
it), as the collector records it: the province and district Pages are read in full; about 12%
of the commune Pages are not shared with the Business Manager, so only their audience is read
(no posts at all, and a ``posts_unreadable`` gap each week when the posts are tried again); a
few are partial (a Page token without the Analyze task, insights refused once; or no Page
token but public posts); about one full commune Page in twenty gets no insights from Meta
(``insights_state`` none); and one commune Page is unreachable (a wrong id in the units file:
it fails every night, never collected).

The Pages read in full with insights available also get views, as the collector stores them:
daily ``page_media_view`` values in ``page_insights`` (a few times the followers per week, plus
the views of the day's posts) and, with ``post_views=True``, each post's lifetime
``post_media_view`` in ``post_insights`` on the days its engagement is read. Other Pages have
none (absent, not 0).

It exists for reports, benchmarks and tests, never for production stores. Everything is drawn
from ``random.Random`` generators seeded with ``(seed, page ref)``, so the same arguments give
the same rows. Rows go in by bulk, one transaction per chunk of 20,000: the Nghệ An file (482
Pages) x 365 days takes about 15 s; 5,000 Pages x 365 days (1.8 million audience snapshots,
3.6 million rows in all) about 2 minutes of CPU (3.3 minutes on a busy 2-core machine) on SQLite
or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import TypeEngine

from fanpulse.config.units import PageRef, UnitRow, read_units_file
from fanpulse.storage.db import transaction
from fanpulse.storage.models import (
    CollectionRun,
    Page,
    PageError,
    PageInsight,
    PageSnapshot,
    Post,
    PostInsight,
    PostSnapshot,
    Unit,
)
from fanpulse.storage.rollups import refresh_rollups
from fanpulse.storage.units import sync_units

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PACIFIC = ZoneInfo("America/Los_Angeles")  # Insights days end at Pacific midnight
CHUNK_ROWS = 20_000
SQLITE_CACHE_KB = 256 * 1024
API_VERSION = "v26.0"
RUN_HOUR = 2  # the nightly job starts at 02:00 local time (the default schedule_cron)
RECHECK_DAYS = 7  # the default insights_recheck_days: a "no" is asked again after a week

RUNS: Table = CollectionRun.__table__  # type: ignore[assignment]
PAGES: Table = Page.__table__  # type: ignore[assignment]
PAGE_SNAPSHOTS: Table = PageSnapshot.__table__  # type: ignore[assignment]
POSTS: Table = Post.__table__  # type: ignore[assignment]
POST_SNAPSHOTS: Table = PostSnapshot.__table__  # type: ignore[assignment]
PAGE_ERRORS: Table = PageError.__table__  # type: ignore[assignment]
PAGE_INSIGHTS: Table = PageInsight.__table__  # type: ignore[assignment]
POST_INSIGHTS: Table = PostInsight.__table__  # type: ignore[assignment]

REACTION_TYPES = ("like", "love", "care", "haha", "wow", "sad", "angry")

# Rows are built as tuples in these column orders (dicts cost a third of the run time).
COLUMNS: dict[str, tuple[str, ...]] = {
    "page_snapshots": ("page_id", "day", "collected_at", "fan_count", "followers_count",
                       "talking_about_count", "run_id"),
    "posts": ("id", "graph_id", "page_id", "created_time", "message", "permalink_url",
              "status_type", "first_seen_at", "last_seen_at", "deleted_at"),
    "post_snapshots": ("post_id", "day", "collected_at", "reactions", "comments", "shares",
                       "run_id", *(f"reactions_{k}" for k in REACTION_TYPES)),
    "page_errors": ("run_id", "page_id", "occurred_at", "kind", "code", "subcode", "message",
                    "retry_after_minutes", "severity"),
    "page_insights": ("page_id", "metric", "period", "end_time", "value", "collected_at"),
    "post_insights": ("post_id", "metric", "period", "day", "value", "collected_at"),
}
_MOODS: dict[str, tuple[float, ...]] = {
    "normal": (0.72, 0.16, 0.06, 0.02, 0.02, 0.015, 0.005),
    "celebration": (0.55, 0.32, 0.08, 0.02, 0.03, 0.0, 0.0),
    "condolence": (0.30, 0.02, 0.12, 0.0, 0.01, 0.54, 0.01),
}

# Why a Page fails, as the collector records it: kind, code, subcode, message, retry minutes.
_FAILURES: dict[str, tuple[int | None, int | None, str, int | None]] = {
    "transient": (2, None, "Graph API temporary error: please retry later", None),
    "throttled": (32, None, "Page request limit reached; waiting before the next call", 60),
    "permission": (10, None, "The token may not read this Page (pages_read_engagement missing)",
                   None),
    "unpublished": (100, 33, "The Page is unpublished or no longer visible", None),
    "not_found": (100, 33, "The Page does not exist or was renamed", None),
}

# What the token can read of a Page (pages.access), with the collector's words
# (collector/access.py) for the reason and the action.
_SHARE_ACTION = ("ask the Page's admin to share the Page with the Business Manager as a partner "
                 "asset, with at least the Analyze task (README: Pointing it at real Pages)")
_ANALYZE_ACTION = ("ask the Page's admin to give the Business Manager the Analyze task on this "
                   "Page (Business settings > Pages > the Page > partner access)")
_REF_ACTION = ("check the Page's id or username in the units file; if it is right, the Page "
               "is unpublished or deleted, or hidden from this token")
_ADMIN_TASKS = "ADVERTISE,ANALYZE,CREATE_CONTENT,MANAGE,MESSAGING,MODERATE"
_PARTNER_TASKS = ("ANALYZE", "ANALYZE,CREATE_CONTENT", "ADVERTISE,ANALYZE,CREATE_CONTENT,MODERATE")


@dataclass(frozen=True)
class _Access:
    """One Page's access profile: pages.access and what goes with it."""

    level: str  # full, partial, audience, unreachable
    tasks: str | None = None  # None: no Page token (the Page is not shared)
    posts_readable: bool | None = True
    insights: str | None = "available"  # insights_state
    reason: str | None = None
    action: str | None = None


_FULL = _Access("full", _ADMIN_TASKS)
_AUDIENCE = _Access("audience", None, False, None,
                    "not shared with the Business Manager: no Page token, so only the audience "
                    "is readable", _SHARE_ACTION)
_PARTIAL_NO_ANALYZE = _Access("partial", "CREATE_CONTENT,MODERATE", True, "refused",
                              "no Analyze task on this Page: no insights", _ANALYZE_ACTION)
_PARTIAL_PUBLIC = _Access("partial", None, True, None,
                          "not shared with the Business Manager: audience and public posts "
                          "only, no insights", _SHARE_ACTION)
_UNREACHABLE = _Access("unreachable", None, None, None,
                       "the Page could not be read (not found)", _REF_ACTION)

_SYLLABLES = (
    "An", "Bình", "Cẩm", "Diễn", "Đông", "Hòa", "Hưng", "Kim", "Lạc", "Long", "Minh", "Nam",
    "Nghĩa", "Phú", "Quang", "Sơn", "Tân", "Thanh", "Thịnh", "Trung", "Vĩnh", "Xuân", "Yên",
)
_PLACES = ("xóm Đồng Tâm", "khối Tân Phúc", "bản Huồi Tụ", "xóm Yên Hòa", "thôn Trung Sơn",
           "khối 7", "xóm Bắc Lâm", "bản Na Loi")
_TOPICS = ("dự thảo sửa đổi Hiến pháp", "quy hoạch sử dụng đất", "bảo hiểm y tế hộ gia đình",
           "sắp xếp đơn vị hành chính cấp xã", "an toàn giao thông", "chuyển đổi số")
_TEMPLATES = (
    "{unit} tổ chức hội nghị sơ kết công tác Mặt trận 6 tháng đầu năm {year}.",
    "Ngày hội Đại đoàn kết toàn dân tộc ở {place}: vui tươi, ấm tình làng nghĩa xóm.",
    "Bàn giao nhà Đại đoàn kết cho hộ cận nghèo ở {place}. Cảm ơn các nhà hảo tâm đã chung tay!",
    "{unit} phát động đợt cao điểm \"Vì người nghèo\" năm {year}.",
    "Hướng dẫn bà con kích hoạt tài khoản định danh điện tử VNeID mức 2 tại nhà văn hóa {place}.",
    "Thăm, tặng quà gia đình chính sách nhân ngày Thương binh - Liệt sĩ 27/7.",
    "Hội nghị lấy ý kiến Nhân dân về {topic}.",
    "Đoàn viên, hội viên ra quân dọn vệ sinh, trồng hoa trên tuyến đường ở {place}.",
    "Tiếp nhận ủng hộ đồng bào vùng lũ. Mọi tấm lòng xin gửi về {unit}.",
    "Đối thoại giữa lãnh đạo địa phương với Nhân dân {place} về {topic}.",
    "Tập huấn kỹ năng truyền thông số cho cán bộ Mặt trận cơ sở năm {year}. #chuyendoiso",
    "Tuyên truyền cuộc vận động \"Người Việt Nam ưu tiên dùng hàng Việt Nam\" đến từng hộ dân.",
    "Giám sát việc thực hiện chính sách hỗ trợ người có công tại {place}. Kết quả giám sát sẽ "
    "được báo cáo tại kỳ họp tới; mời bà con theo dõi và góp ý để công tác ngày càng tốt hơn, "
    "sát với tâm tư, nguyện vọng của Nhân dân.",
)
_CELEBRATION = "Chào mừng {n} năm Ngày truyền thống Mặt trận Tổ quốc Việt Nam (18/11)! 🇻🇳"
_CONDOLENCE = "Vô cùng thương tiếc đồng chí nguyên Chủ tịch Ủy ban MTTQ {unit}. Thành kính phân ưu."


@dataclass(frozen=True)
class SyntheticSummary:
    """What :func:`fill_synthetic` wrote."""

    units: int
    pages: int
    first_day: dt.date
    last_day: dt.date
    runs: int
    page_snapshots: int
    posts: int
    post_snapshots: int
    page_errors: int
    seconds: float
    page_insights: int = 0  # daily page_media_view values
    post_insights: int = 0  # lifetime post_media_view readings


@dataclass
class _PageInfo:
    id: int
    ref: str
    graph_id: str | None
    username: str | None
    level: str
    unit_name: str


@dataclass
class _Plan:
    """One Page's year, decided before any row is written (failures shape the runs)."""

    page: _PageInfo
    rng: random.Random
    start: int  # first day index with data (Pages added later start later)
    failed: dict[int, str] = field(default_factory=dict)  # day index -> failure kind
    access: _Access = _FULL
    seed: int = 1  # the fill_synthetic seed (the views have their own generator)
    post_views: bool = False  # write post_media_view readings (post_insights)


def local_day(moment: dt.datetime) -> dt.date:
    """The Asia/Ho_Chi_Minh calendar day of an aware instant."""
    return moment.astimezone(LOCAL_TZ).date()


def _local_instant(day: dt.date, hours: float) -> dt.datetime:
    start = dt.datetime.combine(day, dt.time(0), LOCAL_TZ)
    return (start + dt.timedelta(hours=hours)).astimezone(dt.UTC)


def fill_synthetic(engine: Engine, *, n_pages: int | None = None, units_csv: str | None = None,
                   days: int = 365, end_day: dt.date | None = None,
                   seed: int = 1, post_views: bool = False) -> SyntheticSummary:
    """Fill a store that holds no collected data yet with ``days`` nights of synthetic data.

    Units come from ``units_csv`` (validated and synced like ``fanpulse units import``), or a
    generated province → districts → communes tree with ``n_pages`` Pages (plus a few
    communes without a Page), or, when neither is given, the Pages already in the store.
    ``end_day`` (default: today in Asia/Ho_Chi_Minh) is the local day of the last nightly run.
    ``post_views`` also writes each post's lifetime ``post_media_view`` readings (off by
    default for now: a test that deletes posts would then have to delete those rows too).
    """
    began = time.perf_counter()
    if n_pages is not None and units_csv is not None:
        raise ValueError("give n_pages or units_csv, not both")
    if n_pages is not None and n_pages < 1:
        raise ValueError("n_pages must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")
    last_day = end_day or dt.datetime.now(LOCAL_TZ).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    day_list = [first_day + dt.timedelta(days=i) for i in range(days)]
    _refuse_collected_data(engine)

    rows: list[UnitRow] | None = None
    if units_csv is not None:
        rows = read_units_file(Path(units_csv))
    elif n_pages is not None:
        rows = generated_units(n_pages, seed)
    created = _local_instant(first_day - dt.timedelta(days=1), 9)
    with transaction(engine) as session:
        if rows is not None:
            sync_units(session, rows, created)
        n_units = session.scalar(select(func.count()).select_from(Unit)) or 0
        pages = [
            _PageInfo(p.id, p.ref, p.graph_id, p.username, level, name)
            for p, level, name in session.execute(
                select(Page, Unit.level, Unit.name)
                .join(Unit, Page.unit_id == Unit.id)
                .where(Page.active)
                .order_by(Page.id)
            )
        ]
    if not pages:
        raise ValueError("the store has no active Pages: give n_pages or units_csv")

    plans = [_plan_page(page, seed, days, post_views) for page in pages]
    _plan_access(plans, seed, days)
    with engine.begin() as conn:
        run_id0 = _next_id(conn, RUNS)
        post_id0 = _next_id(conn, POSTS)
    run_rows = _run_rows(plans, day_list, run_id0, seed)
    run_columns = tuple(run_rows[0])
    _insert(engine, RUNS, run_columns, [tuple(row.values()) for row in run_rows])
    run_start = [row["started_at"] for row in run_rows]

    writer = _ChunkWriter(engine)
    page_updates: list[dict[str, Any]] = []
    post_id = post_id0
    for order, plan in enumerate(plans):
        # Pages are collected one after another, a fraction of a second apart.
        offsets = dt.timedelta(seconds=order * 0.4)
        collected = [start + offsets for start in run_start]
        page_row, post_id = _page_rows(plan, day_list, collected, run_id0, post_id, writer)
        page_updates.append(page_row)
    writer.flush()
    _update_pages(engine, page_updates)
    _fix_sequences(engine)
    refresh_rollups(engine)  # the unit_rollup totals for the days just written
    return SyntheticSummary(
        units=n_units, pages=len(pages), first_day=first_day, last_day=last_day,
        runs=len(run_rows), page_snapshots=writer.counts[PAGE_SNAPSHOTS.name],
        posts=writer.counts[POSTS.name], post_snapshots=writer.counts[POST_SNAPSHOTS.name],
        page_errors=writer.counts[PAGE_ERRORS.name],
        seconds=round(time.perf_counter() - began, 2),
        page_insights=writer.counts[PAGE_INSIGHTS.name],
        post_insights=writer.counts[POST_INSIGHTS.name],
    )


def generated_units(n_pages: int, seed: int = 1) -> list[UnitRow]:
    """A province → districts → communes tree holding ``n_pages`` Pages.

    About one commune in fifty extra has no Page yet, as in real provinces.
    """
    rng = random.Random(f"{seed}/tree")
    n_districts = min(21, max(1, round((n_pages - 1) / 23))) if n_pages > 1 else 0
    n_communes = max(0, n_pages - 1 - n_districts)
    rows = [UnitRow(1, "P01", "Tỉnh Mẫu Sơn", "province", None, PageRef("id", _page_id(0)))]
    for d in range(n_districts):
        name = f"Huyện {_SYLLABLES[d % len(_SYLLABLES)]} {_SYLLABLES[(d * 7 + 3) % 23]}"
        rows.append(UnitRow(len(rows) + 1, f"D{d + 1:02d}", name, "district", "P01",
                            PageRef("id", _page_id(d + 1))))
    used: set[str] = set()
    extra = n_communes // 50
    for c in range(n_communes + extra):
        parent = f"D{c % n_districts + 1:02d}" if n_districts else "P01"
        base = f"{rng.choice(('Xã', 'Xã', 'Xã', 'Phường', 'Thị trấn'))} " \
               f"{rng.choice(_SYLLABLES)} {rng.choice(_SYLLABLES)}"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base} {k}"
        used.add(name)
        page = PageRef("id", _page_id(n_districts + 1 + c)) if c < n_communes else None
        rows.append(UnitRow(len(rows) + 1, f"C{c + 1:05d}", name, "commune", parent, page))
    return rows


def _page_id(index: int) -> str:
    return str(990_000_000_000_000 + index)


def _refuse_collected_data(engine: Engine) -> None:
    with engine.connect() as conn:
        for table in (PAGE_SNAPSHOTS, POSTS, RUNS):
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise ValueError(
                    f"the store already holds {table.name}: synthetic data goes into a fresh store"
                )


def _next_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.max(table.c.id))).scalar_one() or 0) + 1


# --- planning -----------------------------------------------------------------------------

def _plan_page(page: _PageInfo, seed: int, days: int, post_views: bool = False) -> _Plan:
    rng = random.Random(f"{seed}/{page.ref}")
    start = 0
    if page.level not in ("province", "district") and rng.random() < 0.03 and days > 60:
        start = rng.randrange(30, int(days * 0.8))  # a Page added to the file later
    plan = _Plan(page, rng, start, seed=seed, post_views=post_views)
    for day in range(start, days):
        roll = rng.random()
        if roll < 0.002:
            plan.failed[day] = "transient"
        elif roll < 0.003:
            plan.failed[day] = "throttled"
    if rng.random() < 0.12 and days > 10:
        # A longer outage: a lost permission or an unpublished Page, fixed after a while.
        length = rng.randint(2, 12)
        first = rng.randrange(start, max(start + 1, days - length))
        kind = rng.choice(("permission", "unpublished", "not_found"))
        for day in range(first, min(days, first + length)):
            plan.failed[day] = kind
    if rng.random() < 0.015:
        # Still failing last night: the morning report must say which Pages and why.
        length = rng.randint(1, 6)
        # (Not "not found": the collector would call the Page unreachable; one Page is.)
        kind = rng.choice(("permission", "unpublished", "transient", "transient"))
        for day in range(max(start, days - length), days):
            plan.failed[day] = kind
    return plan


def _plan_access(plans: list[_Plan], seed: int, days: int) -> None:
    """Decide what the token reads of each Page (its own generator: the Page's audience and
    posts stay what they were before access levels existed)."""
    communes = []
    for plan in plans:
        if plan.page.level in ("province", "district"):
            continue
        communes.append(plan)
        rng = random.Random(f"{seed}/{plan.page.ref}/access")
        roll = rng.random()
        if roll < 0.12:
            plan.access = _AUDIENCE
        elif roll < 0.14:
            plan.access = _PARTIAL_NO_ANALYZE
        elif roll < 0.15:
            plan.access = _PARTIAL_PUBLIC
        else:
            plan.access = _Access("full", rng.choice(_PARTNER_TASKS),
                                  insights="none" if rng.random() < 0.05 else "available")
    if communes:
        lost = random.Random(f"{seed}/unreachable").choice(communes)
        lost.access = _UNREACHABLE
        lost.failed = dict.fromkeys(range(lost.start, days), "not_found")


def _last_check(plan: _Plan, days: int, every: int) -> int | None:
    """The last night (day index) on which a weekly recheck read the Page."""
    for day in range(days - 1, plan.start - 1, -1):
        if (day - plan.start) % every == 0 and day not in plan.failed:
            return day
    return None


def _run_rows(plans: list[_Plan], day_list: list[dt.date], run_id0: int,
              seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}/runs")
    rows = []
    for i, day in enumerate(day_list):
        total = sum(1 for p in plans if p.start <= i)
        failed = sum(1 for p in plans if i in p.failed)
        started = _local_instant(day, RUN_HOUR + rng.random() / 30)
        finished = started + dt.timedelta(seconds=total * 0.4 + rng.uniform(5, 60))
        rows.append({
            "id": run_id0 + i, "started_at": started, "finished_at": finished,
            "heartbeat_at": finished, "status": "partial" if failed else "ok",
            "trigger": "schedule", "day": day, "pages_total": total,
            "pages_ok": total - failed, "pages_failed": failed,
            "graph_calls": total * 3 + rng.randint(0, total), "api_version": API_VERSION,
            "message": f"{failed} Page(s) failed" if failed else None,
            "host": "synthetic", "pid": None,
        })
    return rows


# --- rows -----------------------------------------------------------------------------------

class _ChunkWriter:
    """Buffers rows per table and writes each full chunk in its own transaction."""

    # Parents before children.
    ORDER = (PAGE_SNAPSHOTS, POSTS, POST_SNAPSHOTS, POST_INSIGHTS, PAGE_INSIGHTS, PAGE_ERRORS)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in self.ORDER}
        self.counts: dict[str, int] = {t.name: 0 for t in self.ORDER}
        self.pending = 0

    def add(self, table: Table, row: tuple[Any, ...]) -> None:
        self.buffers[table.name].append(row)
        self.pending += 1

    def maybe_flush(self) -> None:
        if self.pending >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        for table in self.ORDER:
            rows = self.buffers[table.name]
            if rows:
                _insert(self.engine, table, COLUMNS[table.name], rows)
                self.counts[table.name] += len(rows)
                self.buffers[table.name] = []
        self.pending = 0


_PROCESSORS: dict[tuple[str, str], Callable[[Any], Any] | None] = {}


def _processor(dialect: Dialect, column_type: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """The column type's bind processor for this dialect, remembering what it converted.

    Days and collection times repeat across rows and tables (a Page's snapshot, its posts and
    their snapshots share one collected_at), so each value is converted once.
    """
    key = (f"{dialect.name}+{dialect.driver}", repr(column_type))
    if key not in _PROCESSORS:
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        _PROCESSORS[key] = lru_cache(maxsize=65_536)(processor) if processor else None
    return _PROCESSORS[key]


def _insert(engine: Engine, table: Table, names: tuple[str, ...],
            rows: list[tuple[Any, ...]]) -> None:
    """Write rows (tuples in ``names`` order) by the driver's fastest bulk path, one
    transaction per chunk.

    Values still pass through each column's own bind processor for this dialect (so
    ``UTCDateTime`` refuses a naive datetime and writes UTC exactly as the ORM does); only
    SQLAlchemy's per-row statement machinery is skipped. Measured on 360,000 rows, Core
    ``insert()`` with lists of dicts managed about 30,000 rows/s on SQLite and 16,000 on
    PostgreSQL, too slow for a 5,000-Page year; ``executemany`` on the sqlite3 connection and
    ``COPY`` on psycopg are several times faster.
    """
    if not rows:
        return
    dialect = engine.dialect
    processors = [(i, proc) for i, name in enumerate(names)
                  if (proc := _processor(dialect, table.c[name].type)) is not None]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk: list[Any] = rows[start:start + CHUNK_ROWS]
        if processors:
            # Column by column: map() and zip() run the loops in C.
            by_column: list[Any] = list(zip(*chunk, strict=True))
            for i, process in processors:
                by_column[i] = map(process, by_column[i])
            chunk = list(zip(*by_column, strict=True))
        with engine.begin() as conn:
            driver: Any = conn.connection.driver_connection
            if dialect.name == "postgresql":
                with driver.cursor() as cursor, cursor.copy(
                    f"COPY {quote(table.name)} ({columns}) FROM STDIN"
                ) as copy:
                    for values in chunk:
                        copy.write_row(values)
            elif dialect.name == "sqlite":
                # Page-major rows land in random places of the day indexes: a bigger page cache
                # keeps those index pages in memory instead of re-reading them per chunk.
                driver.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
                marks = ", ".join("?" for _ in names)
                driver.executemany(
                    f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})", chunk
                )
            else:
                conn.execute(table.insert(), [dict(zip(names, values, strict=True))
                                              for values in rows[start:start + CHUNK_ROWS]])


def _audience(plan: _Plan, days: int) -> Iterator[tuple[int, int, int]]:
    """(followers, likes, talking_about) for every day from the Page's start."""
    rng = plan.rng
    level = plan.page.level
    if level == "province":
        followers = rng.uniform(158_000, 162_000)
        growth = 0.00020
    elif level == "district":
        followers = 6_000 * math.exp(rng.gauss(0, 0.6))
        growth = 0.0006 * math.exp(rng.gauss(0, 0.5))
    else:
        followers = max(30.0, 1_200 * math.exp(rng.gauss(0, 1.1)))
        growth = 0.0008 * math.exp(rng.gauss(0, 0.7)) * (1 if rng.random() > 0.12 else -0.4)
    like_ratio = rng.uniform(0.90, 0.97)
    spike_day = rng.randrange(days) if rng.random() < 0.3 else -1
    for day in range(plan.start, days):
        mean = followers * growth
        change = mean + math.sqrt(abs(mean) + 1.0) * rng.gauss(0, 1.2)
        if spike_day <= day < spike_day + 4:
            change += followers * rng.uniform(0.005, 0.02)  # a post that went round the area
        followers = max(10.0, followers + change)
        likes = followers * like_ratio + rng.gauss(0, 0.002) * followers
        talking = max(0.0, followers * rng.uniform(0.005, 0.04))
        yield round(followers), round(likes), round(talking)


def _posting(plan: _Plan, days: int) -> list[int]:
    """How many posts the Page published on each day (a rhythm, with weeks of silence)."""
    rng = plan.rng
    level = plan.page.level
    if level == "province":
        rate = 3.0
    elif level == "district":
        rate = rng.uniform(0.5, 1.5)
    else:
        rate = rng.choice((0.9, 0.5, 0.5, 0.25, 0.25, 0.25, 0.1, 0.1, 0.03))
    silent_chance = 0.02 if level == "province" else rng.uniform(0.0, 0.25)
    silent = [False] * days
    for block in range(0, days, 14):
        if rng.random() < silent_chance:
            for day in range(block, min(days, block + 14)):
                silent[day] = True
    if level == "commune" and rng.random() < 0.08:
        for day in range(max(0, days - rng.randint(15, 60)), days):
            silent[day] = True  # went quiet recently: the coverage section lists it
    counts = []
    for day in range(days):
        if day < plan.start or silent[day]:
            counts.append(0)
            continue
        weekday_factor = 0.6 if (day % 7) in (5, 6) else 1.0
        counts.append(_poisson(rng, rate * weekday_factor))
    return counts


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means of posts per day.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _message(rng: random.Random, unit: str, year: int) -> tuple[str | None, str]:
    roll = rng.random()
    if roll < 0.04:
        return None, "normal"  # a photo without a caption
    if roll < 0.06:
        return _CELEBRATION.format(n=year - 1930), "celebration"
    if roll < 0.07:
        return _CONDOLENCE.format(unit=unit), "condolence"
    template = rng.choice(_TEMPLATES)
    text = template.format(unit=unit, year=year, place=rng.choice(_PLACES),
                           topic=rng.choice(_TOPICS))
    return text, "normal"


def _page_rows(plan: _Plan, day_list: list[dt.date], collected: list[dt.datetime],
               run_id0: int, post_id: int, writer: _ChunkWriter) -> tuple[dict[str, Any], int]:
    """Write one Page's snapshots, posts and errors; return its row update and next post id."""
    days = len(day_list)
    page = plan.page
    rng = plan.rng
    access = plan.access
    reachable = access.level != "unreachable"
    graph_id = (page.graph_id or _page_id(10**9 + page.id)) if reachable else page.graph_id
    ok_days = [i for i in range(plan.start, days) if i not in plan.failed]
    # Weekly rechecks of what was refused: posts of a Page without them, insights refused once.
    posts_check = (_last_check(plan, days, RECHECK_DAYS) if access.posts_readable is False
                   else ok_days[-1] if ok_days else None)
    gap_days: dict[int, tuple[str, int, str]] = {}
    if access.posts_readable is False and reachable:
        gap_days = {day: ("posts_unreadable", 10, "posts not readable: (#10) Permission denied: "
                          "the app lacks Page Public Content Access")
                    for day in ok_days if (day - plan.start) % RECHECK_DAYS == 0}
    elif access.insights == "refused" and ok_days:
        gap_days = {ok_days[0]: ("insights_refused", 10, "insights not available: (#10) "
                                 "the Page's token lacks the Analyze task")}
    followers_by_day: dict[int, int] = {}
    last_likes = 0
    for day, (followers, likes, talking) in zip(
        range(plan.start, days), _audience(plan, days), strict=True
    ):
        followers_by_day[day] = followers
        if day in plan.failed:
            code, subcode, reason, retry = _FAILURES[plan.failed[day]]
            writer.add(PAGE_ERRORS, (run_id0 + day, page.id, collected[day], plan.failed[day],
                                     code, subcode, reason, retry, "failed"))
            continue
        if day in gap_days:
            kind, code, reason = gap_days[day]
            writer.add(PAGE_ERRORS, (run_id0 + day, page.id, collected[day], kind, code, None,
                                     reason, None, "gap"))
        last_likes = likes
        writer.add(PAGE_SNAPSHOTS, (page.id, day_list[day], collected[day], likes, followers,
                                    talking, run_id0 + day))

    # The first successful run at or after each day: posts are first seen then.
    next_ok: list[int | None] = [None] * (days + 8)
    following: int | None = None
    ok_set = set(ok_days)
    for day in range(days - 1, -1, -1):
        if day in ok_set:
            following = day
        next_ok[day] = following

    # Views (page_media_view, post_media_view) where the Page gives insights, from their own
    # generator so that everything else stays what it was before views were added.
    views_rng = (random.Random(f"{plan.seed}/{page.ref}/views")
                 if reachable and access.level == "full" and access.insights == "available"
                 else None)
    post_views_by_day: dict[int, float] = {}
    last_post: dt.datetime | None = None
    counts = _posting(plan, days)
    if not access.posts_readable:
        counts = [0] * days  # posts never read: the store cannot know about them
    for day in range(plan.start, days - 1):  # the last run sees nothing posted after it
        for _ in range(counts[day]):
            created = _local_instant(day_list[day], rng.uniform(6.5, 22.0))
            seen = next_ok[day + 1]
            if seen is None:
                continue  # never collected: the store cannot know about it
            message, mood = _message(rng, page.unit_name, day_list[day].year)
            snap_days = sorted({seen, *(d for d in (day + 1, day + 3, day + 7)
                                        if d in ok_set and d >= seen)})
            followers = followers_by_day.get(day, 100)
            rate = 0.03 * (max(followers, 50) / 1000) ** -0.25
            final = followers * rate * math.exp(rng.gauss(0, 0.9))
            if rng.random() < 0.01:
                final *= rng.uniform(5, 15)  # the rare post that everyone shares
            comments_share = rng.uniform(0.04, 0.18)
            shares_share = rng.uniform(0.02, 0.12)
            reactions_final = final * (1 - comments_share - shares_share)
            mix = _MOODS[mood]
            deleted_at = None
            if rng.random() < 0.004:
                when = collected[snap_days[-1]] + dt.timedelta(hours=rng.uniform(2, 20))
                deleted_at = when if when < collected[-1] else None
            number = 10**15 + post_id
            writer.add(POSTS, (
                post_id, f"{graph_id}_{number}", page.id, created, message,
                f"https://www.facebook.com/{graph_id}/posts/{number}",
                "added_photos" if rng.random() < 0.7 else "mobile_status_update",
                collected[seen], collected[snap_days[-1]], deleted_at,
            ))
            # Views: several times the engagement (one view in 8 to 30 engages).
            views_final = final * views_rng.uniform(8, 30) if views_rng else 0.0
            if views_rng:
                post_views_by_day[day] = post_views_by_day.get(day, 0.0) + views_final
            for snap in snap_days:
                hours = (collected[snap] - created).total_seconds() / 3600
                grown = 1 - math.exp(-hours / 12)  # most engagement comes in the first day
                kinds = tuple(round(reactions_final * share * grown) for share in mix)
                writer.add(POST_SNAPSHOTS, (
                    post_id, day_list[snap], collected[snap], sum(kinds),
                    round(final * comments_share * grown), round(final * shares_share * grown),
                    run_id0 + snap, *kinds,
                ))
                if views_rng and plan.post_views:
                    writer.add(POST_INSIGHTS, (post_id, "post_media_view", "lifetime",
                                               day_list[snap], float(round(views_final * grown)),
                                               collected[snap]))
            last_post = created
            post_id += 1
        writer.maybe_flush()
    if views_rng and ok_days:
        _page_views(plan, views_rng, day_list, collected, followers_by_day, post_views_by_day,
                    next_ok, ok_days[-1], writer)
    writer.maybe_flush()

    last_failure = plan.failed.get(days - 1)
    last_ok = collected[ok_days[-1]] if ok_days else None
    insights_check = (_last_check(plan, days, RECHECK_DAYS)
                      if access.insights in ("none", "refused")
                      else ok_days[-1] if ok_days and access.insights else None)
    address = page.username or graph_id
    return {
        "pid": page.id, "graph_id": graph_id,
        "name": f"Mặt trận Tổ quốc {page.unit_name}" if reachable else None,
        "link": f"https://www.facebook.com/{address}" if address else None,
        "is_published": last_failure != "unpublished" if reachable else None,
        "has_insights": access.insights == "available" if ok_days else None,
        "posts_since": last_post,
        "insights_until": (day_list[-1] - dt.timedelta(days=1)
                           if access.insights == "available" and last_likes else None),
        "last_success_at": last_ok,
        "access": access.level,
        "access_reason": access.reason,
        "access_action": access.action,
        # The level is set each night the Page itself is read, or found missing.
        "access_checked_at": collected[-1] if not reachable else last_ok,
        "tasks": access.tasks,
        "posts_readable": access.posts_readable,
        "posts_checked_at": collected[posts_check] if posts_check is not None and reachable
        else None,
        "insights_state": access.insights if ok_days else None,
        "insights_checked_at": (collected[insights_check] if insights_check is not None
                                else None),
    }, post_id


def _page_views(plan: _Plan, rng: random.Random, day_list: list[dt.date],
                collected: list[dt.datetime], followers_by_day: dict[int, int],
                post_views_by_day: dict[int, float], next_ok: list[int | None], last_ok: int,
                writer: _ChunkWriter) -> None:
    """Daily page_media_view as the collector stores it: a value per Pacific day ``D`` with the
    ``end_time`` of the Pacific midnight ending ``D``, read on the first night that saw the day
    complete (the night of local day ``D + 2``). A few times the followers per week, plus the
    views of the day's posts."""
    per_day = rng.uniform(0.3, 0.8)  # views per follower per day, without the posts
    for day in range(plan.start, last_ok - 1):
        seen = next_ok[day + 2]
        if seen is None:
            continue
        weekday = 0.8 if day_list[day].weekday() >= 5 else 1.0
        value = (followers_by_day[day] * per_day * weekday * math.exp(rng.gauss(0, 0.25))
                 + post_views_by_day.get(day, 0.0))
        end_time = dt.datetime.combine(day_list[day] + dt.timedelta(days=1), dt.time(0),
                                       PACIFIC).astimezone(dt.UTC)
        writer.add(PAGE_INSIGHTS, (plan.page.id, "page_media_view", "day", end_time,
                                   float(round(value)), collected[seen]))


def _update_pages(engine: Engine, rows: list[dict[str, Any]]) -> None:
    # Bound names must differ from column names in an executemany UPDATE.
    columns = [name for name in rows[0] if name != "pid"]
    stmt = (
        update(PAGES)
        .where(PAGES.c.id == bindparam("pid"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    params = [{"pid": row["pid"], **{f"new_{n}": row[n] for n in columns}} for row in rows]
    with engine.begin() as conn:
        conn.execute(stmt, params)


def _fix_sequences(engine: Engine) -> None:
    """PostgreSQL sequences do not notice explicit ids; move them past what we wrote."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in (RUNS, POSTS):
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            ))
