"""Every table of a report page, also as an Excel workbook beside it (``u-412.xlsx``).

Officers paste the reports into Word and Excel; a workbook saves them copying figures out of a
web page. One workbook per page, one sheet per table of that page, built from the same metrics
objects (:mod:`reports.metrics`) the page's template receives, so the figures are the page's:

* a header row in the report's language, frozen, bold; column widths set;
* numbers as numbers (``#,##0``: Excel shows them with the reader's own separators, 163.180 on
  a Vietnamese system), percentages as fractions with a % format, dates as dates
  (``dd/mm/yyyy``; ``yyyy-mm-dd`` in English), moments as Vietnam time;
* a figure the page shows as "–" (unknown) is an empty cell, never 0;
* text as text, always: a Page name or post from Facebook that starts with ``=``, ``+``,
  ``-`` or ``@`` is stored as a string, never as a formula; characters XML cannot hold are
  dropped, and a cell is cut at Excel's 32,767 characters.

Written by :mod:`reports.xlsx`, which writes the very bytes XlsxWriter wrote for these
workbooks in a fraction of its time (text is always a string cell, so never a formula). The
same store and ``now`` give the same bytes: the workbook's dates (author "fanpulse") and its
zip entries carry the build's ``now``, not the clock.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from fanpulse.reports import xlsx
from fanpulse.reports.campaigns import CampaignMeasures
from fanpulse.reports.compare import Column as SpanColumn
from fanpulse.reports.compare import Comparison
from fanpulse.reports.i18n import MIN_FOLLOWERS_FOR_RANKING, MIN_POSTS_FOR_RANKING, Lang
from fanpulse.reports.metrics import (
    ChildRow,
    Headline,
    PageStatus,
    UnitMetrics,
    access_key,
    action_key,
    insights_key,
    posts_key,
)
from fanpulse.reports.queries import LOCAL_TZ, PageInfo, UnitInfo
from fanpulse.reports.render import facebook_url, redact

EXCEL_MAX_CHARS = 32_767
MAX_WIDTH = 60
INTEGER = "#,##0"
SIGNED = "+#,##0;-#,##0;0"
PERCENT_SIGNED = "+0.0%;-0.0%;0.0%"
RATE = "0.00"  # the engagement rate is per 1,000 followers (‰), not a percentage
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
# The characters XML 1.0 cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
_ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

# A column: (header, kind); kind says how its values are stored and shown.
Column = tuple[str, str]


class TreeNode(Protocol):
    """A unit of the index's tree (reports.overview.TreeNode)."""

    @property
    def unit(self) -> UnitInfo: ...
    @property
    def headline(self) -> Headline: ...
    @property
    def has_page(self) -> bool: ...
    @property
    def failed(self) -> bool: ...
    @property
    def silent_days(self) -> int | None: ...
    @property
    def access(self) -> list[str]: ...
    @property
    def posts_unreadable(self) -> bool: ...
    @property
    def children(self) -> Sequence[TreeNode]: ...


def xlsx_filename(html_name: str) -> str:
    """``u-412.html`` → ``u-412.xlsx``."""
    return html_name.removesuffix(".html") + ".xlsx"


_ZIP_END = b"PK\x05\x06"
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_LOCAL = b"PK\x03\x04"


def _stamp_zip(data: bytearray, stamp: dt.datetime) -> None:
    """Give every entry of a zip (reports.xlsx's, without a comment) the timestamp ``stamp``, in
    place: the two DOS time and date fields of its central record and of its local header."""
    dos_time = stamp.hour << 11 | stamp.minute << 5 | stamp.second // 2
    dos_date = (max(stamp.year, 1980) - 1980) << 9 | stamp.month << 5 | stamp.day
    fields = struct.pack("<HH", dos_time, dos_date)
    end = len(data) - 22
    if data[end:end + 4] != _ZIP_END:
        raise ValueError("not a zip without a comment")
    count, _size, at = struct.unpack_from("<HII", data, end + 10)
    for _ in range(count):
        if data[at:at + 4] != _ZIP_CENTRAL:
            raise ValueError("bad zip central directory")
        name, extra, comment = struct.unpack_from("<HHH", data, at + 28)
        (local,) = struct.unpack_from("<I", data, at + 42)
        if data[local:local + 4] != _ZIP_LOCAL:
            raise ValueError("bad zip local header")
        data[at + 12:at + 16] = fields
        data[local + 10:local + 14] = fields
        at += 46 + name + extra + comment


