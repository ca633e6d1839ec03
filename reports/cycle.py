"""The reporting cycle: monthly, quarterly and yearly reports kept beside the main report.

Layout of the report folder (``report_dir``)::

    index.html, u-*.html, ranking.html, …    the main report (the last 90 days)
    periods/2026-11/index.html …             a month (each period folder is a full report)
    periods/2026-Q4/index.html …             a quarter
    periods/2026/index.html …                a year

Each period folder holds ``period.json`` (its kind, days, whether it was complete when built)
and is replaced whole like the main folder (reports/publish.py); the main folder carries the
``periods`` folder over when it is replaced. The main index links the latest month, quarter
and year, and lists them all; a period's index links back and to its neighbours.

:func:`refresh_reports` is what the nightly job runs after a collection: it rebuilds the
current month, quarter and year (their reports say "đang diễn ra" and end today), builds a
period one last time the first night after it ends, and from then on leaves it as it is
(frozen: ``"complete": true`` in its ``period.json``). A period whose folder is missing, for
example the months before fanpulse was upgraded, is built once. Finally the main report.
``fanpulse report --month 2026-10`` rebuilds one period on request, frozen or not.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from fanpulse.reports.compare import Comparer, spans
from fanpulse.reports.metrics import CARRY_DAYS, Calculator
from fanpulse.reports.periods import MONTH, PERIODS_DIR, QUARTER, YEAR, Period, PeriodError
from fanpulse.reports.queries import LOCAL_TZ, StoreData, data_span, load_store

PERIOD_INFO = "period.json"
HOME_FROM_PERIOD = "../../index.html"  # from periods/<key>/ to the main report
KINDS = (MONTH, QUARTER, YEAR)


def comparer_for(engine: Engine, calc: Calculator, period: Period, today: dt.date, *,
                 as_was: dt.date | None = None) -> Comparer:
    """The period's own figures (``calc``) with those of the period before and the same
    period a year earlier, each read from the store over the same number of days."""
    return comparer_from(calc, period, today, comparison_stores(engine, period, today,
                                                                as_was=as_was))


def comparison_stores(engine: Engine, period: Period, today: dt.date, *,
                      as_was: dt.date | None = None) -> list[StoreData | None]:
    """The store read for the period before and for the same period a year earlier (None for
    a span the store holds nothing of): the reads of :func:`comparer_for`, on their own so
    that a build can make them while it reads the period itself."""
    covered = data_span(engine)
    stores: list[StoreData | None] = []
    for span in spans(period, today)[1:]:
        if covered is None or span.date_to < covered[0] or span.date_from > covered[1]:
            stores.append(None)  # nothing stored for it: no figures, not zeros
            continue
        stores.append(load_store(engine, span.date_from, span.date_to,
                                 audience_from=span.date_from - dt.timedelta(days=CARRY_DAYS + 1),
                                 as_was=as_was))
    return stores


def comparer_from(calc: Calculator, period: Period, today: dt.date,
                  stores: list[StoreData | None]) -> Comparer:
    """:func:`comparer_for` from the stores :func:`comparison_stores` read."""
    previous, year_before = (Calculator(data) if data is not None else None for data in stores)
    return Comparer(calc, previous, year_before, spans(period, today))


def write_period_info(out: Path, period: Period, date_to: dt.date, today: dt.date,
                      now: dt.datetime) -> None:
    info = {"kind": period.kind, "key": period.key, "start": period.start.isoformat(),
            "end": period.end.isoformat(), "to": date_to.isoformat(),
            "complete": period.complete(today), "generated": now.astimezone(dt.UTC).isoformat()}
    (out / PERIOD_INFO).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class PeriodLink:
    period: Period
    href: str  # relative to the page that shows it
    complete: bool
    current: bool = False  # the report showing the link is this period's

    def label(self, lang: str) -> str:
        return self.period.label(lang)


def read_info(folder: Path) -> dict[str, Any] | None:
    """A period folder's ``period.json``, or None when it is missing or unreadable."""
    try:
        info = json.loads((folder / PERIOD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def period_links(out: Path, period: Period | None) -> dict[str, Any]:
    """What a page shows of the cycle: the latest month, quarter and year, and every period
    by kind, newest first. ``out`` is the folder being replaced: the main report folder, or
    ``periods/<key>`` (then the links point to its siblings)."""
    root = out / PERIODS_DIR if period is None else out.parent
    prefix = f"{PERIODS_DIR}/" if period is None else "../"
    found: dict[str, list[PeriodLink]] = {kind: [] for kind in KINDS}
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not (folder / "index.html").is_file():
                continue
            try:
                other = Period.from_key(folder.name)
            except PeriodError:
                continue
            info = read_info(folder) or {}
            found[other.kind].append(PeriodLink(other, f"{prefix}{other.key}/index.html",
                                                bool(info.get("complete"))))
    if period is not None and period.kind in found:  # itself, as it will be once written
        here = [link for link in found[period.kind] if link.period != period]
        here.append(PeriodLink(period, "index.html", False, current=True))
        found[period.kind] = here
    for links in found.values():
        links.sort(key=lambda link: link.period.start, reverse=True)
    latest = {kind: links[0] for kind, links in found.items() if links}
    neighbours: dict[str, PeriodLink] = {}
    if period is not None:
        same = {link.period: link for link in found.get(period.kind, [])}
        for name, other in (("previous", period.previous()), ("next", _next(period))):
            if other in same:
                neighbours[name] = same[other]
    return {"latest": latest, "by_kind": found, "neighbours": neighbours,
            "any": any(found.values())}


def _next(period: Period) -> Period:
    return Period.containing(period.kind, period.end + dt.timedelta(days=1))


def due_periods(report_dir: Path, today: dt.date,
                covered: tuple[dt.date, dt.date] | None) -> list[Period]:
    """The periods the nightly job (re)builds: the current ones, and every period with data
    whose folder is missing or was built before it was complete. Oldest first."""
    if covered is None:
        return []
    due: list[Period] = []
    for kind in KINDS:
        period = Period.containing(kind, covered[0])
        while period.start <= today:
            if period.end >= covered[0]:
                folder = report_dir / period.folder
                info = read_info(folder) if (folder / "index.html").is_file() else None
                if info is None or not info.get("complete") or not period.complete(today):
                    due.append(period)
            period = _next(period)
    due.sort(key=lambda p: (p.start, KINDS.index(p.kind)))
    return due


def refresh_reports(engine: Engine, report_dir: str | Path, *, now: dt.datetime | None = None,
                    lang: str = "vi") -> list[Any]:
    """Bring the whole cycle up to date (see the module docstring); returns the summaries
    of the reports written, the main report last."""
    from fanpulse.reports.build import build_reports  # build imports this module

    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(LOCAL_TZ).date()
    base = Path(report_dir)
    written = []
    for period in due_periods(base, today, data_span(engine)):
        written.append(build_reports(engine, base / period.folder, period=period, lang=lang,
                                     now=now))
    written.append(build_reports(engine, base, lang=lang, now=now))
    return written
