"""A calendar period against the period before and the same period a year earlier.

"Tháng 11/2026 so với tháng 10/2026 và tháng 11/2025": for each unit, the figures of the three
spans side by side, each computed by its own :class:`~reports.metrics.Calculator` over the
store read for that span, and the changes between them:

* **Followers at the end** are compared like for like: only the Pages with a figure at the end
  of both spans count (the same rule as every change in the reports, docs/reports.md).
* **Posts, engagement, engagement rate, views** are the spans' own totals; a span without
  any data for the unit has no figures ("–", with the reason), never 0.
* An ongoing period (the current month) is compared with the same number of days from the
  start of the other spans (1–26/11 against 1–26/10 and 1–26/11/2025): see reports/periods.py.

:func:`summary_paragraph` turns one unit's comparison into the ready-to-paste paragraph that
opens its monthly report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import Calculator, Change, Headline, like_for_like
from fanpulse.reports.periods import Period
from fanpulse.reports.queries import PageInfo


@dataclass(frozen=True)
class Span:
    """One of the compared spans: which days, and how it is called."""

    period: Period
    date_from: dt.date
    date_to: dt.date
    partial: bool  # fewer days than the whole period (ongoing, or cut to match one)

    def label(self, lang: Lang) -> str:
        text = self.period.label(lang.code)
        if self.partial:
            text += f" ({lang.date(self.date_from)[:5]}–{lang.date(self.date_to)[:5]})"
        return text


def spans(period: Period, today: dt.date) -> tuple[Span, Span, Span]:
    """The period (up to today) and, over the same number of days, the one before it and the
    same one a year earlier."""
    to = period.to_date(today)
    ongoing = to < period.end
    n = (to - period.start).days + 1
    result = [Span(period, period.start, to, ongoing)]
    for other in (period.previous(), period.year_before()):
        first, last = other.first_days(n) if ongoing else (other.start, other.end)
        result.append(Span(other, first, last, last < other.end))
    return result[0], result[1], result[2]


@dataclass(frozen=True)
class Column:
    """One span's figures for a set of Pages (None where unknown)."""

    span: Span
    headline: Headline | None  # None: nothing was read for the store in that span at all

    @property
    def has_data(self) -> bool:
        return self.headline is not None and self.headline.has_data

    @property
    def followers(self) -> int | None:
        return self.headline.followers if self.has_data and self.headline else None

    @property
    def growth(self) -> int | None:
        """Followers gained within the span, like for like."""
        h = self.headline
        if not self.has_data or h is None or h.period_change is None:
            return None
        return h.period_change.absolute

    @property
    def posts(self) -> int | None:
        h = self.headline
        return h.posts if self.has_data and h is not None and h.posts_known else None

    @property
    def engagement(self) -> int | None:
        h = self.headline
        return h.engagement if self.has_data and h is not None and h.posts_known else None

    @property
    def rate(self) -> float | None:
        h = self.headline
        return h.engagement_rate if self.has_data and h is not None else None


@dataclass(frozen=True)
class Comparison:
    current: Column
    previous: Column
    year_before: Column
    followers_vs_previous: Change  # like for like, end of the previous span → end of this one
    followers_vs_year: Change

    def ratio(self, other: Column, attr: str) -> float | None:
        """(this − other) ÷ other for posts, engagement, growth; None when either is unknown."""
        now, then = getattr(self.current, attr), getattr(other, attr)
        if now is None or then is None or not then:
            return None
        return float((now - then) / abs(then))

    def why(self, other: Column) -> str | None:
        """A label key saying why the comparison with ``other`` has no figures, if it has none."""
        if not self.current.has_data:
            return "why_no_data"
        if not other.has_data:
            return "why_no_data_then"
        return None


class Comparer:
    """Compare any set of Pages across the three spans (one Calculator per span)."""

    def __init__(self, current: Calculator, previous: Calculator | None,
                 year_before: Calculator | None, spans_: tuple[Span, Span, Span]) -> None:
        self.calcs = (current, previous, year_before)
        self.spans = spans_

    def compare(self, pages: list[PageInfo]) -> Comparison:
        columns = []
        for calc, span in zip(self.calcs, self.spans, strict=True):
            columns.append(Column(span, calc.headline(pages) if calc is not None else None))
        current, previous, year_before = columns
        return Comparison(
            current, previous, year_before,
            self._levels_change(pages, self.calcs[1], current, previous),
            self._levels_change(pages, self.calcs[2], current, year_before),
        )

    def _levels_change(self, pages: list[PageInfo], calc: Calculator | None, now: Column,
                       then: Column) -> Change:
        """Followers at the end of ``now`` minus at the end of ``then``, like for like."""
        days = (now.span.date_to - then.span.date_to).days
        if not now.has_data:
            return Change(days, None, None, why="why_no_data")
        if calc is None or not then.has_data:
            return Change(days, None, None, why="why_no_data_then")
        end_now = self.calcs[0].levels(pages)
        end_then = calc.levels(pages)
        return like_for_like(days, ((p, end_now.get(p.id), end_then.get(p.id)) for p in pages),
                             only_joined="why_no_common")


