"""Formats and figures: pure functions, no store."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from fanpulse.reports import figures
from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import Change, ChildRow, DaySeries, Headline, WeekRow
from fanpulse.reports.queries import UnitInfo
from fanpulse.reports.render import chart_html, excerpt, facebook_url, redact, unit_filename

VI, EN = Lang("vi"), Lang("en")


@pytest.mark.parametrize(("lang", "value", "expected"), [
    (VI, 163180, "163.180"), (EN, 163180, "163,180"), (VI, 0, "0"), (VI, None, "–"),
    (VI, 1234567.4, "1.234.567"),
])
def test_integers(lang: Lang, value: int | None, expected: str) -> None:
    assert lang.integer(value) == expected


@pytest.mark.parametrize(("lang", "fraction", "signed", "expected"), [
    (VI, 0.015, False, "1,5%"), (EN, 0.015, False, "1.5%"), (VI, -0.0234, True, "−2,3%"),
    (VI, 0.1, True, "+10,0%"), (VI, 0.0, True, "0,0%"), (VI, 12.345, False, "1.234,5%"),
    (VI, None, False, "–"),
])
def test_percentages(lang: Lang, fraction: float | None, signed: bool, expected: str) -> None:
    assert lang.percent(fraction, signed=signed) == expected


def test_dates_signs_and_plotly_separators() -> None:
    day = dt.date(2026, 11, 25)
    assert VI.date(day) == "25/11/2026"
    assert EN.date(day) == "2026-11-25"
    assert VI.signed(1234) == "+1.234" and VI.signed(-56) == "−56" and VI.signed(0) == "0"
    assert VI.datetime(dt.datetime(2026, 11, 24, 19, 5, tzinfo=dt.UTC),
                       dt.timezone(dt.timedelta(hours=7))) == "25/11/2026 02:05"
    assert VI.plotly_separators == ",." and EN.plotly_separators == ".,"
    assert VI.t("followers") == "Người theo dõi" and EN.t("followers") == "Followers"
    with pytest.raises(ValueError, match="unknown language"):
        Lang("fr")


def series() -> DaySeries:
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(5)]
    return DaySeries(days, [100, 103, None, 101, 110], [90, 92, None, 91, 99],
                     [None, 3, None, -2, 9], [1, 1, 0, 1, 1])


def weeks() -> list[WeekRow]:
    return [WeekRow(dt.date(2026, 11, 1), 1, 2, 10, 2, 1),
            WeekRow(dt.date(2026, 11, 2), 7, None, None, None, None),
            WeekRow(dt.date(2026, 11, 9), 7, 0, 0, 0, 0)]


def child(name: str, fraction: float | None) -> ChildRow:
    unit = UnitInfo(len(name), name, name, "commune", 1, 1, True)
    changes = tuple(Change(d, 5 if fraction is not None else None, fraction) for d in (7, 30, 90))
    headline = Headline(dt.date(2026, 11, 5), 100, 90, 1, 1, changes, 3, 10, 2, 1, 13)
    return ChildRow(unit, True, headline, None, None, 0)


def all_figures(lang: Lang) -> list[figures.Chart]:
    """Every figure kind, with every optional part: merge lines, join/leave marks, the
    "no data" layout, partial weeks, escaped names, an empty ranking."""
    marked = series()
    marked.joined.extend([0, 1, 0, 0, 0])
    marked.left.extend([0, 0, 0, 2, 0])
    empty = DaySeries(marked.days, [None] * 5, [None] * 5, [None] * 5, [0] * 5)
    return [
        figures.followers_figure(series(), lang),
        figures.followers_figure(marked, lang, [(dt.date(2026, 11, 3), "Sáp nhập <b>X</b>"),
                                                (dt.date(2027, 1, 1), "outside")]),
        figures.followers_figure(empty, lang),
        figures.engagement_figure(weeks(), lang),
        figures.engagement_figure([], lang),
        figures.posts_figure(weeks(), lang),
        figures.reaction_mix_figure((5, 3, 1, 0, 0, 1, 0), lang),
        figures.reaction_mix_figure((0,) * 7, lang),
        figures.children_growth_figure([child("Xã <b>A</b>", 0.05), child("Xã B", -0.01),
                                        child("Xã C", None)], lang),
        figures.children_growth_figure([], lang),
    ]


def validated(chart: figures.Chart) -> go.Figure:
    """Plotly's full validation of the chart's dicts: raises on any unknown property or value."""
    return go.Figure(data=chart.traces, layout=chart.layout_spec)


def plot_arguments(snippet: str) -> tuple[str, list[Any], dict[str, Any], dict[str, Any]]:
    """(div id, data, layout, config) of the ``Plotly.newPlot`` call in a chart snippet."""
    found = re.search(r'Plotly\.newPlot\(\s*"([^"]+)",\s*(.*)\s*\)\s*};?\s*</script>',
                      snippet, re.DOTALL)
    assert found is not None, snippet[:300]
    data, layout, config = json.loads(f"[{found.group(2)}]")
    return found.group(1), data, layout, config


@pytest.mark.parametrize("lang", [VI, EN], ids=["vi", "en"])
def test_every_figure_is_valid_plotly(lang: Lang) -> None:
    for fig in all_figures(lang):
        full = validated(fig)
        assert full.layout.separators == lang.plotly_separators
        assert fig.layout_spec["template"] == {}  # no 7 KB default template in the page
        assert fig.figure().to_plotly_json() == full.to_plotly_json()  # what .data reads


def test_a_wrong_property_fails_validation() -> None:
    good = figures.posts_figure(weeks(), VI)
    bad_trace = figures.Chart([{**good.traces[0], "colour": "red"}], good.layout_spec)
    bad_layout = figures.Chart(good.traces, {**good.layout_spec, "heigth": 300})
    bad_value = figures.Chart([{**good.traces[0], "mode": "sideways"}], good.layout_spec)
    for chart in (bad_trace, bad_layout, bad_value):
        with pytest.raises(ValueError, match="Invalid"):
            validated(chart)
        with pytest.raises(ValueError, match="Invalid"):
            _ = chart.data


@pytest.mark.parametrize("lang", [VI, EN], ids=["vi", "en"])
def test_chart_html_draws_what_plotly_to_html_draws(lang: Lang) -> None:
    """The snippet written from the dicts carries the same div, size, data, layout and config
    as Plotly's own ``to_html`` of the same figure (as the reports wrote it before)."""
    for k, fig in enumerate(all_figures(lang)):
        div_id = f"c-{k}"
        ours = str(chart_html(fig, div_id))
        theirs = pio.to_html(go.Figure(fig.to_dict(), _validate=False), full_html=False,
                             include_plotlyjs=False, div_id=div_id, config=figures.CONFIG,
                             default_width="100%", default_height="320px", validate=False)
        assert plot_arguments(ours) == plot_arguments(theirs)
        height = re.escape(f"height:{fig.layout_spec['height']}px; width:100%;")
        for snippet in (ours, theirs):
            assert re.match(rf'<div style="{height}">\s*<div id="{div_id}" '
                            'class="plotly-graph-div" style="height:100%; width:100%;"></div>',
                            snippet), snippet[:200]
        assert ours.count("<") == 6 and ours.count(">") == 6  # divs and script: no other tag
        assert len(ours) < len(theirs)


