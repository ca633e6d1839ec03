"""Rows → the numbers a unit report shows (pure: no SQL, no HTML).

Rules, also written in docs/reports.md:

* A Page's figures on a day are its ``page_daily`` row; a day without a snapshot has none.
* A unit's roll-up covers its own Pages and every Page below it (``unit_descendants``). On a
  day when at least one of those Pages was collected, the roll-up adds up each Page's latest
  figure, so a Page whose collection failed that night does not read as a loss of its whole
  audience. A figure is carried at most ``CARRY_DAYS`` days, and never for a Page that is no
  longer collected (``pages.active`` false: a unit that changed Pages must not count both).
  A day when none of the unit's Pages was collected stays a gap.
* Changes are like-for-like: a change counts only the Pages in the roll-up at both ends (read
  that day, or carried as above). A Page's first day adds its level but no change, a Page that
  drops out takes its level away but no loss: the day's level line may step, the change does
  not, and the charts mark those days ("N Pages started / stopped being read").
* The daily net change adds up ``page_daily.followers_change`` over the Pages read that day
  that were in the roll-up the day before (exactly ``unit_daily.followers_change`` since
  migration 0007: the previous snapshot at most ``CARRY_DAYS`` + 1 days earlier).
* A change over N days (and over the report period) adds up, Page by Page, (figure at the end
  − figure N days earlier) over the Pages that have both; the percentage is against the
  earlier figures. It says how many Pages it counts and names those that joined or left.
* Posts and engagement are those of the posts published in the period (``post_latest``, by
  local day), over the Pages whose posts can be read. The engagement rate is one number at
  every level: engagement per post per 1,000 followers of the Page that posted it,
  Σ engagement ÷ Σ (posts × followers of their Page at the end of the period) × 1,000, over
  the Pages with readable posts and a follower figure. A commune, its district and the
  province are compared on the same scale (a province-wide average of per-post rates
  weighted by each Page's posts).
* A set of Pages none of which was read in the period has no figures (``has_data`` false):
  its posts and engagement are unknown, shown "–" with the reason, never 0.
* A Page whose posts cannot be read (``pages.posts_readable`` false, or ``pages.access``
  audience or unreachable) adds nothing to posts, engagement, top posts or silence: its post
  figures are unknown ("–"), never 0, and it is never "silent" or "never posted". Its audience
  counts like any other Page's.
* The access split counts a unit's active Pages (its own and every one below) by
  ``pages.access``; NULL is "not yet checked".
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from fanpulse.reports.i18n import sort_key
from fanpulse.reports.queries import (
    ACCESS_LEVELS,
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
RATE_PER = 1000  # the engagement rate is per post per 1,000 followers
CHANGE_WINDOWS = (7, 30, 90)
SILENT_DAYS = (14, 30)
TOP_POSTS = 10
UNKNOWN = "unknown"  # the access key of a Page not yet checked (pages.access NULL)
ACCESS_KEYS = (*ACCESS_LEVELS, UNKNOWN)
# Coverage lists the Pages that need something done first.
_ACCESS_ORDER = {"unreachable": 0, "audience": 1, "partial": 2, UNKNOWN: 3, "full": 4}


def access_key(page: PageInfo) -> str:
    """``pages.access``, or "unknown" for a Page not yet checked."""
    return page.access or UNKNOWN


def posts_key(page: PageInfo) -> str:
    """A label key of reports.i18n: can the store know this Page's posts?"""
    if page.posts_unreadable:
        return "posts_unreadable"
    return "posts_readable" if page.posts_readable or page.access else "posts_unknown"


def insights_key(page: PageInfo) -> str:
    """A label key of reports.i18n: does the store have this Page's insights, and if not why."""
    if page.access in ("audience", "unreachable"):
        return "ins_unavailable"  # no Page token: insights are out of reach
    if page.insights_state in ("available", "none", "refused"):
        return f"ins_{page.insights_state}"
    return "ins_unavailable" if page.access == "partial" else "ins_unknown"