class _Book:
    """One workbook being written: sheets with a frozen header, widths and typed cells."""

    def __init__(self, lang: Lang, now: dt.datetime) -> None:
        self.lang = lang
        self.now = now
        self.wb = xlsx.Workbook()
        self.titles: set[str] = set()
        date_format = "dd/mm/yyyy" if lang.code == "vi" else "yyyy-mm-dd"
        self.bold = xlsx.Style(bold=True)
        self.date = xlsx.Style(num_format=date_format)
        self.moment = xlsx.Style(num_format=date_format + " hh:mm")
        self.numbers = {kind: xlsx.Style(num_format=number_format)
                        for kind, number_format in (("int", INTEGER), ("signed", SIGNED),
                                                    ("pct", PERCENT_SIGNED), ("rate", RATE))}

    def sheet(self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        ws = self.wb.add_worksheet(self._title(title))
        ws.freeze_header()
        for k, (header, kind) in enumerate(columns):
            longest = max([len(header), *(self._width(row[k], kind) for row in rows)])
            # Excel's unit is the width of a digit (7 pixels in Calibri 11).
            ws.set_column_pixels(k, 7 * min(MAX_WIDTH, max(6, longest + 2)))
        for k, (header, _kind) in enumerate(columns):
            if text := _text(header):
                ws.write_string(0, k, text, self.bold)
        for r, row in enumerate(rows, 1):
            for k, (value, (_header, kind)) in enumerate(zip(row, columns, strict=True)):
                self._write(ws, r, k, value, kind)

    def save(self, path: Path) -> None:
        if not self.titles:
            self.wb.add_worksheet("-")  # a workbook needs a sheet
        stamp = self.now.astimezone(dt.UTC).replace(microsecond=0)
        self.wb.author, self.wb.created = "fanpulse", stamp  # also "modified"
        data = self.wb.save()
        _stamp_zip(data, stamp)
        path.write_bytes(data)

    def _title(self, title: str) -> str:
        """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, unique (and
        no apostrophe at either end)."""
        base = " ".join(title.translate(_SHEET_FORBIDDEN).split())[:31].strip("'") or "-"
        name, n = base, 2
        while name.casefold() in self.titles:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        self.titles.add(name.casefold())
        return name

    def _width(self, value: Any, kind: str) -> int:
        if value is None:
            return 0
        if kind in ("date",):
            return 10
        if kind == "datetime":
            return 16
        if kind in ("pct", "rate"):
            return 8
        if isinstance(value, int | float):
            return len(f"{value:,}") + 1
        return min(MAX_WIDTH, len(str(value)))

    def _write(self, ws: Any, row: int, col: int, value: Any, kind: str) -> None:
        if value is None:
            return  # an empty cell, never 0
        kind_of = type(value)
        if kind_of is int or kind_of is float:  # the most common cells first
            ws.write_number(row, col, value, self.numbers.get(kind))
        elif kind_of is str:
            text = _text(value)
            if text:
                ws.write_string(row, col, text)
        elif isinstance(value, dt.datetime):
            local = value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
            ws.write_datetime(row, col, local.replace(microsecond=0), self.moment)
        elif isinstance(value, dt.date):
            ws.write_datetime(row, col, value, self.date)
        elif isinstance(value, str):
            text = _text(value)
            if text:  # "" is an empty cell (as openpyxl wrote it), not an empty string
                ws.write_string(row, col, text)  # "=SUM(...)" stays text, never a formula
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            ws.write_number(row, col, value, self.numbers.get(kind))
        else:
            raise TypeError(f"cannot write {type(value).__name__} to a workbook")


def _text(value: str) -> str:
    """Text a cell can hold: without the characters XML cannot hold, cut at Excel's limit."""
    return _ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_MAX_CHARS]


def _page_name(page: PageInfo) -> str:
    return page.name or page.ref


