"""Build the report folder: ``index.html``, one page per unit, ``plotly.min.js`` beside them.

Each page has its tables also as an Excel workbook beside it (``u-412.xlsx``, ``index.xlsx``;
:mod:`reports.export`), written from the same metrics the page is rendered from.

:func:`build_reports` is what ``fanpulse report`` and the scheduled job call. It reads the
store once (:mod:`reports.queries`), computes every unit's numbers (:mod:`reports.metrics`),
draws the charts (:mod:`reports.figures`) and renders the templates (:mod:`reports.render`).
Every link in the folder is relative, so it opens offline from ``file://`` and keeps working
when copied to a shared drive or a USB stick.

The folder is written whole into a staging folder beside the target and swapped in at the end
(:mod:`reports.publish`): a build killed at any moment leaves the previous complete folder or
the new complete one, never a mix. :func:`default_folder` keeps a one-unit or English report
out of the full report's folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.offline
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.engine import Engine

from fanpulse.reports import export, figures, ranking
from fanpulse.reports.campaigns import (
    CampaignMeasures,
    UnitCampaign,
    load_campaigns,
    measure,
    unit_campaigns,
)
from fanpulse.reports.compare import Comparer, summary_paragraph
from fanpulse.reports.cycle import (
    HOME_FROM_PERIOD,
    comparer_from,
    comparison_stores,
    period_links,
    write_period_info,
)
from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import (
    CARRY_DAYS,
    CHANGE_WINDOWS,
    Calculator,
    UnitMetrics,
)
from fanpulse.reports.overview import index_context, merge_events
from fanpulse.reports.periods import PERIODS_DIR, Period
from fanpulse.reports.publish import FolderRefused, check_replaceable, replace_folder
from fanpulse.reports.queries import LOCAL_TZ, PageInfo, UnitInfo, data_span, load_store
from fanpulse.reports.ranking import RANKING_FILE
from fanpulse.reports.render import (
    PLOTLY_FILE,
    chart_html,
    environment,
    generated_text,
    unit_filename,
)
from fanpulse.reports.views import ViewFigures, ViewsData, load_views, view_figures

DEFAULT_DAYS = 90
_FOLDER_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


class ReportError(ValueError):
    """The reports cannot be built as asked (unknown unit, empty store, bad period)."""


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`build_reports` wrote."""

    index_path: Path
    pages_written: int  # unit reports plus the index
    date_from: dt.date
    date_to: dt.date
    seconds: float


def default_folder(report_dir: str | Path, unit_code: str | None = None,
                   lang: str = "vi") -> Path:
    """Where a report goes when no folder is given: the full Vietnamese report in
    ``report_dir``; a one-unit or English one beside it (``<report_dir>-unit-412``,
    ``<report_dir>-en``, ``<report_dir>-unit-412-en``), so it never replaces the full one."""
    base = Path(report_dir)
    suffix = ""
    if unit_code is not None:
        suffix += "-unit-" + (_FOLDER_SAFE.sub("-", unit_code).strip("-") or "x")
    if lang != "vi":
        suffix += f"-{lang}"
    return base.with_name(base.name + suffix) if suffix else base


