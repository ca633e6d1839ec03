"""Rows → the numbers a unit report shows (pure: no SQL, no HTML).

Rules, also written in docs/reports.md:

* A Page's figures on a day are its ``page_daily`` row; a day without a snapshot has none.
* A unit's roll-up covers its own Pages and every Page below it (``unit_descendants``). On a
  day when at least one of those Pages was collected, the roll-up adds up each Page's latest
  figure, so a Page whose collection failed that night does not read as a loss of its whole
  audience. A figure is carried at most ``CARRY_DAYS`` days, and never for a Page that is no
  longer collected (``pages.active`` false: a unit that changed Pages must not count both).
  A day when none of the unit's Pages was collected stays a gap.
* The daily net change is the sum of ``page_daily.followers_change`` that day (exactly
  ``unit_daily.followers_change``).
* A change over N days adds up, Page by Page, (figure at the end − figure N days earlier)
  over the Pages that have both; the percentage is against the earlier figures.
* Posts and engagement are those of the posts published in the period (``post_latest``, by
  local day); engagement rate = engagement per post ÷ followers now.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from dataclasses import dataclass, field

from reports.i18n import sort_key
from reports.queries import (
    LOCAL_TZ,
    REACTION_KINDS,
    DailyRow,
    ErrorRow,
    PageInfo,
    PostRow,
    StoreData,
    UnitInfo,
)

PageArrays = tuple[list[bool], list[int | None], list[int | None], list[int | None]]
CARRY_DAYS = 30
CHANGE_WINDOWS = (7, 30, 90)
SILENT_DAYS = (14, 30)
TOP_POSTS = 10


@dataclass(frozen=True)
class Change:
    days: int
    absolute: int | None
    fraction: float | None


@dataclass(frozen=True)
class Headline:
    as_of: dt.date | None  # the day "now" refers to: the last day with data
    followers: int | None
    likes: int | None
    pages_reporting: int
    pages_total: int
    changes: tuple[Change, ...]
    posts: int
    reactions: int
    comments: int
    shares: int
    engagement: int

    @property
    def engagement_rate(self) -> float | None:
        if not self.posts or not self.followers:
            return None
        return self.engagement / self.posts / self.followers

    def change(self, days: int) -> Change:
        return next(c for c in self.changes if c.days == days)


@dataclass(frozen=True)
class DaySeries:
    days: list[dt.date]
    followers: list[int | None]
    likes: list[int | None]
    net_change: list[int | None]
    reporting: list[int]


@dataclass(frozen=True)
class WeekRow:
    start: dt.date  # Monday, or the first day of the period
    days: int  # 7, fewer for a week cut by the period
    posts: int | None  # None: no data at all that week
    reactions: int | None
    comments: int | None
    shares: int | None


@dataclass(frozen=True)
class PageStatus:
    page: PageInfo
    unit: UnitInfo
    last_post: dt.datetime | None
    silent_days: int | None  # None: never posted
    error: ErrorRow | None


@dataclass(frozen=True)
class ChildRow:
    unit: UnitInfo
    has_page: bool
    headline: Headline
    last_post: dt.datetime | None
    silent_days: int | None
    failed_pages: int


@dataclass
class Coverage:
    no_page: list[UnitInfo] = field(default_factory=list)
    silent: dict[int, list[PageStatus]] = field(default_factory=dict)  # 14: 14-29, 30: 30+
    failed: list[PageStatus] = field(default_factory=list)
    small: list[PageStatus] = field(default_factory=list)


@dataclass
class UnitMetrics:
    unit: UnitInfo
    parent: UnitInfo | None
    children: list[UnitInfo]
    own_pages: list[PageInfo]
    rollup: Headline
    own: Headline | None
    series: DaySeries
    weeks: list[WeekRow]
    top_posts: list[tuple[PostRow, PageInfo]]
    reaction_mix: tuple[int, ...]
    child_rows: list[ChildRow]
    coverage: Coverage
    last_collected: dt.datetime | None


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


class Calculator:
    """Per-Page arrays built once; per-unit figures added up from them on demand."""

    def __init__(self, data: StoreData) -> None:
        self.data = data
        n_days = (data.date_to - data.audience_from).days + 1
        self.days = [data.audience_from + dt.timedelta(days=i) for i in range(n_days)]
        self.first = (data.date_from - data.audience_from).days  # index of the period start
        self.children: dict[int, list[UnitInfo]] = defaultdict(list)
        for unit in data.units.values():
            if unit.parent_id is not None:
                self.children[unit.parent_id].append(unit)
        self.pages_of_unit: dict[int, list[PageInfo]] = defaultdict(list)
        for page in data.pages.values():
            if page.unit_id is not None:
                self.pages_of_unit[page.unit_id].append(page)
        self._arrays = {
            page_id: self._page_arrays(rows, data.pages[page_id].active)
            for page_id, rows in data.daily.items() if page_id in data.pages
        }
        self._posts: dict[int, list[PostRow]] = defaultdict(list)
        for post in data.posts:
            self._posts[post.page_id].append(post)
        self._headlines: dict[tuple[int, ...], Headline] = {}

    def _page_arrays(self, rows: list[DailyRow], active: bool) -> PageArrays:
        """(has a snapshot, followers, likes, followers change) per loaded day."""
        n = len(self.days)
        has = [False] * n
        followers: list[int | None] = [None] * n
        likes: list[int | None] = [None] * n
        change: list[int | None] = [None] * n
        start = self.data.audience_from
        for row in rows:
            i = (row.day - start).days
            has[i] = True
            followers[i] = row.followers
            likes[i] = row.likes
            change[i] = row.followers_change
        # Carry each figure forward (see the module docstring).
        carry = CARRY_DAYS if active else 0
        for values in (followers, likes):
            last: int | None = None
            age = carry + 1
            for i in range(n):
                if has[i] and values[i] is not None:
                    last, age = values[i], 0
                else:
                    age += 1
                    values[i] = last if age <= carry else None
        return has, followers, likes, change

    # --- sets of Pages --------------------------------------------------------------------

    def subtree_pages(self, unit_id: int) -> list[PageInfo]:
        ids = self.data.descendants.get(unit_id, [unit_id])
        return [page for uid in ids for page in self.pages_of_unit.get(uid, [])]

    def series(self, pages: list[PageInfo]) -> DaySeries:
        period = range(self.first, len(self.days))
        followers: list[int | None] = []
        likes: list[int | None] = []
        net: list[int | None] = []
        reporting: list[int] = []
        arrays = [self._arrays[p.id] for p in pages if p.id in self._arrays]
        for i in period:
            count = sum(1 for a in arrays if a[0][i])
            reporting.append(count)
            if count == 0:
                followers.append(None)
                likes.append(None)
                net.append(None)
                continue
            followers.append(sum(v for a in arrays if (v := a[1][i]) is not None))
            likes.append(sum(v for a in arrays if (v := a[2][i]) is not None))
            changes = [v for a in arrays if (v := a[3][i]) is not None]
            net.append(sum(changes) if changes else None)
        return DaySeries(self.days[self.first:], followers, likes, net, reporting)

    def headline(self, pages: list[PageInfo]) -> Headline:
        key = tuple(sorted(p.id for p in pages))
        if key not in self._headlines:
            self._headlines[key] = self._headline(pages)
        return self._headlines[key]

    def _headline(self, pages: list[PageInfo]) -> Headline:
        arrays = [self._arrays[p.id] for p in pages if p.id in self._arrays]
        end = next((i for i in range(len(self.days) - 1, self.first - 1, -1)
                    if any(a[0][i] for a in arrays)), None)
        followers = likes = None
        reporting = 0
        changes = []
        if end is not None:
            followers = sum(v for a in arrays if (v := a[1][end]) is not None)
            likes = sum(v for a in arrays if (v := a[2][end]) is not None)
            reporting = sum(1 for a in arrays if a[1][end] is not None)
        for days in CHANGE_WINDOWS:
            start = end - days if end is not None else -1
            diff = base = n = 0
            if start >= 0 and end is not None:
                for a in arrays:
                    now, then = a[1][end], a[1][start]
                    if now is not None and then is not None:
                        diff += now - then
                        base += then
                        n += 1
            changes.append(Change(days, diff if n else None, diff / base if base else None))
        posts = [post for p in pages for post in self._posts.get(p.id, [])]
        return Headline(
            as_of=self.days[end] if end is not None else None, followers=followers,
            likes=likes, pages_reporting=reporting, pages_total=len(pages),
            changes=tuple(changes), posts=len(posts),
            reactions=sum(p.reactions for p in posts), comments=sum(p.comments for p in posts),
            shares=sum(p.shares for p in posts), engagement=sum(p.engagement for p in posts),
        )

    def weeks(self, pages: list[PageInfo]) -> list[WeekRow]:
        first_day = self.data.date_from
        starts: list[dt.date] = [first_day]
        monday = first_day - dt.timedelta(days=first_day.weekday()) + dt.timedelta(days=7)
        while monday <= self.data.date_to:
            starts.append(monday)
            monday += dt.timedelta(days=7)
        buckets = [[0, 0, 0, 0] for _ in starts]
        seen = [False] * len(starts)

        def week_of(day: dt.date) -> int:
            return max(0, ((day - starts[0]).days + first_day.weekday()) // 7)

        for page in pages:
            for post in self._posts.get(page.id, []):
                b = buckets[week_of(post.local_day)]
                b[0] += 1
                b[1] += post.reactions
                b[2] += post.comments
                b[3] += post.shares
                seen[week_of(post.local_day)] = True
            arrays = self._arrays.get(page.id)
            if arrays:
                for i in range(self.first, len(self.days)):
                    if arrays[0][i]:
                        seen[week_of(self.days[i])] = True
        ends = [*starts[1:], self.data.date_to + dt.timedelta(days=1)]
        return [
            WeekRow(start, (end - start).days, *b) if seen[k]
            else WeekRow(start, (end - start).days, None, None, None, None)
            for k, (start, end, b) in enumerate(zip(starts, ends, buckets, strict=True))
        ]

    def top_posts(self, pages: list[PageInfo]) -> list[tuple[PostRow, PageInfo]]:
        candidates = ((post, page) for page in pages for post in self._posts.get(page.id, []))
        return heapq.nlargest(TOP_POSTS, candidates,
                              key=lambda pair: (pair[0].engagement, -pair[0].post_id))

    def reaction_mix(self, pages: list[PageInfo]) -> tuple[int, ...]:
        totals = [0] * len(REACTION_KINDS)
        for page in pages:
            for post in self._posts.get(page.id, []):
                for k, value in enumerate(post.reaction_kinds):
                    totals[k] += value
        return tuple(totals)

    def last_post(self, pages: list[PageInfo]) -> dt.datetime | None:
        moments = [m for p in pages if (m := self.data.last_post.get(p.id)) is not None]
        return max(moments) if moments else None

    def silent_days(self, last_post: dt.datetime | None) -> int | None:
        return None if last_post is None else (self.data.date_to - local_day(last_post)).days

    def page_status(self, page: PageInfo, unit: UnitInfo) -> PageStatus:
        last = self.data.last_post.get(page.id)
        return PageStatus(page, unit, last, self.silent_days(last), self.data.errors.get(page.id))

    # --- one unit ----------------------------------------------------------------------------

    def unit(self, unit_id: int) -> UnitMetrics:
        data = self.data
        unit = data.units[unit_id]
        pages = self.subtree_pages(unit_id)
        own_pages = self.pages_of_unit.get(unit_id, [])
        children = sorted(self.children.get(unit_id, []),
                          key=lambda u: (not u.active, sort_key(u.name)))
        child_rows = []
        for child in children:
            child_pages = self.subtree_pages(child.id)
            last = self.last_post(child_pages)
            child_rows.append(ChildRow(
                unit=child, has_page=any(p.active for p in self.pages_of_unit.get(child.id, [])),
                headline=self.headline(child_pages), last_post=last,
                silent_days=self.silent_days(last),
                failed_pages=sum(1 for p in child_pages if p.id in data.errors),
            ))
        last_collected = [data.last_snapshot[p.id][1] for p in pages if p.id in data.last_snapshot]
        return UnitMetrics(
            unit=unit,
            parent=data.units.get(unit.parent_id) if unit.parent_id is not None else None,
            children=children, own_pages=own_pages, rollup=self.headline(pages),
            own=self.headline(own_pages) if children and own_pages else None,
            series=self.series(pages), weeks=self.weeks(pages), top_posts=self.top_posts(pages),
            reaction_mix=self.reaction_mix(pages), child_rows=child_rows,
            coverage=self.coverage(unit_id, pages),
            last_collected=max(last_collected) if last_collected else None,
        )

    def coverage(self, unit_id: int, pages: list[PageInfo]) -> Coverage:
        data = self.data
        result = Coverage(silent={n: [] for n in SILENT_DAYS})
        for uid in data.descendants.get(unit_id, [unit_id]):
            unit = data.units.get(uid)
            if unit and unit.active and not any(p.active for p in self.pages_of_unit.get(uid, [])):
                result.no_page.append(unit)
        for page in pages:
            owner = data.units.get(page.unit_id) if page.unit_id is not None else None
            if not page.active or owner is None:
                continue  # no longer collected: its history still counts, its silence does not
            status = self.page_status(page, owner)
            days = status.silent_days
            if days is None or days >= SILENT_DAYS[1]:
                result.silent[SILENT_DAYS[1]].append(status)
            elif days >= SILENT_DAYS[0]:
                result.silent[SILENT_DAYS[0]].append(status)
            if status.error is not None:
                result.failed.append(status)
            if page.has_insights is False:
                result.small.append(status)
        result.no_page.sort(key=lambda u: (u.depth, sort_key(u.name)))
        for statuses in result.silent.values():
            # Longest silence first; never posted counts as the longest.
            statuses.sort(key=lambda s: (-(s.silent_days if s.silent_days is not None
                                           else 10**6), sort_key(s.unit.name)))
        result.failed.sort(key=lambda s: sort_key(s.unit.name))
        result.small.sort(key=lambda s: sort_key(s.unit.name))
        return result