def test_chart_text_cannot_leave_its_script() -> None:
    """A unit name or label is data inside <script>: "</script>", "<!--" and the JavaScript
    line separators are written as escapes and read back unchanged."""
    nasty = "Xã </script><script>alert(1)</script> <!-- \u2028\u2029 / & ' \" \\ Đông"
    unit = child(nasty, 0.05)
    fig = figures.children_growth_figure([unit], VI)
    fig.traces[0]["customdata"] = [nasty]  # the raw text too, not only the escaped label
    snippet = str(chart_html(fig, "c-children"))
    assert snippet.count("</script>") == 1 and snippet.endswith("</script></div>")
    assert "<!--" not in snippet and "<script>alert" not in snippet
    assert "\u2028" not in snippet and "\u2029" not in snippet
    assert "Đông" in snippet  # UTF-8, not \uXXXX
    _, data, layout, config = plot_arguments(snippet)
    assert data[0]["customdata"] == [nasty] and data[0]["y"] == fig.traces[0]["y"]
    assert layout == fig.layout_spec and config == figures.CONFIG
    with pytest.raises(ValueError, match="div id"):
        chart_html(fig, 'x" onload="alert(1)')


def test_chart_html_writes_non_finite_numbers_as_gaps() -> None:
    fig = figures.reaction_mix_figure((1, 1, 0, 0, 0, 0, 0), VI)
    fig.traces[0]["x"] = [float("nan"), float("inf"), 1.5, None, 0, 0, 0]
    fig.traces[0]["customdata"] = [dt.date(2026, 11, 1)] * 7
    _, data, _, _ = plot_arguments(str(chart_html(fig, "c-reactions")))
    assert data[0]["x"] == [None, None, 1.5, None, 0, 0, 0]
    assert data[0]["customdata"] == ["2026-11-01"] * 7
    fig.traces[0]["customdata"] = [object()]
    with pytest.raises(TypeError, match="not JSON serialisable"):
        chart_html(fig, "c-reactions")