def _headline_sheet(book: _Book, rows: list[tuple[str, Headline]]) -> None:
    t = book.lang.t
    columns: list[Column] = [(t("xlsx_scope"), "text"), (t("date"), "date"),
                             (t("followers"), "int"), (t("likes"), "int"),
                             (t("xlsx_pages_reporting"), "int"), (t("xlsx_pages_total"), "int")]
    first = rows[0][1] if rows else None
    windows = [c.days for c in first.changes] if first else []
    for days in windows:
        label = t("change_days", n=days)
        columns += [(label, "signed"), (label + " (%)", "pct")]
    # The change over the period (Headline.period_change) comes with the like-for-like
    # roll-ups: written when the metrics have it.
    period = any(getattr(h, "period_change", None) is not None for _, h in rows)
    if period:
        columns += [(t("change_period"), "signed"), (t("change_period") + " (%)", "pct")]
    columns += [(t("posts"), "int"), (t("reactions"), "int"), (t("comments"), "int"),
                (t("shares"), "int"), (t("engagement"), "int"), (t("engagement_rate"), "rate"),
                (t("xlsx_posts_unreadable_pages"), "int")]
    values = []
    for scope, h in rows:
        row: list[Any] = [scope, h.as_of, h.followers, h.likes, h.pages_reporting, h.pages_total]
        for days in windows:
            c = h.change(days)
            row += [c.absolute, c.fraction]
        if period:
            pc = getattr(h, "period_change", None)
            row += [pc.absolute if pc else None, pc.fraction if pc else None]
        known = h.posts_known and h.has_data  # no data in the period: unknown, not 0
        row += [h.posts if known else None, h.reactions if known else None,
                h.comments if known else None, h.shares if known else None,
                h.engagement if known else None, h.engagement_rate, h.posts_unreadable]
        values.append(row)
    book.sheet(t("xlsx_sheet_headline"), columns, values)


def _access_rows(book: _Book, statuses: list[PageStatus]) -> list[list[Any]]:
    t = book.lang.t
    rows = []
    for s in statuses:
        p = s.page
        act = action_key(p)
        rows.append([s.unit.name, _page_name(p), t("access_" + access_key(p)), t(posts_key(p)),
                     t(insights_key(p)), t(act) if act else t("act_none"), p.access_checked_at,
                     facebook_url(p.link)])
    return rows


def _access_columns(t: Any) -> list[Column]:
    return [(t("unit"), "text"), (t("page"), "text"), (t("access"), "text"), (t("posts"), "text"),
            (t("insights"), "text"), (t("action"), "text"), (t("checked_at"), "datetime"),
            (t("xlsx_link"), "text")]


def _no_post_text(lang: Lang, since: dt.date | None) -> str:
    """"chưa có bài từ 01/09/2026": no post since fanpulse first collected the Page."""
    return lang.t("no_post_since", date=lang.date(since)) if since else lang.t("never_posted")


def _child_status(lang: Lang, r: ChildRow) -> str:
    t = lang.t
    parts = []
    if not r.has_page:
        parts.append(t("no_page"))
    if r.silent_days is not None and r.silent_days >= 14:
        parts.append(f"{t('silent_badge')} {t('days_silent', n=r.silent_days)}")
    if r.failed_pages:
        parts.append(f"{t('failed_badge')}: {r.failed_pages}")
    for key, n in r.access.items():
        if key != "full":
            label = t("access_" + key)
            parts.append(f"{label}: {lang.integer(n)}" if r.access.total > 1 else label)
    return "; ".join(parts)