def action_key(page: PageInfo) -> str | None:
    """A label key of reports.i18n: what to do so that fanpulse reads the whole Page.

    Decided from the Page's access level, tasks and answers (the collector's rules in
    collector/access.py), never from its English ``access_action`` text. ``tasks`` come with
    a Page token only: a Page without tasks is not shared with the Business Manager.
    """
    level = page.access
    shared = bool(page.tasks)
    analyze = "ANALYZE" in page.tasks
    if level == "unreachable":
        return "act_check_ref"
    if level is None:
        return "act_wait"
    if level == "audience" or page.posts_readable is False:
        if not shared:
            return "act_share"
        return "act_check_posts" if analyze else "act_analyze"
    if level == "partial":
        if not shared:
            return "act_share"
        if not analyze:
            return "act_analyze"
        return "act_check_insights" if page.insights_state == "refused" else "act_read_insights"
    return None


@dataclass(frozen=True)
class AccessSplit:
    """How many active Pages the token reads fully, partly, only the audience of, or not."""

    full: int = 0
    partial: int = 0
    audience: int = 0
    unreachable: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.full + self.partial + self.audience + self.unreachable + self.unknown

    def items(self) -> list[tuple[str, int]]:
        """(access key, Pages) of the levels that have Pages, best first, "unknown" last."""
        return [(key, n) for key in ACCESS_KEYS if (n := getattr(self, key))]


def access_split(pages: list[PageInfo]) -> AccessSplit:
    counts = dict.fromkeys(ACCESS_KEYS, 0)
    for page in pages:
        if page.active:
            counts[access_key(page)] += 1
    return AccessSplit(**counts)


def readable(pages: list[PageInfo]) -> list[PageInfo]:
    """The Pages whose posts the store can know."""
    return [page for page in pages if not page.posts_unreadable]


@dataclass(frozen=True)
class Change:
    """A like-for-like change: only the Pages with a figure at both ends count."""

    days: int
    absolute: int | None
    fraction: float | None
    pages_counted: int = 0  # Pages with a figure at both ends (the ones the change adds up)
    joined: tuple[PageInfo, ...] = ()  # a figure at the end only: started being read
    left: tuple[PageInfo, ...] = ()  # a figure at the start only: stopped being read
    why: str | None = None  # when absolute is None: a label key of reports.i18n saying why


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
    posts_unreadable: int = 0  # Pages left out of the post figures: their posts are unreadable
    posts_followers: int | None = None  # followers now of the Pages whose posts are read
    access: AccessSplit = AccessSplit()  # the active Pages by access level
    period_change: Change | None = None  # from the period's first day with data to as_of

    @property
    def posts_known(self) -> bool:
        """False when no Page here has readable posts: post figures are unknown, not 0."""
        return not (self.pages_total and self.posts_unreadable >= self.pages_total)

    post_audience: int = 0  # Σ over Pages with readable posts: posts × that Page's followers
    rated_engagement: int = 0  # the engagement of those same posts

    @property
    def has_data(self) -> bool:
        """False when no Page here was read in the period: its figures are unknown, not 0."""
        return self.as_of is not None

    @property
    def engagement_rate(self) -> float | None:
        """Engagement per post per 1,000 followers of the Page that posted it (ENGAGEMENT_RATE
        in docs/reports.md): the same number for a commune Page, a district or the province."""
        if not self.posts_known or not self.post_audience:
            return None
        return self.rated_engagement / self.post_audience * RATE_PER

    def change(self, days: int) -> Change:
        return next(c for c in self.changes if c.days == days)


@dataclass(frozen=True)
class DaySeries:
    days: list[dt.date]
    followers: list[int | None]
    likes: list[int | None]
    net_change: list[int | None]  # like-for-like: Pages in the roll-up that day and the day before
    reporting: list[int]
    joined: list[int] = field(default_factory=list)  # Pages entering the level line that day
    left: list[int] = field(default_factory=list)  # Pages leaving it that day


@dataclass(frozen=True)
class WeekRow:
    start: dt.date  # Monday, or the first day of the period
    days: int  # 7, fewer for a week cut by the period
    posts: int | None  # None: no data at all that week
    reactions: int | None
    comments: int | None
    shares: int | None
    ongoing: bool = False  # the last week of a period still under way (data up to today)