def test_followers_figure_keeps_gaps() -> None:
    fig = figures.followers_figure(series(), VI)
    bars, line = fig.data
    assert list(line.y) == [100, 103, None, 101, 110]
    assert list(bars.y) == [None, 3, None, -2, 9]
    assert line.connectgaps is False
    assert "%{y:,}" in line.hovertemplate and "%d/%m/%Y" in line.hovertemplate


def test_weeks_without_data_are_gaps_and_empty_weeks_are_zero() -> None:
    posts = figures.posts_figure(weeks(), VI).data[0]
    assert list(posts.y) == [2, None, 0]
    # A week cut short is labelled partial ("*" on the axis, hatched bar, hover says so).
    assert posts.customdata[0] == "Tuần từ 01/11/2026 (tuần chưa đủ ngày: 1 ngày)"
    assert posts.x[0].endswith("*") and not posts.x[1].endswith("*")
    assert posts.marker.pattern.shape[0] == "/" and posts.marker.pattern.shape[1] == ""
    stacked = figures.engagement_figure(weeks(), VI).data
    assert [t.name for t in stacked] == ["Cảm xúc", "Bình luận", "Chia sẻ"]
    assert list(stacked[0].y) == [10, None, 0]


def test_children_are_ranked_and_names_escaped() -> None:
    bar = figures.children_growth_figure(
        [child("Xã <b>A</b>", 0.05), child("Xã B", -0.01), child("Xã C", None)], VI).data[0]
    assert list(bar.y) == ["Xã B", "Xã &lt;b&gt;A&lt;/b&gt;"]  # no data: left out
    assert list(bar.x) == pytest.approx([-1.0, 5.0])


def test_reaction_mix_shares() -> None:
    bar = figures.reaction_mix_figure((6, 2, 2, 0, 0, 0, 0), VI).data[0]
    assert list(bar.x)[:3] == pytest.approx([60.0, 20.0, 20.0])
    assert bar.text[0] == "60,0%"
    assert figures.reaction_mix_figure((0,) * 7, VI).data[0].x[0] == 0.0


def test_render_helpers() -> None:
    assert excerpt("  a\n b  ") == "a b"
    long = "từ " * 200
    assert excerpt(long).endswith(" …") and len(excerpt(long)) <= 185
    assert facebook_url("https://www.facebook.com/1/posts/2") == "https://www.facebook.com/1/posts/2"
    assert facebook_url("javascript:alert(1)") is None
    assert facebook_url("https://evil.example/facebook.com") is None
    assert "secret" not in redact("x?access_token=secret&y=1")
    taken: set[str] = set()
    unit = UnitInfo(7, "a/b c", "A", "commune", None, 0, True)
    assert unit_filename(unit, taken) == "u-a-b-c.html"
    assert unit_filename(UnitInfo(8, "a b/c", "B", "commune", None, 0, True), taken) == \
        "u-a-b-c-8.html"