def unit_workbook(m: UnitMetrics, lang: Lang, path: Path, now: dt.datetime, *,
                  comparison: Comparison | None = None, summary: str | None = None) -> None:
    """The tables of a unit's page: the period's summary and comparison (calendar periods),
    figures, top posts, units below, coverage (``now``: the build's, the workbook's date)."""
    t = lang.t
    book = _Book(lang, now)
    if comparison is not None:
        _comparison_sheet(book, comparison, summary)
    headlines = [(t("xlsx_rollup") if m.children else t("own_page"), m.rollup)]
    if m.own is not None:
        headlines.append((t("own_page"), m.own))
    if m.own_pages:
        _headline_sheet(book, headlines)

    if m.top_posts:
        book.sheet(t("xlsx_sheet_top_posts"), [
            ("#", "int"), (t("date"), "date"), (t("page"), "text"), (t("excerpt"), "text"),
            (t("engagement"), "int"), (t("reactions"), "int"), (t("comments"), "int"),
            (t("shares"), "int"), (t("xlsx_link"), "text"),
        ], ([k, post.local_day, _page_name(page), post.message or "", post.engagement,
             post.reactions, post.comments, post.shares,
             None if post.deleted else facebook_url(post.permalink_url)]
            for k, (post, page) in enumerate(m.top_posts, 1)))

    if m.children:
        rows = []
        for r in m.child_rows:
            h = r.headline
            c = h.change(30)
            known = h.posts_known
            rows.append([
                r.unit.name, lang.unit_type(r.unit.name, r.unit.level), h.followers, c.absolute,
                c.fraction,
                h.posts if known else None, h.engagement if known else None, h.engagement_rate,
                None if r.posts_unreadable or r.last_post is None
                else r.last_post.astimezone(LOCAL_TZ).date(),
                _child_status(lang, r) or None,
            ])
        book.sheet(t("xlsx_sheet_children"), [
            (t("unit"), "text"), (t("xlsx_level"), "text"), (t("followers"), "int"),
            (t("growth_30"), "signed"), (t("growth_30") + " (%)", "pct"), (t("posts"), "int"),
            (t("engagement"), "int"), (t("engagement_rate"), "rate"), (t("last_post"), "date"),
            (t("status"), "text"),
        ], rows)

    cov = m.coverage
    book.sheet(t("xlsx_sheet_access"), _access_columns(t), _access_rows(book, cov.access))
    book.sheet(t("xlsx_sheet_failed"), [
        (t("unit"), "text"), (t("page"), "text"), (t("xlsx_error"), "text"),
        (t("xlsx_detail"), "text"), (t("xlsx_error_code"), "int"),
    ], ([s.unit.name, _page_name(s.page), lang.error_kind(s.error.kind),
         redact(s.error.message), s.error.code] for s in cov.failed if s.error is not None))
    silent = [(n, s) for n, statuses in sorted(cov.silent.items(), reverse=True) for s in statuses]
    book.sheet(t("xlsx_sheet_silent"), [
        (t("xlsx_silent_group"), "text"), (t("unit"), "text"), (t("page"), "text"),
        (t("xlsx_silent_days"), "int"), (t("last_post"), "datetime"),
    ], ([t("xlsx_days_or_more", n=n), s.unit.name, _page_name(s.page),
         s.silent_days if s.silent_days is not None else _no_post_text(lang, s.since),
         s.last_post] for n, s in silent))
    book.sheet(t("xlsx_sheet_no_page"), [(t("unit"), "text"), (t("xlsx_level"), "text")],
               ([u.name, lang.unit_type(u.name, u.level)] for u in cov.no_page))
    book.sheet(t("xlsx_sheet_no_insights"), [(t("unit"), "text"), (t("page"), "text")],
               ([s.unit.name, _page_name(s.page)] for s in cov.no_insights))
    if cov.former:
        book.sheet(t("cov_former"), [(t("unit"), "text"), (t("page"), "text"),
                                     (t("xlsx_former_unit"), "text"),
                                     (t("last_post"), "datetime")],
                   ([s.unit.name, _page_name(s.page), old.name if old else None, s.last_post]
                    for s, old in cov.former))
    book.save(path)