@dataclass(frozen=True)
class PageStatus:
    page: PageInfo
    unit: UnitInfo
    last_post: dt.datetime | None
    silent_days: int | None  # None: never posted (or posts not readable: see page)
    error: ErrorRow | None  # the latest run's failure (its gaps are not failures)
    since: dt.date | None = None  # the first day fanpulse collected the Page


@dataclass(frozen=True)
class ChildRow:
    unit: UnitInfo
    has_page: bool
    headline: Headline
    last_post: dt.datetime | None
    silent_days: int | None
    failed_pages: int
    access: AccessSplit = AccessSplit()  # its active Pages (and those below) by access level

    @property
    def posts_unreadable(self) -> bool:
        """Its Pages' posts cannot be read at all: no last post, no silence, no "never"."""
        return not self.headline.posts_known


@dataclass
class Coverage:
    no_page: list[UnitInfo] = field(default_factory=list)
    silent: dict[int, list[PageStatus]] = field(default_factory=dict)  # 14: 14-29, 30: 30+
    failed: list[PageStatus] = field(default_factory=list)
    access: list[PageStatus] = field(default_factory=list)  # not fully readable, worst first
    no_insights: list[PageStatus] = field(default_factory=list)  # full, Meta has no insights
    # Pages of units merged into this one (or below it), still collected: (Page, former unit)
    former: list[tuple[PageStatus, UnitInfo | None]] = field(default_factory=list)
    split: AccessSplit = AccessSplit()


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


def like_for_like(days: int, ends: Iterable[tuple[PageInfo, int | None, int | None]],
                  only_joined: str = "why_too_recent") -> Change:
    """The change over (Page, figure now, figure then): the Pages with a figure at both ends
    count; those with a figure at one end only are named, not added. With none at both ends,
    the change says why: ``only_joined`` when every Page has only a figure now."""
    diff = base = n = 0
    joined: list[PageInfo] = []
    left: list[PageInfo] = []
    for page, now, then in ends:
        if now is not None and then is not None:
            diff += now - then
            base += then
            n += 1
        elif now is not None:
            joined.append(page)
        elif then is not None:
            left.append(page)
    why = None if n else (only_joined if joined and not left else "why_no_common")
    return Change(days, diff if n else None, diff / base if base else None, n,
                  tuple(joined), tuple(left), why)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


