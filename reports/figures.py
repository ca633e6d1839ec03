"""Report numbers → Plotly figures (pure: no SQL, no files; test them through ``fig.data``).

Figures stay lean: one value per day or week, an empty template (Plotly's default template
would add ~7 KB to every chart), no mode bar, and hover texts formatted with the report
language's separators. Days without data are ``None``: Plotly leaves a gap there.

Figures are written as plain dicts and returned as a :class:`Chart` holding them: the reports
serialise those dicts straight into the page (:func:`reports.render.chart_html`), with no
``plotly.graph_objects.Figure`` built at all (building the 1,921 figures of a 482-unit build
and their ``to_html`` took ~3.6 s; the dicts and their JSON take ~0.6 s). Plotly's property
validation lives in the tests: ``Chart.figure()`` builds the fully validated ``go.Figure``
(``.data`` and ``.layout`` go through it), so a misspelt property fails a test.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import ChildRow, DaySeries, WeekRow
from fanpulse.reports.queries import REACTION_KINDS

if TYPE_CHECKING:
    import plotly.graph_objects as go

COLORS = {
    "followers": "#1f5fa8",
    "gain": "#2e9e5b",
    "loss": "#c8463d",
    "reactions": "#1f5fa8",
    "comments": "#e0962b",
    "shares": "#2e9e5b",
    "posts": "#6b5ca5",
}
REACTION_COLORS = ("#1f5fa8", "#d9455f", "#e6a23c", "#f2c94c", "#9b6bd3", "#6b8fb3", "#c8463d")
CONFIG = {"displayModeBar": False, "responsive": True}
FONT = "system-ui, 'Segoe UI', Roboto, Arial, sans-serif"


@dataclass(frozen=True, eq=False)
class Chart:
    """One chart as Plotly's plain dicts: ``traces`` (the figure's ``data``) and
    ``layout_spec`` (its ``layout``), exactly what ``Plotly.newPlot`` receives.

    ``data`` and ``layout`` give Plotly's objects (``t.type``, ``marker.pattern.shape``...)
    through :meth:`figure`, built and validated on first use: for tests and debugging only,
    the reports never touch them."""

    traces: list[dict[str, Any]]
    layout_spec: dict[str, Any]

    @cached_property
    def _validated(self) -> go.Figure:
        import plotly.graph_objects as go  # noqa: PLC0415 (tests only: the build never needs it)

        # Full validation: an unknown property or a wrong value raises here.
        return go.Figure(data=self.traces, layout=self.layout_spec)

    def figure(self) -> go.Figure:
        """The validated Plotly figure (built once)."""
        return self._validated

    @property
    def data(self) -> tuple[Any, ...]:
        return tuple(self._validated.data)

    @property
    def layout(self) -> Any:
        return self._validated.layout

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.traces, "layout": self.layout_spec}


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> Chart:
    return Chart(data, layout)


def _layout(lang: Lang, title: str, height: int = 320, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": {},
        "title": {"text": html.escape(title), "font": {"size": 15}, "x": 0.01,
                  "xanchor": "left"},
        "separators": lang.plotly_separators,
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "height": height,
        "margin": {"l": 60, "r": 60, "t": 40, "b": 40},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hoverlabel": {"font": {"family": FONT}},
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
    }
    layout.update(extra)
    return layout


def _axis(**extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {"gridcolor": "#e6e6e6", "zerolinecolor": "#bbb",
                            "linecolor": "#999", "automargin": True}
    axis.update(extra)
    return axis


def _hover(label: str, value: str = "%{y:,}", prefix: str = "%{customdata}") -> str:
    return f"{prefix}<br>{html.escape(label)}: {value}<extra></extra>"


def followers_figure(series: DaySeries, lang: Lang,
                     events: list[tuple[dt.date, str]] | None = None) -> Chart:
    """Followers per day (line, gaps where nothing was collected) and the daily net change;
    ``events`` (day, text) are drawn as dashed vertical lines: the merges that formed the unit
    or units below it (its history before is its predecessors' Pages, as the tree is now)."""
    days = [d.isoformat() for d in series.days]
    date_hover = f"%{{x|{lang.plotly_date_hover}}}"
    bars = {
        "type": "bar", "x": days, "y": series.net_change, "name": lang.t("net_change"),
        "yaxis": "y2", "opacity": 0.55,
        "marker": {"color": [COLORS["loss"] if (v or 0) < 0 else COLORS["gain"]
                             for v in series.net_change]},
        "hovertemplate": _hover(lang.t("net_change"), "%{y:+,}", date_hover),
    }
    line = {
        "type": "scatter", "x": days, "y": series.followers, "name": lang.t("followers"),
        "mode": "lines", "connectgaps": False,
        "line": {"color": COLORS["followers"], "width": 2},
        "customdata": series.reporting,
        "hovertemplate": (f"{date_hover}<br>{html.escape(lang.t('followers'))}: %{{y:,}}"
                          f"<br>{html.escape(lang.t('page'))}: %{{customdata}}<extra></extra>"),
    }
    data = [bars, line]
    marks = _membership_marks(series, lang)
    if marks is not None:
        data.append(marks)
    # Two panels sharing the time axis: the audience above, the day's net change below.
    layout = _layout(
        lang, lang.t("chart_followers"), height=380, bargap=0.1,
        xaxis=_axis(type="date", tickformat=lang.plotly_date_tick, anchor="y2"),
        yaxis=_axis(domain=[0.34, 1], tickformat=",",
                    title={"text": html.escape(lang.t("followers"))}),
        yaxis2=_axis(domain=[0, 0.24], tickformat=",", nticks=4,
                     title={"text": html.escape(lang.t("net_change_short"))}),
    )
    shown = [(day, label) for day, label in (events or [])
             if series.days and series.days[0] <= day <= series.days[-1]]
    if shown:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": day.isoformat(),
                             "x1": day.isoformat(), "y0": 0, "y1": 1,
                             "line": {"color": "#888", "width": 1, "dash": "dash"}}
                            for day, _ in shown]
        layout["annotations"] = [{"x": day.isoformat(), "xref": "x", "yref": "paper", "y": 1,
                                  "text": html.escape(label), "showarrow": False,
                                  "xanchor": "left", "yanchor": "top",
                                  "font": {"size": 11, "color": "#555"}}
                                 for day, label in shown]
    return _figure(data, _no_data(layout, series.followers, lang))


