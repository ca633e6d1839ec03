"""Formats and figures: pure functions, no store."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import pytest

from fanpulse.reports import figures
from fanpulse.reports.i18n import Lang
from fanpulse.reports.metrics import Change, ChildRow, DaySeries, Headline, WeekRow
from fanpulse.reports.queries import UnitInfo
from fanpulse.reports.render import excerpt, facebook_url, redact, unit_filename

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


def all_figures(lang: Lang) -> list[go.Figure]:
    return [
        figures.followers_figure(series(), lang),
        figures.engagement_figure(weeks(), lang),
        figures.posts_figure(weeks(), lang),
        figures.reaction_mix_figure((5, 3, 1, 0, 0, 1, 0), lang),
        figures.children_growth_figure([child("Xã <b>A</b>", 0.05), child("Xã B", -0.01),
                                        child("Xã C", None)], lang),
    ]


@pytest.mark.parametrize("lang", [VI, EN], ids=["vi", "en"])
def test_every_figure_is_valid_plotly(lang: Lang) -> None:
    for fig in all_figures(lang):
        go.Figure(fig.to_dict())  # full validation: raises on any unknown property
        assert fig.layout.separators == lang.plotly_separators
        assert fig.layout.template.to_plotly_json() == {}  # no 7 KB default template


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
