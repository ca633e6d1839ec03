"""The brief's rules: what in the store staff must hear of after a night (docs/alerts.md).

Each rule reads the store and returns :class:`Finding` s, each a condition with a stable
``key`` (``page_silent:page=12``): the audit (storage/alerts.py) remembers keys, so the same
condition is sent once and again only after ``alert_renotify_days``. Every rule is a setting
and can be switched off (a bool false, or a number 0):

=================  =========  =================================================================
rule               severity   condition
=================  =========  =================================================================
run_failed         critical   the latest run failed, was interrupted or stopped early; or no
                              run has finished for 36 hours (the job itself is not running)
run_failed         warning    the latest run left Pages uncollected (grouped by reason)
token              critical   the token expired or expires within 3 days; it lost a permission
                              the run needs (read_insights)
token              warning    it expires within ``alert_token_expiry_days``
page_access        critical   a Page the token read in full lost its role (audience only now)
page_access        warning    a Page cannot be read at all (unreachable)
page_silent        warning    an active Page whose posts are readable published nothing for
                              ``alert_silent_days``
followers_drop     warning    a Page lost more than ``alert_followers_drop_percent`` % or
                              ``alert_followers_drop_count`` followers in a day or a week
campaign           warning    a directive post carried by fewer than ``alert_campaign_percent``
                              % of the units with a Page below it, ``alert_campaign_hours``
                              after it (while its carry window lasts)
=================  =========  =================================================================

The rules only read. What a Page's access was at the last brief is kept in
``alert_page_access`` (returned here as :attr:`Evaluation.access`, written by the audit when a
brief is recorded, never by a preview).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from fanpulse.config.settings import Settings
from fanpulse.reports.campaigns import CoverageRow, campaign_filename, load_campaigns
from fanpulse.reports.i18n import Lang
from fanpulse.storage.models import (
    AlertPageAccess,
    CollectionRun,
    Page,
    PageError,
    PageSnapshot,
    Post,
    Unit,
)

RUN_OVERDUE = dt.timedelta(hours=36)  # no finished run for this long: the job is not running
TOKEN_URGENT_DAYS = 3
READABLE = ("full", "partial")  # access levels whose posts the token reads
# The permissions whose loss costs data (docs/graph-api.md §10); others come and go.
NEEDED_SCOPES = frozenset({"pages_show_list", "pages_read_engagement", "read_insights"})
LOST = ("audience", "unreachable")
SHOWN = 10  # Pages named in a detail line before "and N more"


@dataclass(frozen=True)
class Finding:
    """A condition that holds now."""

    key: str
    rule: str
    severity: str  # critical, warning, info
    title: str
    detail: str = ""
    page_id: int | None = None
    unit_id: int | None = None
    link: str | None = None  # a report file (index.html, u-412.html, c-key.html)


@dataclass(frozen=True)
class PageInfo:
    ref: str
    name: str
    access: str | None
    reason: str | None
    unit_id: int | None
    code: str | None
    unit: str


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    access: dict[int, str | None] = field(default_factory=dict)  # page id -> access now


WORDS = {
    "vi": {
        "run_failed": "Lần thu thập lúc {when} không hoàn thành ({status}): {message}",
        "run_partial": "Lần thu thập lúc {when}: {n} Trang không thu thập được",
        "run_overdue": "Không có lần thu thập nào hoàn thành từ {when}: kiểm tra lịch chạy "
                       "(fanpulse schedule) trên máy chủ",
        "run_never": "Chưa có lần thu thập nào hoàn thành",
        "token_expired": "Mã truy cập (token) đã hết hạn lúc {when}: cần tạo mã mới",
        "token_expires": "Mã truy cập (token) hết hạn ngày {when} (còn {days} ngày): tạo mã "
                         "của người dùng hệ thống (system user) để không phải gia hạn",
        "token_scopes": "Mã truy cập mất quyền {scopes}: không thu thập được số liệu chi tiết",
        "page_lost": "Trang {page} mất quyền truy cập: trước đây đọc đầy đủ, nay "
                     "{access}",
        "page_unreadable": "Trang {page} không đọc được: {reason}",
        "page_silent": "Trang {page} không đăng bài {days} ngày (bài cuối: {last})",
        "page_silent_never": "Trang {page} không có bài đăng nào trong dữ liệu đã thu "
                             "thập",
        "followers_drop": "Trang {page} giảm {lost} người theo dõi ({pct}) trong "
                          "{window}: {before} → {after}",
        "day": "1 ngày", "week": "7 ngày",
        "campaign": "Bài chỉ đạo của đợt “{campaign}” ({unit}, {when}): sau {hours} giờ mới "
                    "{carried}/{with_page} đơn vị có Trang đăng lại ({pct})",
        "campaign_detail": "Chưa đăng lại: {units}",
        "more": "và {n} đơn vị khác",
        "access_audience": "chỉ đọc được lượt thích/theo dõi",
        "access_unreachable": "không đọc được",
    },
    "en": {
        "run_failed": "The collection of {when} did not complete ({status}): {message}",
        "run_partial": "The collection of {when}: {n} Pages were not collected",
        "run_overdue": "No collection has finished since {when}: check the schedule "
                       "(fanpulse schedule) on the server",
        "run_never": "No collection has finished yet",
        "token_expired": "The access token expired at {when}: make a new one",
        "token_expires": "The access token expires on {when} ({days} days left): make a "
                         "system-user token, which does not expire",
        "token_scopes": "The access token lost the permission {scopes}: insights cannot be "
                        "collected",
        "page_lost": "Page {page} lost its role: read in full before, now {access}",
        "page_unreadable": "Page {page} cannot be read: {reason}",
        "page_silent": "Page {page} has not posted for {days} days (last post: {last})",
        "page_silent_never": "Page {page} has no post in the data collected",
        "followers_drop": "Page {page} lost {lost} followers ({pct}) in {window}: "
                          "{before} → {after}",
        "day": "a day", "week": "a week",
        "campaign": "Directive of “{campaign}” ({unit}, {when}): after {hours} hours only "
                    "{carried} of {with_page} units with a Page carried it ({pct})",
        "campaign_detail": "Not carried yet: {units}",
        "more": "and {n} more",
        "access_audience": "audience only",
        "access_unreachable": "unreadable",
    },
}


class Rules:
    """The rules of one evaluation: the settings, the clock and the language."""

    def __init__(self, conn: Connection, settings: Settings, now: dt.datetime) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        self.tz = settings.tz
        self.lang = Lang(settings.alert_language)
        self.words = WORDS[settings.alert_language]

    @staticmethod
    def who(page: PageInfo) -> str:
        """A Page as the brief names it: "MTTQ Xã Nghi Phong", with its unit in brackets when
        the Page's name does not already say it."""
        return page.name if page.unit in page.name else f"{page.name} ({page.unit})"

    def say(self, key: str, **values: object) -> str:
        return self.words[key].format(**values)

    def when(self, moment: dt.datetime) -> str:
        return self.lang.datetime(moment, self.tz)

    def evaluate(self) -> Evaluation:
        result = Evaluation()
        pages = self._pages()
        result.access = {page_id: p.access for page_id, p in pages.items()}
        if self.settings.alert_run_failed:
            result.findings += self.runs(pages)
        if self.settings.alert_token_expiry_days:
            result.findings += self.token()
        if self.settings.alert_page_access:
            result.findings += self.access(pages)
        if self.settings.alert_silent_days:
            result.findings += self.silent(pages)
        if self.settings.alert_followers_drop_percent or self.settings.alert_followers_drop_count:
            result.findings += self.followers(pages)
        if self.settings.alert_campaign_percent:
            result.findings += self.campaigns()
        return result

    def _pages(self) -> dict[int, PageInfo]:
        rows = self.conn.execute(
            select(Page.id, Page.ref, Page.name, Page.access, Page.access_reason,
                   Unit.id, Unit.code, Unit.name)
            .select_from(Page).outerjoin(Unit, Unit.id == Page.unit_id)
            .where(Page.active).order_by(Unit.code, Page.ref))
        return {page_id: PageInfo(ref, name or ref, access, reason, unit_id, code,
                                  unit_name or "-")
                for page_id, ref, name, access, reason, unit_id, code, unit_name in rows}

    def _unit_link(self, page: PageInfo) -> str | None:
        return f"u-{page.code}.html" if page.code else None

    # -- runs ------------------------------------------------------------------------------------

    def runs(self, pages: dict[int, PageInfo]) -> list[Finding]:
        last = self.conn.execute(
            select(CollectionRun.id, CollectionRun.started_at, CollectionRun.finished_at,
                   CollectionRun.status, CollectionRun.message)
            .where(CollectionRun.status != "running")
            .order_by(CollectionRun.started_at.desc(), CollectionRun.id.desc()).limit(1)
        ).first()
        if last is None:
            return []
        found = []
        finished = last.finished_at or last.started_at
        if self.now - finished > RUN_OVERDUE:
            found.append(Finding(f"run_overdue:run={last.id}", "run_failed", "critical",
                                 self.say("run_overdue", when=self.when(finished)),
                                 link="index.html"))
        when = self.when(last.started_at)
        if last.status in ("failed", "interrupted"):
            found.append(Finding(f"run_failed:{_digest(last.status, last.message or '')}",
                                 "run_failed", "critical",
                                 self.say("run_failed", when=when,
                                          status=self.lang.run_status(last.status),
                                          message=last.message or "-"), link="index.html"))
        failures = self.conn.execute(
            select(PageError.page_id, PageError.message)
            .where(PageError.run_id == last.id, PageError.severity == "failed")
            .order_by(PageError.page_id)).all()
        if failures and last.status != "failed":
            by_reason: dict[str, list[str]] = defaultdict(list)
            for page_id, message in failures:
                page = pages.get(page_id) if page_id is not None else None
                by_reason[message].append(f"{page.unit} ({page.ref})" if page else "-")
            detail = "\n".join(f"{message}: {self._names(names)}"
                               for message, names in by_reason.items())
            found.append(Finding(f"run_partial:{_digest(*map(str, sorted(failures)))}",
                                 "run_failed", "warning",
                                 self.say("run_partial", when=when, n=len(failures)),
                                 detail, link="index.html"))
        return found

    def _names(self, names: list[str]) -> str:
        shown = ", ".join(names[:SHOWN])
        return shown + (f" {self.say('more', n=len(names) - SHOWN)}" if len(names) > SHOWN
                        else "")

    # -- the token -------------------------------------------------------------------------------

    def token(self) -> list[Finding]:
        runs = self.conn.execute(
            select(CollectionRun.token_expires_at, CollectionRun.token_permissions)
            .where(CollectionRun.token_permissions.is_not(None))
            .order_by(CollectionRun.started_at.desc(), CollectionRun.id.desc()).limit(2)).all()
        if not runs:
            return []
        found = []
        expires, permissions = runs[0]
        if expires is not None:
            left = expires - self.now
            days = left.days
            if left.total_seconds() <= 0:
                found.append(Finding(f"token_expired:{expires:%Y-%m-%d}", "token", "critical",
                                     self.say("token_expired", when=self.when(expires))))
            elif days < self.settings.alert_token_expiry_days:
                found.append(Finding(
                    f"token_expires:{expires:%Y-%m-%d}", "token",
                    "critical" if days < TOKEN_URGENT_DAYS else "warning",
                    self.say("token_expires", when=self.lang.date(
                        expires.astimezone(self.tz).date()), days=days)))
        granted = set(filter(None, (permissions or "").split(",")))
        before = set(filter(None, (runs[1][1] or "").split(","))) if len(runs) > 1 else set()
        lost = sorted(((before - granted) | {"read_insights"}) & NEEDED_SCOPES - granted)
        if lost:
            found.append(Finding(f"token_scopes:{','.join(lost)}", "token", "critical",
                                 self.say("token_scopes", scopes=", ".join(lost))))
        return found

    # -- Pages -----------------------------------------------------------------------------------

    def access(self, pages: dict[int, PageInfo]) -> list[Finding]:
        before = {page_id: access for page_id, access in self.conn.execute(
            select(AlertPageAccess.page_id, AlertPageAccess.access))}
        found = []
        for page_id, page in pages.items():
            access = page.access
            if access in LOST and before.get(page_id) in READABLE:
                found.append(Finding(
                    f"page_lost:page={page_id}:{access}", "page_access", "critical",
                    self.say("page_lost", page=self.who(page),
                             access=self.say(f"access_{access}")),
                    page.reason or "", page_id, page.unit_id,
                    self._unit_link(page)))
            elif access == "unreachable":
                found.append(Finding(
                    f"page_unreadable:page={page_id}", "page_access", "warning",
                    self.say("page_unreadable", page=self.who(page),
                             reason=page.reason or "-"),
                    "", page_id, page.unit_id, self._unit_link(page)))
        return found

    def silent(self, pages: dict[int, PageInfo]) -> list[Finding]:
        days = self.settings.alert_silent_days
        since = self.now - dt.timedelta(days=days)
        readable = [page_id for page_id, p in pages.items() if p.access in READABLE]
        if not readable:
            return []
        last = {page_id: latest for page_id, latest in self.conn.execute(
            select(Post.page_id, func.max(Post.created_time))
            .where(Post.page_id.in_(readable), Post.deleted_at.is_(None))
            .group_by(Post.page_id))}
        # A Page first read less than ``days`` ago, with no post stored, cannot be said silent
        # for that long (a post older than that shows the history is long enough).
        first_seen = {page_id: day for page_id, day in self.conn.execute(
            select(PageSnapshot.page_id, func.min(PageSnapshot.day))
            .where(PageSnapshot.page_id.in_(readable)).group_by(PageSnapshot.page_id))}
        first_day = since.astimezone(self.tz).date()
        found = []
        for page_id in readable:
            page = pages[page_id]
            latest = last.get(page_id)
            if latest is not None and latest >= since:
                continue
            seen = first_seen.get(page_id)
            if latest is None and (seen is None or seen > first_day):
                continue  # read for less than ``days``, and no post yet: too soon to say
            title = (self.say("page_silent", page=self.who(page), days=days,
                              last=self.lang.date(latest.astimezone(self.tz).date()))
                     if latest is not None else
                     self.say("page_silent_never", page=self.who(page)))
            found.append(Finding(f"page_silent:page={page_id}", "page_silent", "warning", title,
                                 "", page_id, page.unit_id, self._unit_link(page)))
        return found

    def followers(self, pages: dict[int, PageInfo]) -> list[Finding]:
        """A Page's followers at its latest snapshot against the day before and a week before
        (the snapshots of those days; a missing one is no comparison)."""
        latest_day = self.conn.scalar(select(func.max(PageSnapshot.day)))
        if latest_day is None:
            return []
        wanted = {latest_day, latest_day - dt.timedelta(days=1),
                  latest_day - dt.timedelta(days=7)}
        values: dict[int, dict[dt.date, int]] = defaultdict(dict)
        for page_id, day, followers in self.conn.execute(
                select(PageSnapshot.page_id, PageSnapshot.day, PageSnapshot.followers_count)
                .where(PageSnapshot.day.in_(wanted), PageSnapshot.followers_count.is_not(None))):
            if followers is not None:
                values[page_id][day] = followers
        percent = self.settings.alert_followers_drop_percent
        count = self.settings.alert_followers_drop_count
        found = []
        for page_id, page in pages.items():
            by_day = values.get(page_id, {})
            after = by_day.get(latest_day)
            if after is None:
                continue
            for window, days in (("day", 1), ("week", 7)):
                before = by_day.get(latest_day - dt.timedelta(days=days))
                if not before or before <= after:
                    continue
                lost = before - after
                share = lost / before
                if (percent and share * 100 > percent) or (count and lost > count):
                    found.append(Finding(
                        f"followers_drop:page={page_id}", "followers_drop", "warning",
                        self.say("followers_drop", page=self.who(page),
                                 lost=self.lang.integer(lost), pct=self.lang.percent(share),
                                 window=self.say(window), before=self.lang.integer(before),
                                 after=self.lang.integer(after)),
                        "", page_id, page.unit_id, self._unit_link(page)))
                    break  # the day's drop is in the week's: one finding per Page
        return found

    # -- campaigns -------------------------------------------------------------------------------

    def campaigns(self) -> list[Finding]:
        """Directive posts judged ``alert_campaign_hours`` after them, while their carry window
        lasts, from the ``cascade_coverage`` view (what the campaign page shows)."""
        today = self.now.astimezone(self.tz).date()
        data = load_campaigns(self.conn.engine, today - dt.timedelta(days=60), today)
        after = dt.timedelta(hours=self.settings.alert_campaign_hours)
        names = {c.key: c.name for c in data.campaigns}
        rows: dict[tuple[str, int], list[CoverageRow]] = defaultdict(list)
        for row in data.coverage:
            rows[row.campaign, row.seed_post_id].append(row)
        seeds = {(p.campaign, p.post_id): p for p in data.posts if p.role == "seed"}
        found = []
        for (campaign, seed_id), coverage in rows.items():
            seed_time, window_ends = coverage[0].seed_time, coverage[0].window_ends
            if not (seed_time + after <= self.now <= (window_ends or self.now)):
                continue
            with_page = [r for r in coverage if r.pages > 0]
            carried = [r for r in with_page if r.status == "carried"]
            if not with_page:
                continue
            share = len(carried) / len(with_page)
            if share * 100 >= self.settings.alert_campaign_percent:
                continue
            seed = seeds.get((campaign, seed_id))
            missing = [r.name for r in with_page
                       if r.status != "carried" and r.level in ("district", "commune")]
            found.append(Finding(
                f"campaign:{campaign}:seed={seed_id}", "campaign", "warning",
                self.say("campaign", campaign=names.get(campaign, campaign),
                         unit=(seed.unit_name if seed else None) or "-",
                         when=self.when(seed_time), hours=self.settings.alert_campaign_hours,
                         carried=self.lang.integer(len(carried)),
                         with_page=self.lang.integer(len(with_page)),
                         pct=self.lang.percent(share)),
                self.say("campaign_detail", units=self._names(missing)) if missing else "",
                link=campaign_filename(campaign)))
        return found



def _digest(*parts: str) -> str:
    """A short fingerprint: the same failure (status and reason, or the same Pages failing
    for the same reasons) night after night is one condition, not one per run."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=6).hexdigest()


def evaluate(conn: Connection, settings: Settings, now: dt.datetime) -> Evaluation:
    """Every enabled rule's findings now (reads only)."""
    return Rules(conn, settings, now).evaluate()