def build_reports(engine: Engine, out_dir: str | Path, *, unit_code: str | None = None,
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  period: Period | None = None, as_was: dt.date | None = None,
                  lang: str = "vi",
                  now: dt.datetime | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ReportSummary:
    """Write the reports for every unit (or ``unit_code`` and the units below it).

    ``progress`` is told (pages written, pages in all) as the pages are written.

    The period is a calendar ``period`` (a month, quarter or year: reported up to today while
    under way, with comparisons to the period before and the same period a year earlier and
    a summary paragraph per unit), or ``date_from``–``date_to``. By default it ends today
    (Asia/Ho_Chi_Minh; ``now`` gives "today" and the "generated" stamp and must be
    timezone-aware) and covers at most the last 90 days, starting no earlier than the
    store's data. ``as_was`` shows the unit tree as it was on that day (before a merge: the
    old units with their Pages); by default the tree is today's, a merged unit's history being
    its predecessors' Pages. ``out_dir`` is replaced whole, and only when it is new, empty or a
    report folder (:mod:`reports.publish`).
    """
    began = time.perf_counter()
    language = Lang(lang)
    out = Path(out_dir)
    try:
        check_replaceable(out)  # a wrong --out fails before the store is read
    except FolderRefused as exc:
        raise ReportError(str(exc)) from None
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ReportError("now must be a timezone-aware datetime")
    today = now.astimezone(LOCAL_TZ).date()
    comparer: Comparer | None = None
    if period is not None:
        if date_from is not None or date_to is not None:
            raise ReportError("give a calendar period or a first and last day, not both")
        if period.start > today:
            raise ReportError(f"{period.label('en')} has not begun yet (today is "
                              f"{today:%d/%m/%Y})")
        date_from, date_to = period.start, period.to_date(today)
    else:
        date_to = date_to or today
        if date_from is None:  # the last 90 days, or fewer when the data starts later
            date_from = date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
            span = data_span(engine)
            if span is not None and date_from < span[0] <= date_to:
                date_from = span[0]
    if date_from > date_to:
        raise ReportError(f"the period starts ({date_from}) after it ends ({date_to})")
    # Changes over 90 days need the audience 90 days before the end, plus the carry window.
    audience_from = min(date_from, date_to - dt.timedelta(days=max(CHANGE_WINDOWS)))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # A calendar period's two comparison spans are read on a second connection while the
        # period itself is read: the database works on both at once (SQLite and psycopg leave
        # Python's lock while they work). One after the other on a store in memory, where a
        # second connection would be another, empty database.
        compared = None
        if period is not None:
            compared = (pool.submit(comparison_stores, engine, period, today, as_was=as_was)
                        if _concurrent_reads(engine)
                        else comparison_stores(engine, period, today, as_was=as_was))
        data = load_store(engine, date_from, date_to,
                          audience_from=audience_from - dt.timedelta(days=CARRY_DAYS),
                          as_was=as_was)
        views = load_views(engine, date_from, date_to)
        campaign_data = load_campaigns(engine, date_from, date_to)
        stores = compared.result() if isinstance(compared, Future) else compared
    if not data.units:
        raise ReportError("the store has no units yet: run `fanpulse units import FILE` first")
    calc = Calculator(data, ongoing=date_to == today)
    if period is not None and stores is not None:
        comparer = comparer_from(calc, period, today, stores)

    roots = [u for u in data.units.values() if u.parent_id is None]
    if unit_code is not None:
        roots = [u for u in data.units.values() if u.code == unit_code]
        if not roots:
            raise ReportError(f"no unit with code {unit_code!r}")
    scope_ids = {uid for root in roots for uid in data.descendants.get(root.id, [root.id])}
    # A retired unit whose Pages all went to other units (a merge) has nothing left to show:
    # its history is its successor's. Left out, unless asked for by its code.
    with_pages = {page.unit_id for page in data.pages.values()}
    emptied = {uid for uid, unit in data.units.items() if not unit.active
               and not with_pages & set(data.descendants.get(uid, [uid]))
               and unit not in roots}
    scope = [u for u in data.units.values()
             if u.id in scope_ids and u.id not in emptied]  # parents before children

    campaigns = [m for m in measure(campaign_data)
                 if unit_code is None or any(s.seed.unit_id in scope_ids
                                             or any(r.unit_id in scope_ids for r in s.rows)
                                             for s in m.seeds)]
    taken: set[str] = {"index.html", RANKING_FILE, *(m.file.lower() for m in campaigns)}
    files = {unit.id: unit_filename(unit, taken) for unit in scope}
    view = _View(calc, comparer, views, period, roots, scope, files, language, now,
                 date_from=date_from, date_to=date_to, today=today,
                 periods=period_links(out, period), data_from=data.first_day,
                 # In <report_dir>/periods/: the main report is beside, or is built next.
                 home_link=HOME_FROM_PERIOD if period is not None
                 and out.parent.name == PERIODS_DIR else None,
                 plotly_beside=_plotly_beside(out.absolute()),
                 campaigns=campaigns, unit_campaigns=unit_campaigns(campaigns))
    try:
        with replace_folder(out) as staging:
            _write_folder(staging, view, progress)
    except FolderRefused as exc:
        raise ReportError(str(exc)) from None
    return ReportSummary(out / "index.html", len(scope) + 2 + len(campaigns), date_from, date_to,
                         round(time.perf_counter() - began, 2))


def _concurrent_reads(engine: Engine) -> bool:
    """Can two connections of ``engine`` read the same store at once? Not an in-memory SQLite
    database: each connection would be a database of its own."""
    return not (engine.dialect.name == "sqlite"
                and (engine.url.database or ":memory:") == ":memory:")


@dataclass
class _View:
    """What every page of one build shares."""

    calc: Calculator
    comparer: Comparer | None
    views: ViewsData
    period: Period | None
    roots: list[UnitInfo]
    scope: list[UnitInfo]
    files: dict[int, str]
    lang: Lang
    now: dt.datetime
    date_from: dt.date
    date_to: dt.date
    today: dt.date
    periods: dict[str, Any]  # cycle.period_links: the month, quarter and year reports
    data_from: dt.date | None  # the first day with data in the period
    home_link: str | None  # from a period folder to the main report, when there is one
    plotly_beside: list[Path]  # identical plotly.min.js copies to link to (_plotly_beside)
    campaigns: list[CampaignMeasures]  # the campaigns of the period (reports/campaigns.py)
    unit_campaigns: dict[int, list[UnitCampaign]]  # unit id -> the seeds it was to carry

    def view_figures(self, pages: list[PageInfo]) -> ViewFigures:
        """Views where insights exist (reports/views.py): absent, never 0, elsewhere."""
        return view_figures(self.views, pages, self.calc.post_ids(pages), self.date_from,
                            self.date_to)

    def rollup_extras(self, unit: UnitInfo) -> dict[str, Any]:
        """A unit's roll-up beyond its metrics: views, and for a calendar period the
        comparison and the summary paragraph (None otherwise)."""
        pages = self.calc.subtree_pages(unit.id)
        comparison = summary = None
        if self.comparer is not None:
            comparison = self.comparer.compare(pages)
            summary = summary_paragraph(self.lang, unit.name, comparison, len(pages))
        return {"views": self.view_figures(pages), "cmp": comparison, "summary": summary}

    def common(self) -> dict[str, Any]:
        period = self.period
        return {
            "date_from": self.date_from, "date_to": self.date_to,
            "generated": generated_text(self.lang, self.now), "files": self.files,
            "plotly_file": PLOTLY_FILE, "latest_run": self.calc.data.latest_run,
            "period": period, "period_label": period.label(self.lang.code) if period else None,
            "ongoing": self.date_to == self.today and (period is None
                                                      or self.date_to < period.end),
            "ranking_file": RANKING_FILE,
            "home_link": self.home_link,
            "periods": self.periods,
            "as_was": self.calc.data.as_was,
            "data_from": self.data_from if self.data_from and self.data_from > self.date_from
            else None,
        }


def _write_folder(out: Path, view: _View,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Every file of the report folder, into ``out`` (the staging folder)."""
    _write_plotly(out / PLOTLY_FILE, view.plotly_beside)
    calc, language, files, now = view.calc, view.lang, view.files, view.now
    data = calc.data
    env = environment(language)
    common = view.common()
    unit_template = env.get_template("unit.html")
    total = len(view.scope) + 2 + len(view.campaigns)
    for number, unit in enumerate(view.scope, 1):
        metrics = calc.unit(unit.id)
        xlsx = export.xlsx_filename(files[unit.id])
        extra = view.rollup_extras(unit)
        text = unit_template.render(
            m=metrics, ancestors=_ancestors(unit, data.units),
            charts=_charts(metrics, language, merge_events(calc, unit.id, language)),
            uses_charts=True, last_collected=metrics.last_collected, xlsx_file=xlsx,
            **extra, **common,
            own_views=view.view_figures(metrics.own_pages) if metrics.own else None,
            unit_campaigns=view.unit_campaigns.get(unit.id, []),
        )
        (out / files[unit.id]).write_text(text, encoding="utf-8")
        export.unit_workbook(metrics, language, out / xlsx, now,  # the page's own figures
                             comparison=extra["cmp"], summary=extra["summary"])
        if progress is not None and number % 20 == 0:
            progress(number, total)

    index = out / "index.html"
    context = index_context(calc, view.roots, view.scope, language)
    for block in context["roots"]:
        block.update(view.rollup_extras(block["unit"]))
    context["campaigns"] = view.campaigns
    context["campaigns_active"] = {m.campaign.key for m in view.campaigns
                                   if m.campaign.active(view.today)}
    index.write_text(_index_html(env, context, common), encoding="utf-8")
    export.index_workbook(context["roots"], context["boards"], context["tree"], language,
                          out / "index.xlsx", now)
    ranking.write(out, env, calc, view.scope, language, common, now)
    _write_campaigns(out, view, env, common)
    if view.period is not None:
        write_period_info(out, view.period, view.date_to, view.today, now)
    if progress is not None:
        progress(total, total)


def _write_campaigns(out: Path, view: _View, env: Environment, common: dict[str, Any]) -> None:
    """One page per campaign of the period (``c-<key>.html``) and its workbook beside it."""
    template = env.get_template("campaign.html")
    for m in view.campaigns:
        charts = {number: chart_html(figures.campaign_timeline_figure(s.timeline, view.lang),
                                     f"c-timeline-{number}")
                  for number, s in enumerate(m.seeds, 1)}
        xlsx = export.xlsx_filename(m.file)
        (out / m.file).write_text(template.render(
            cm=m, charts=charts, active=m.campaign.active(view.today), xlsx_file=xlsx,
            uses_charts=bool(charts), **common), encoding="utf-8")
        export.campaign_workbook(m, view.lang, out / xlsx, view.now)


@functools.cache
def _plotly_bytes() -> bytes:
    return str(plotly.offline.get_plotlyjs()).encode("utf-8")


def _write_plotly(path: Path, beside: list[Path]) -> None:
    """Plotly's JavaScript, once for the whole folder (about 4.6 MB): a hard link to an
    identical copy already written beside (the folder being replaced, the main report, another
    period), so a year of monthly reports does not hold a dozen copies; written otherwise."""
    content = _plotly_bytes()
    for candidate in beside:
        try:
            if candidate.stat().st_size == len(content) and candidate.read_bytes() == content:
                os.link(candidate, path)
                return
        except OSError:
            continue  # missing, or links refused (some network shares): try the next
    path.write_bytes(content)


def _plotly_beside(out: Path) -> list[Path]:
    """Where an identical plotly.min.js may already be: the folder being replaced, the main
    report of a period folder, the other period folders."""
    found = [out / PLOTLY_FILE]
    if out.parent.name == PERIODS_DIR:
        found.append(out.parent.parent / PLOTLY_FILE)
        found += sorted(out.parent.glob(f"[!.]*/{PLOTLY_FILE}"))[:3]
    else:
        found += sorted(out.glob(f"{PERIODS_DIR}/[!.]*/{PLOTLY_FILE}"))[:3]
    return found


def _ancestors(unit: UnitInfo, units: dict[int, UnitInfo]) -> list[UnitInfo]:
    chain: list[UnitInfo] = []
    parent_id = unit.parent_id
    while parent_id is not None and parent_id in units and len(chain) < 50:
        chain.append(units[parent_id])
        parent_id = units[parent_id].parent_id
    return chain[::-1]


def _charts(m: UnitMetrics, lang: Lang,
            events: list[tuple[dt.date, str]] | None = None) -> dict[str, Markup]:
    charts = {
        "followers": chart_html(figures.followers_figure(m.series, lang, events),
                                "c-followers"),
        "engagement": chart_html(figures.engagement_figure(m.weeks, lang), "c-engagement"),
        "posts": chart_html(figures.posts_figure(m.weeks, lang), "c-posts"),
    }
    if m.top_posts:
        charts["reactions"] = chart_html(figures.reaction_mix_figure(m.reaction_mix, lang),
                                         "c-reactions")
    if any(r.headline.change(30).fraction is not None for r in m.child_rows):
        charts["children"] = chart_html(figures.children_growth_figure(m.child_rows, lang),
                                        "c-children")
    return charts


def _index_html(env: Environment, context: dict[str, Any], common: dict[str, Any]) -> str:
    return env.get_template("index.html").render(**context, xlsx_file="index.xlsx", **common)
