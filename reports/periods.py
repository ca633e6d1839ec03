"""Calendar periods of the reporting cycle: a month, a quarter, a year (or a plain range).

Staff report by month and quarter (báo cáo tháng, quý, năm). A :class:`Period` knows its
first and last day, the period before it and the same period a year earlier, its label in
each language, and the folder its report lives in inside the report folder
(``periods/2026-11``, ``periods/2026-Q4``, ``periods/2026``).

A period that has not ended yet (the current month) is reported up to "today" and labelled
as ongoing. Its comparisons use the same number of days from the start of the other period
(1–26 November against 1–26 October and 1–26 November a year before): comparing 26 days with
31 would read as a fall. Rules written in docs/reports.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTH, QUARTER, YEAR, RANGE = "month", "quarter", "year", "range"
PERIODS_DIR = "periods"  # inside the report folder: periods/2026-11/index.html …
_ROMAN = ("I", "II", "III", "IV")
_EN_MONTHS = tuple(calendar.month_name)


class PeriodError(ValueError):
    """A period written in a way fanpulse cannot read."""


@dataclass(frozen=True)
class Period:
    kind: str  # month, quarter, year, range
    start: dt.date
    end: dt.date  # the last day of the calendar period (may be after today)

    # --- making one ------------------------------------------------------------------------

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(MONTH, dt.date(year, month, 1), dt.date(year, month, last))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise PeriodError(f"quarter {quarter} does not exist: use 1 to 4")
        first = 3 * quarter - 2
        return cls(QUARTER, dt.date(year, first, 1), cls.month(year, first + 2).end)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(YEAR, dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        """The month, quarter or year that ``day`` falls in."""
        if kind == MONTH:
            return cls.month(day.year, day.month)
        if kind == QUARTER:
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == YEAR:
            return cls.year(day.year)
        raise PeriodError(f"no calendar period of kind {kind!r}")

    @classmethod
    def parse(cls, kind: str, text: str) -> Period:
        """``2026-11`` or ``11/2026`` (month), ``2026-Q4`` or ``Q4/2026`` (quarter), ``2026``."""
        value = text.strip().upper()
        try:
            if kind == MONTH:
                if m := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
                    return cls.month(int(m[1]), int(m[2]))
                if m := re.fullmatch(r"(\d{1,2})/(\d{4})", value):
                    return cls.month(int(m[2]), int(m[1]))
                raise PeriodError(f"{text!r} is not a month: write 2026-11 or 11/2026")
            if kind == QUARTER:
                if m := re.fullmatch(r"(\d{4})-?Q([1-4])", value):
                    return cls.quarter(int(m[1]), int(m[2]))
                if m := re.fullmatch(r"Q([1-4])[/-](\d{4})", value):
                    return cls.quarter(int(m[2]), int(m[1]))
                raise PeriodError(f"{text!r} is not a quarter: write 2026-Q4 or Q4/2026")
            if kind == YEAR:
                if re.fullmatch(r"\d{4}", value):
                    return cls.year(int(value))
                raise PeriodError(f"{text!r} is not a year: write 2026")
        except ValueError as exc:  # month 13, year 0
            if isinstance(exc, PeriodError):
                raise
            raise PeriodError(f"{text!r} is not a {kind}: {exc}") from None
        raise PeriodError(f"no calendar period of kind {kind!r}")

    @classmethod
    def from_key(cls, key: str) -> Period:
        """The inverse of :attr:`key` (a folder name under ``periods/``)."""
        if re.fullmatch(r"\d{4}-Q[1-4]", key):
            return cls.parse(QUARTER, key)
        if re.fullmatch(r"\d{4}-\d{2}", key):
            return cls.parse(MONTH, key)
        if re.fullmatch(r"\d{4}", key):
            return cls.parse(YEAR, key)
        raise PeriodError(f"{key!r} is not a period folder name")

    # --- what it is ----------------------------------------------------------------------

    @property
    def key(self) -> str:
        """Its folder name: 2026-11, 2026-Q4, 2026 (a range: 2026-10-20_2026-11-26)."""
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == YEAR:
            return f"{self.start.year}"
        return f"{self.start:%Y-%m-%d}_{self.end:%Y-%m-%d}"

    @property
    def folder(self) -> str:
        """Where its report lives inside the report folder."""
        return f"{PERIODS_DIR}/{self.key}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self, lang: str = "vi") -> str:
        """Tháng 11/2026, Quý IV/2026, Năm 2026 (November 2026, Q4 2026, 2026)."""
        q = (self.start.month - 1) // 3
        if self.kind == MONTH:
            return (f"Tháng {self.start.month}/{self.start.year}" if lang == "vi"
                    else f"{_EN_MONTHS[self.start.month]} {self.start.year}")
        if self.kind == QUARTER:
            return (f"Quý {_ROMAN[q]}/{self.start.year}" if lang == "vi"
                    else f"Q{q + 1} {self.start.year}")
        if self.kind == YEAR:
            return f"Năm {self.start.year}" if lang == "vi" else f"{self.start.year}"
        return (f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}" if lang == "vi"
                else f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}")

    def complete(self, today: dt.date) -> bool:
        """Every day of it is in the past: its report no longer changes (it is frozen)."""
        return today > self.end

    def to_date(self, today: dt.date) -> dt.date:
        """The last day its report covers: its end, or today while it is under way."""
        return min(self.end, today)

    # --- what it is compared with --------------------------------------------------------

    def previous(self) -> Period:
        """The period just before: October for November, Q3 for Q4, 2025 for 2026."""
        if self.kind == MONTH:
            day = self.start - dt.timedelta(days=1)
            return Period.month(day.year, day.month)
        if self.kind == QUARTER:
            day = self.start - dt.timedelta(days=1)
            return Period.containing(QUARTER, day)
        if self.kind == YEAR:
            return Period.year(self.start.year - 1)
        return Period(RANGE, self.start - dt.timedelta(days=self.days),
                      self.start - dt.timedelta(days=1))

    def year_before(self) -> Period:
        """The same period a year earlier (November 2025 for November 2026)."""
        if self.kind == MONTH:
            return Period.month(self.start.year - 1, self.start.month)
        if self.kind == QUARTER:
            return Period.containing(QUARTER, self.start.replace(year=self.start.year - 1))
        if self.kind == YEAR:
            return Period.year(self.start.year - 1)
        return Period(RANGE, _year_earlier(self.start), _year_earlier(self.end))

    def first_days(self, n: int) -> tuple[dt.date, dt.date]:
        """Its first ``n`` days (all of it when it is shorter): the span compared with an
        ongoing period's ``n`` days so far."""
        return self.start, min(self.end, self.start + dt.timedelta(days=n - 1))


def _year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def latest_keys(keys: list[str]) -> dict[str, str]:
    """The newest month, quarter and year among period folder names: what the index links."""
    found: dict[str, Period] = {}
    for key in keys:
        try:
            period = Period.from_key(key)
        except PeriodError:
            continue
        if period.kind not in found or period.start > found[period.kind].start:
            found[period.kind] = period
    return {kind: period.key for kind, period in found.items()}