def _membership_marks(series: DaySeries, lang: Lang) -> dict[str, Any] | None:
    """Markers on the level line where Pages joined or left the roll-up: the line steps
    there because the set of Pages changed, not because the audience grew (the change bars
    leave those Pages out)."""
    days: list[str] = []
    levels: list[int | None] = []
    texts: list[str] = []
    for k, day in enumerate(series.days):
        joined = series.joined[k] if k < len(series.joined) else 0
        left = series.left[k] if k < len(series.left) else 0
        if not joined and not left:
            continue
        parts = ([lang.t("pages_joined", n=joined)] if joined else []) + \
                ([lang.t("pages_left", n=left)] if left else [])
        days.append(day.isoformat())
        levels.append(series.followers[k])
        texts.append(html.escape(" · ".join(parts)))
    if not days:
        return None
    return {
        "type": "scatter", "x": days, "y": levels, "name": lang.t("pages_joined_left"),
        "mode": "markers", "marker": {"symbol": "diamond-open", "size": 10,
                                      "color": COLORS["posts"], "line": {"width": 2}},
        "customdata": texts,
        "hovertemplate": f"%{{x|{lang.plotly_date_hover}}}<br>%{{customdata}}<extra></extra>",
    }


def _week_labels(weeks: list[WeekRow], lang: Lang) -> list[str]:
    """The week's first day; a week of fewer than 7 days is marked "*" (partial)."""
    return [(lang.date(w.start)[:5] if lang.code == "vi" else w.start.isoformat()[5:])
            + ("*" if w.days < 7 else "") for w in weeks]


def _week_names(weeks: list[WeekRow], lang: Lang) -> list[str]:
    """Hover titles; a week cut short by the period says how many days it holds, and the
    week still under way says so."""
    return [f"{lang.t('week_of')} {lang.date(w.start)}"
            + (f" ({lang.t('ongoing') if w.ongoing else lang.t('partial_week')}: "
               f"{lang.t('days_silent', n=w.days)})" if w.days < 7 else "") for w in weeks]


def _partial_style(weeks: list[WeekRow], color: str) -> dict[str, Any]:
    """Bars of a week with fewer than 7 days are drawn pale and hatched: a 4-day week is not a
    fall."""
    return {
        "color": color,
        "opacity": 1,
        "pattern": {"shape": ["/" if w.days < 7 else "" for w in weeks], "fgcolor": "#fff",
                    "solidity": 0.35},
    }