class Calculator:
    """Per-Page arrays built once; per-unit figures added up from them on demand."""

    def __init__(self, data: StoreData, ongoing: bool = False) -> None:
        self.data = data
        self.ongoing = ongoing  # the period ends today: its last days are still under way
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
        joined: list[int] = []
        left: list[int] = []
        arrays = [self._arrays[p.id] for p in pages if p.id in self._arrays]
        for i in period:
            # In the level line the day before (read or carried): the only Pages whose change
            # counts, so a Page joining or dropping out moves the level, never the change.
            before = [a[1][i - 1] is not None if i > 0 else True for a in arrays]
            now = [a[1][i] is not None for a in arrays]
            # Marked only where the line steps: the first day of data starts the line, a day
            # after which no Page is left ends it (a gap), neither is a jump.
            steps = i > 0 and any(before) and any(now)
            joined.append(sum(1 for b, n in zip(before, now, strict=True)
                              if steps and n and not b))
            left.append(sum(1 for b, n in zip(before, now, strict=True)
                            if steps and b and not n))
            count = sum(1 for a in arrays if a[0][i])
            reporting.append(count)
            if count == 0:
                followers.append(None)
                likes.append(None)
                net.append(None)
                continue
            followers.append(sum(v for a in arrays if (v := a[1][i]) is not None))
            likes.append(sum(v for a in arrays if (v := a[2][i]) is not None))
            changes = [v for a, b in zip(arrays, before, strict=True)
                       if b and (v := a[3][i]) is not None]
            net.append(sum(changes) if changes else None)
        return DaySeries(self.days[self.first:], followers, likes, net, reporting, joined, left)

    def headline(self, pages: list[PageInfo]) -> Headline:
        key = tuple(sorted(p.id for p in pages))
        if key not in self._headlines:
            self._headlines[key] = self._headline(pages)
        return self._headlines[key]

    def _headline(self, pages: list[PageInfo]) -> Headline:
        arrays = [self._arrays[p.id] for p in pages if p.id in self._arrays]
        end = self._last_day(arrays)
        followers = likes = None
        reporting = 0
        changes = []
        if end is not None:
            followers = sum(v for a in arrays if (v := a[1][end]) is not None)
            likes = sum(v for a in arrays if (v := a[2][end]) is not None)
            reporting = sum(1 for a in arrays if a[1][end] is not None)
        present = [(p, self._arrays[p.id]) for p in pages if p.id in self._arrays]
        for days in CHANGE_WINDOWS:
            start = end - days if end is not None else -1
            changes.append(self._change(present, days, start, end))
        period_change = None
        if end is not None:
            # From the day before the period (a month's change starts from the last day of the
            # month before), else from the period's first day with a figure: a period that
            # starts before the data does would otherwise count every Page as a joiner.
            first = max(self.first - 1, 0)
            start = next(i for i in range(first, end + 1)
                         if any(a[1][i] is not None for a in arrays))
            period_change = self._change(present, end - start, start, end)
        known = readable(pages)
        posts = [post for p in known for post in self._posts.get(p.id, [])]
        posts_followers = None
        post_audience = rated = 0
        if end is not None:
            posts_followers = 0
            for page in known:
                if page.id in self._arrays and (v := self._arrays[page.id][1][end]) is not None:
                    posts_followers += v
                    own = self._posts.get(page.id, [])
                    post_audience += len(own) * v
                    rated += sum(post.engagement for post in own)
        return Headline(
            as_of=self.days[end] if end is not None else None, followers=followers,
            likes=likes, pages_reporting=reporting, pages_total=len(pages),
            changes=tuple(changes), posts=len(posts),
            reactions=sum(p.reactions for p in posts), comments=sum(p.comments for p in posts),
            shares=sum(p.shares for p in posts), engagement=sum(p.engagement for p in posts),
            posts_unreadable=len(pages) - len(known), posts_followers=posts_followers,
            access=access_split(pages), period_change=period_change,
            post_audience=post_audience, rated_engagement=rated,
        )

    def levels(self, pages: list[PageInfo]) -> dict[int, int]:
        """Each Page's follower figure on the set's last day with data (as_of), where it has
        one (read that day, or carried): the two ends of a like-for-like comparison."""
        arrays = [(p.id, self._arrays[p.id]) for p in pages if p.id in self._arrays]
        end = self._last_day(a for _, a in arrays)
        if end is None:
            return {}
        return {page_id: v for page_id, a in arrays if (v := a[1][end]) is not None}

    def _last_day(self, arrays: Iterable[PageArrays]) -> int | None:
        """The index of the period's last day on which any of the Pages was read."""
        arrays = list(arrays)
        return next((i for i in range(len(self.days) - 1, self.first - 1, -1)
                     if any(a[0][i] for a in arrays)), None)

    @staticmethod
    def _change(present: list[tuple[PageInfo, PageArrays]], days: int, start: int,
                end: int | None) -> Change:
        """Like-for-like change from day index ``start`` to ``end`` (:func:`like_for_like`)."""
        if end is None:
            return Change(days, None, None, why="why_no_data")
        if start < 0:
            return Change(days, None, None, why="why_too_recent")
        return like_for_like(days, ((page, a[1][end], a[1][start]) for page, a in present))

    def weeks(self, pages: list[PageInfo], ongoing: bool = False) -> list[WeekRow]:
        """Posts and engagement per week (Monday to Sunday, cut by the period). ``ongoing``:
        the period ends today, so its last week, if short, is still under way."""
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

        for page in readable(pages):  # a Page whose posts are unknown shows no week, not 0
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
        last = len(starts) - 1
        return [
            WeekRow(start, (end - start).days, b[0], b[1], b[2], b[3],
                    ongoing=ongoing and k == last) if seen[k]
            else WeekRow(start, (end - start).days, None, None, None, None,
                         ongoing=ongoing and k == last)
            for k, (start, end, b) in enumerate(zip(starts, ends, buckets, strict=True))
        ]

    def post_ids(self, pages: list[PageInfo]) -> list[int]:
        """The period's posts of the Pages whose posts are readable (what posts count)."""
        return [post.post_id for page in readable(pages) for post in self._posts.get(page.id, [])]

    def top_posts(self, pages: list[PageInfo]) -> list[tuple[PostRow, PageInfo]]:
        candidates = ((post, page) for page in readable(pages)
                      for post in self._posts.get(page.id, []))
        return heapq.nlargest(TOP_POSTS, candidates,
                              key=lambda pair: (pair[0].engagement, -pair[0].post_id))

    def reaction_mix(self, pages: list[PageInfo]) -> tuple[int, ...]:
        totals = [0] * len(REACTION_KINDS)
        for page in readable(pages):
            for post in self._posts.get(page.id, []):
                for k, value in enumerate(post.reaction_kinds):
                    totals[k] += value
        return tuple(totals)

    def last_post(self, pages: list[PageInfo]) -> dt.datetime | None:
        moments = [m for p in readable(pages) if (m := self.data.last_post.get(p.id)) is not None]
        return max(moments) if moments else None

    def silent_days(self, last_post: dt.datetime | None) -> int | None:
        return None if last_post is None else (self.data.date_to - local_day(last_post)).days

    def page_status(self, page: PageInfo, unit: UnitInfo) -> PageStatus:
        last = self.last_post([page])
        return PageStatus(page, unit, last, self.silent_days(last), self.data.errors.get(page.id),
                          self.first_seen([page]))

    def first_seen(self, pages: list[PageInfo]) -> dt.date | None:
        """The first day fanpulse collected any of ``pages``: "no post since" that day."""
        days = [d for p in pages if (d := self.data.first_snapshot.get(p.id)) is not None]
        return min(days) if days else None

    def access_list(self, pages: list[PageInfo]) -> list[PageStatus]:
        """Active Pages not fully readable (or not yet checked), the worst first."""
        statuses = [
            self.page_status(page, owner) for page in pages
            if page.active and page.unit_id is not None
            and (owner := self.data.units.get(page.unit_id)) is not None
            and (page.access != "full" or page.posts_unreadable)
        ]
        statuses.sort(key=lambda s: (_ACCESS_ORDER[access_key(s.page)], sort_key(s.unit.name),
                                     s.page.id))
        return statuses

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
                access=access_split(child_pages),
            ))
        last_collected = [data.last_snapshot[p.id][1] for p in pages if p.id in data.last_snapshot]
        return UnitMetrics(
            unit=unit,
            parent=data.units.get(unit.parent_id) if unit.parent_id is not None else None,
            children=children, own_pages=own_pages, rollup=self.headline(pages),
            own=self.headline(own_pages) if children and own_pages else None,
            series=self.series(pages), weeks=self.weeks(pages, self.ongoing),
            top_posts=self.top_posts(pages),
            reaction_mix=self.reaction_mix(pages), child_rows=child_rows,
            coverage=self.coverage(unit_id, pages),
            last_collected=max(last_collected) if last_collected else None,
        )

    def coverage(self, unit_id: int, pages: list[PageInfo]) -> Coverage:
        data = self.data
        result = Coverage(silent={n: [] for n in SILENT_DAYS}, access=self.access_list(pages),
                          split=access_split(pages))
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
            if page.posts_unreadable:
                pass  # unknown posts: not silent, not "never posted" (listed under access)
            elif days is None or days >= SILENT_DAYS[1]:
                result.silent[SILENT_DAYS[1]].append(status)
            elif days >= SILENT_DAYS[0]:
                result.silent[SILENT_DAYS[0]].append(status)
            if status.error is not None:
                result.failed.append(status)
            if page.access == "full" and page.insights_state == "none":
                result.no_insights.append(status)
            if page.former_unit_id is not None:
                result.former.append((status, data.units.get(page.former_unit_id)))
        result.no_page.sort(key=lambda u: (u.depth, sort_key(u.name)))
        for statuses in result.silent.values():
            # Longest silence first; never posted counts as the longest.
            statuses.sort(key=lambda s: (-(s.silent_days if s.silent_days is not None
                                           else 10**6), sort_key(s.unit.name)))
        result.failed.sort(key=lambda s: sort_key(s.unit.name))
        result.no_insights.sort(key=lambda s: sort_key(s.unit.name))
        result.former.sort(key=lambda item: (sort_key(item[0].unit.name),
                                             sort_key(item[1].name if item[1] else "")))
        return result