def index_workbook(roots: list[dict[str, Any]], boards: dict[str, list[Any]],
                   tree: Sequence[TreeNode], lang: Lang, path: Path, now: dt.datetime) -> None:
    """The tables of index.html: figures of each root, Pages not fully readable, the three
    leaderboards, the unit tree."""
    t = lang.t
    book = _Book(lang, now)
    _headline_sheet(book, [(root["unit"].name, root["rollup"]) for root in roots])
    book.sheet(t("xlsx_sheet_access"), _access_columns(t),
               [row for root in roots for row in _access_rows(book, root["access"])])
    book.sheet(t("xlsx_sheet_lb_growth"), [
        ("#", "int"), (t("unit"), "text"), (t("growth_30") + " (%)", "pct"),
        (t("growth_30"), "signed"), (t("followers"), "int"),
    ], ([k, unit.name, h.change(30).fraction, h.change(30).absolute, h.followers]
        for k, (unit, h) in enumerate(boards["growth"], 1)))
    book.sheet(t("xlsx_sheet_lb_engaging"), [
        ("#", "int"), (t("unit"), "text"), (t("engagement_rate"), "rate"), (t("posts"), "int"),
        (t("engagement"), "int"), (t("followers"), "int"),
    ], ([k, unit.name, h.engagement_rate, h.posts, h.engagement, h.followers]
        for k, (unit, h) in enumerate(boards["engaging"], 1)))
    book.sheet(t("xlsx_sheet_lb_silent"), [
        ("#", "int"), (t("unit"), "text"), (t("xlsx_silent_days"), "int"),
    ], ([k, unit.name, days if days is not None else _no_post_text(lang, since)]
        for k, (unit, (days, since)) in enumerate(boards["silent"], 1)))

    rows: list[list[Any]] = []

    def walk(nodes: Sequence[TreeNode], parent: str | None) -> None:
        for node in nodes:
            h = node.headline
            status = [t("access_" + key) for key in node.access]
            if not node.unit.active:
                status.insert(0, t("retired"))
            if not node.has_page:
                status.append(t("no_page"))
            if node.failed:
                status.append(t("failed_badge"))
            if node.silent_days is not None and node.silent_days >= 30:
                status.append(t("silent_badge"))
            if node.posts_unreadable and not {"audience", "unreachable"} & set(node.access):
                status.append(t("posts_unreadable"))
            rows.append([node.unit.name, lang.unit_type(node.unit.name, node.unit.level),
                         parent, h.followers,
                         h.change(30).absolute, h.change(30).fraction,
                         "; ".join(status) or None])
            walk(node.children, node.unit.name)

    walk(tree, None)
    book.sheet(t("hierarchy"), [
        (t("unit"), "text"), (t("xlsx_level"), "text"), (t("xlsx_parent"), "text"),
        (t("followers"), "int"), (t("growth_30"), "signed"), (t("growth_30") + " (%)", "pct"),
        (t("status"), "text"),
    ], rows)
    book.save(path)


def _comparison_sheet(book: _Book, c: Comparison, summary: str | None) -> None:
    """The period against the one before and the same one a year earlier, as on the page;
    the summary paragraph below the table."""
    t, lang = book.lang.t, book.lang
    columns: list[Column] = [("", "text"), (c.current.span.label(lang), "int"),
                             (c.previous.span.label(lang), "int"), (t("compare_vs"), "pct"),
                             (c.year_before.span.label(lang), "int"), (t("compare_vs"), "pct")]
    others: tuple[SpanColumn, SpanColumn] = (c.previous, c.year_before)
    rows: list[list[Any]] = [[t("followers_end"), c.current.followers, c.previous.followers,
                              c.followers_vs_previous.fraction, c.year_before.followers,
                              c.followers_vs_year.fraction]]
    for attr, label in (("growth", "growth_in_period"), ("posts", "posts"),
                        ("engagement", "engagement")):
        row: list[Any] = [t(label), getattr(c.current, attr)]
        for other in others:
            row += [getattr(other, attr), c.ratio(other, attr)]
        rows.append(row)
    rows.append([t("engagement_rate"), c.current.rate, c.previous.rate, None,
                 c.year_before.rate, None])
    if summary:
        rows += [[None] * 6, [summary, None, None, None, None, None]]
    book.sheet(t("compare_title"), columns, rows)