def _no_data(layout: dict[str, Any], values: list[Any], lang: Lang) -> dict[str, Any]:
    """A chart without a single value says so instead of drawing an empty −1…4 axis."""
    if any(v is not None for v in values):
        return layout
    layout["yaxis"] = {**layout.get("yaxis", {}), "range": [0, 1], "showticklabels": False}
    layout["annotations"] = [{"text": html.escape(lang.t("no_data_period")), "showarrow": False,
                              "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                              "font": {"size": 14, "color": "#666"}}]
    return layout


def engagement_figure(weeks: list[WeekRow], lang: Lang) -> Chart:
    """Engagement per week, stacked by type (reactions, comments, shares)."""
    labels = _week_labels(weeks, lang)
    traces = [
        {
            "type": "bar", "x": labels, "y": [getattr(w, key) for w in weeks],
            "name": lang.t(key), "marker": _partial_style(weeks, COLORS[key]),
            "customdata": _week_names(weeks, lang), "hovertemplate": _hover(lang.t(key)),
        }
        for key in ("reactions", "comments", "shares")
    ]
    layout = _layout(lang, lang.t("chart_engagement"), barmode="stack",
                     legend={"orientation": "h", "y": -0.2, "x": 0, "traceorder": "normal"},
                     xaxis=_axis(type="category"), yaxis=_axis(tickformat=",", rangemode="tozero"))
    return _figure(traces, _no_data(layout, [w.reactions for w in weeks], lang))


def posts_figure(weeks: list[WeekRow], lang: Lang) -> Chart:
    """Posts published per week."""
    bar = {
        "type": "bar", "x": _week_labels(weeks, lang), "y": [w.posts for w in weeks],
        "name": lang.t("posts"), "marker": _partial_style(weeks, COLORS["posts"]),
        "customdata": _week_names(weeks, lang), "hovertemplate": _hover(lang.t("posts")),
    }
    layout = _layout(lang, lang.t("chart_posts"), showlegend=False,
                     xaxis=_axis(type="category"), yaxis=_axis(tickformat=",", rangemode="tozero"))
    return _figure([bar], _no_data(layout, [w.posts for w in weeks], lang))


def reaction_mix_figure(mix: tuple[int, ...], lang: Lang) -> Chart:
    """Share of each reaction type (horizontal bars: readable, and they print well)."""
    total = sum(mix)
    shares = [v / total * 100 if total else 0.0 for v in mix]
    bar = {
        "type": "bar", "orientation": "h", "x": shares,
        "y": [lang.t(f"reaction_{k}") for k in REACTION_KINDS],
        "marker": {"color": list(REACTION_COLORS)},
        "text": [lang.percent(s / 100) for s in shares], "textposition": "outside",
        "cliponaxis": False, "customdata": list(mix),
        "hovertemplate": "%{y}: %{customdata:,} (%{x:.1f}%)<extra></extra>",
    }
    layout = _layout(lang, lang.t("reaction_mix"), height=300, showlegend=False,
                     margin={"l": 90, "r": 50, "t": 40, "b": 30},
                     xaxis=_axis(ticksuffix="%", rangemode="tozero"),
                     yaxis=_axis(autorange="reversed"))
    return _figure([bar], layout)


def children_growth_figure(rows: list[ChildRow], lang: Lang) -> Chart:
    """Units below, ranked by follower growth over 30 days (%)."""
    ranked = sorted(
        (r for r in rows if r.headline.change(30).fraction is not None),
        key=lambda r: r.headline.change(30).fraction or 0.0,
    )
    values = [(r.headline.change(30).fraction or 0.0) * 100 for r in ranked]
    bar = {
        "type": "bar", "orientation": "h", "x": values,
        # Unit names go into SVG labels, where Plotly reads a few HTML tags: escape them.
        "y": [html.escape(r.unit.name) for r in ranked],
        "marker": {"color": [COLORS["loss"] if v < 0 else COLORS["gain"] for v in values]},
        "customdata": [r.headline.change(30).absolute for r in ranked],
        "hovertemplate": "%{y}: %{x:+.1f}% (%{customdata:+,})<extra></extra>",
    }
    layout = _layout(lang, lang.t("chart_children_growth"), height=max(260, 70 + 18 * len(ranked)),
                     showlegend=False, margin={"l": 60, "r": 30, "t": 40, "b": 30},
                     xaxis=_axis(ticksuffix="%"), yaxis=_axis(type="category"))
    return _figure([bar], layout)


LEVEL_COLORS = {"province": "#1f5fa8", "district": "#6b5ca5", "commune": "#2e9e5b",
                "residential_area": "#e0962b"}


def campaign_timeline_figure(timeline: dict[str, list[tuple[float, int]]], lang: Lang) -> Chart:
    """A seed's carries over time: units that carried it (cumulative) against the hours since
    the seed, one step line per level (reports/campaigns.py ``SeedMeasures.timeline``)."""
    traces = [
        {
            "type": "scatter", "mode": "lines", "line": {"shape": "hv", "width": 2,
                                                          "color": LEVEL_COLORS.get(level, "#555")},
            "x": [round(hours, 2) for hours, _ in points], "y": [n for _, n in points],
            "name": html.escape(lang.level(level)),
            "hovertemplate": (f"{html.escape(lang.level(level))}<br>"
                              f"{html.escape(lang.t('camp_hours_since'))}: %{{x:,.1f}}<br>"
                              f"{html.escape(lang.t('camp_units_cum'))}: %{{y:,}}<extra></extra>"),
        }
        for level, points in timeline.items()
    ]
    layout = _layout(lang, lang.t("camp_timeline"), height=300,
                     xaxis=_axis(title={"text": html.escape(lang.t("camp_hours_since"))},
                                 rangemode="tozero", tickformat=","),
                     yaxis=_axis(title={"text": html.escape(lang.t("camp_units_cum"))},
                                 rangemode="tozero", tickformat=",d"))
    return _figure(traces, _no_data(layout, [n for pts in timeline.values() for _, n in pts],
                                    lang))