def summary_paragraph(lang: Lang, unit_name: str, c: Comparison, pages_total: int) -> str:
    """The paragraph that opens a unit's period report, ready to paste (plain text)."""
    cur = c.current
    label = cur.span.period.label(lang.code)
    prev_label = c.previous.span.label(lang)
    year_label = c.year_before.span.label(lang)
    num, signed = lang.integer, lang.signed

    def pct(x: float | None) -> str:
        return lang.percent(x, signed=True)

    vi = lang.code == "vi"
    if not cur.has_data:
        return (f"{label}: chưa có số liệu về Trang của {unit_name} trong giai đoạn này."
                if vi else f"{label}: no figures yet for the Pages of {unit_name} in this period.")
    h = cur.headline
    assert h is not None
    parts: list[str] = []
    as_of = lang.date(h.as_of)
    pages = (f"{num(h.pages_reporting)}/{num(pages_total)} Trang" if vi
             else f"{num(h.pages_reporting)}/{num(pages_total)} Pages")
    ongoing = f" ({lang.t('ongoing')})" if cur.span.partial else ""
    if vi:
        parts.append(f"{label}{ongoing}, các Trang của {unit_name} ({pages}) có "
                     f"{num(h.followers)} người theo dõi (ngày {as_of}).")
    else:
        parts.append(f"{label}{ongoing}: the Pages of {unit_name} ({pages}) had "
                     f"{num(h.followers)} followers on {as_of}.")
    growth = h.period_change
    if growth is not None and growth.absolute is not None:
        counted = f"{num(growth.pages_counted)}/{num(pages_total)}"
        if vi:
            word = "tăng" if growth.absolute >= 0 else "giảm"
            parts.append(f"Trong kỳ {word} {num(abs(growth.absolute))} người "
                         f"({pct(growth.fraction)}, tính trên {counted} Trang có số liệu "
                         "đầu và cuối kỳ).")
        else:
            word = "up" if growth.absolute >= 0 else "down"
            parts.append(f"Over the period, {word} {num(abs(growth.absolute))} "
                         f"({pct(growth.fraction)}, over {counted} Pages with figures at both "
                         "ends).")
    if h.posts_known:
        rate = lang.decimal_number(h.engagement_rate, 2)
        if vi:
            parts.append(f"Các Trang đăng {num(h.posts)} bài viết, được {num(h.engagement)} "
                         f"lượt tương tác; tỷ lệ tương tác {rate} ‰.")
        else:
            parts.append(f"The Pages published {num(h.posts)} posts, which drew "
                         f"{num(h.engagement)} interactions; engagement rate {rate} ‰.")
    for other, vs in ((c.previous, c.followers_vs_previous),
                      (c.year_before, c.followers_vs_year)):
        other_label = prev_label if other is c.previous else year_label
        if not other.has_data:
            parts.append(f"Chưa có số liệu {other_label} để so sánh." if vi
                         else f"No figures for {other_label} to compare with.")
            continue
        bits = []
        if vs.absolute is not None:
            bits.append(f"người theo dõi {signed(vs.absolute)} ({pct(vs.fraction)})" if vi
                         else f"followers {signed(vs.absolute)} ({pct(vs.fraction)})")
        if other.posts is not None and cur.posts is not None:
            ratio = c.ratio(other, "posts")
            bits.append((f"số bài {num(cur.posts)} so với {num(other.posts)}" if vi
                         else f"posts {num(cur.posts)} against {num(other.posts)}")
                        + (f" ({pct(ratio)})" if ratio is not None else ""))
        if other.engagement is not None and cur.engagement is not None:
            ratio = c.ratio(other, "engagement")
            bits.append((f"tương tác {num(cur.engagement)} so với {num(other.engagement)}"
                         if vi else
                         f"engagement {num(cur.engagement)} against {num(other.engagement)}")
                        + (f" ({pct(ratio)})" if ratio is not None else ""))
        if bits:
            parts.append((f"So với {other_label}: " if vi else f"Against {other_label}: ")
                         + "; ".join(bits) + ".")
    return " ".join(parts)