def ranking_workbook(rows: Sequence[Any], quiet: Sequence[Any], lang: Lang, path: Path,
                     now: dt.datetime) -> None:
    """ranking.html's two tables: the commune ranking and the weekly posting check."""
    t = lang.t
    book = _Book(lang, now)
    book.sheet(t("ranking_communes"), [
        ("#", "int"), (t("unit"), "text"), (t("xlsx_parent"), "text"),
        (t("engagement_rate"), "rate"), (t("posts"), "int"), (t("engagement"), "int"),
        (t("followers"), "int"), (t("change_period"), "signed"), (t("status"), "text"),
    ], ([r.rank, r.unit.name, r.parent.name if r.parent else None, r.headline.engagement_rate,
         r.headline.posts if r.headline.posts_known and r.headline.has_data else None,
         r.headline.engagement if r.headline.posts_known and r.headline.has_data else None,
         r.headline.followers,
         r.headline.period_change.absolute if r.headline.period_change else None,
         t(r.reason, followers=lang.integer(MIN_FOLLOWERS_FOR_RANKING),
           posts=MIN_POSTS_FOR_RANKING) if r.reason else None] for r in rows))
    book.sheet(t("quiet_title", date_from="", date_to="").split("(")[0].strip(), [
        (t("unit"), "text"), (t("xlsx_parent"), "text"), (t("last_post"), "datetime"),
        (t("xlsx_detail"), "text"),
    ], ([q.unit.name, q.parent.name if q.parent else None, q.last_post,
         None if q.last_post else _no_post_text(lang, q.since)] for q in quiet))
    book.save(path)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def campaign_workbook(m: CampaignMeasures, lang: Lang, path: Path, now: dt.datetime) -> None:
    """A campaign page's tables: every ``cascade_coverage`` row of its seeds (one per seed and
    unit below the seed's unit), the figures by level and the carries."""
    t = lang.t
    book = _Book(lang, now)
    names = {row.unit_id: row.name for s in m.seeds for row in s.rows}
    coverage = []
    for number, s in enumerate(m.seeds, 1):
        for row in s.rows:
            carry = s.carry_posts.get(row.carry_post_id) if row.carry_post_id else None
            coverage.append([
                number, s.seed.created_time, s.seed_unit_name, row.code, row.name,
                lang.level(row.level),
                names.get(row.parent_id or 0, s.seed_unit_name), row.pages,
                t("status_" + row.status),
                carry.created_time if carry else None, _hours(row.delay_seconds),
                t("method_" + row.method) if row.method else None, row.posts_in_window,
                row.last_post_time,
                facebook_url(carry.permalink_url) if carry and not carry.deleted else None,
            ])
    book.sheet(t("xlsx_sheet_camp_coverage"), [
        (t("xlsx_seed"), "int"), (t("xlsx_seed_time"), "datetime"), (t("xlsx_seed_unit"), "text"),
        (t("xlsx_code"), "text"), (t("unit"), "text"), (t("camp_level"), "text"),
        (t("xlsx_parent"), "text"), (t("xlsx_pages"), "int"), (t("status"), "text"),
        (t("xlsx_carry_time"), "datetime"), (t("xlsx_delay_hours"), "rate"),
        (t("camp_method"), "text"), (t("xlsx_posts_in_window"), "int"),
        (t("camp_last_post"), "datetime"), (t("xlsx_link"), "text"),
    ], coverage)
    book.sheet(t("xlsx_sheet_camp_levels"), [
        (t("xlsx_seed"), "int"), (t("camp_level"), "text"), (t("camp_units"), "int"),
        (t("camp_with_page"), "int"), (t("status_carried"), "int"),
        (t("status_not_carried"), "int"), (t("status_silent"), "int"),
        (t("status_no_page"), "int"), (t("camp_coverage"), "pct"),
        (t("xlsx_median_hours"), "rate"), (t("xlsx_p90_hours"), "rate"),
    ], ([number, lang.level(f.label), f.units, f.with_page, f.carried, f.not_carried, f.silent,
         f.no_page, f.share, _hours(f.median_delay), _hours(f.p90_delay)]
        for number, s in enumerate(m.seeds, 1) for f in s.by_level))
    book.sheet(t("xlsx_sheet_camp_carries"), [
        (t("xlsx_seed"), "int"), (t("unit"), "text"), (t("camp_level"), "text"),
        (t("xlsx_carry_time"), "datetime"), (t("xlsx_delay_hours"), "rate"),
        (t("camp_method"), "text"), (t("engagement"), "int"), (t("reactions"), "int"),
        (t("comments"), "int"), (t("shares"), "int"), (t("excerpt"), "text"),
        (t("xlsx_link"), "text"),
    ], ([number, p.unit_name, lang.level(p.level) if p.level else None, p.created_time,
         _hours(p.delay_seconds), t("method_" + p.method) if p.method else None, p.engagement,
         p.reactions, p.comments, p.shares, p.message or "",
         None if p.deleted else facebook_url(p.permalink_url)]
        for number, s in enumerate(m.seeds, 1) for p in s.carries))
    book.save(path)
