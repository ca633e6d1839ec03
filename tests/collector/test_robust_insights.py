"""Insights windows Facebook accepts, refusals not retried, and no failure leaves a gap."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from fanpulse.collector.errors import InvalidRequest, TransientError, error_from_body
from fanpulse.collector.timeutil import MAX_WINDOW_SECONDS, day_windows, window_seconds
from fanpulse.config.units import read_units_file
from fanpulse.sandbox import SandboxServer, World
from fanpulse.storage.db import transaction
from fanpulse.storage.models import InsightsBacklog, Page, PageInsight
from fanpulse.storage.units import sync_units
from tests.collector.conftest import NOW, Harness, write_units_for

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine


def test_windows_never_exceed_90_days_across_dst() -> None:
    windows = day_windows(dt.date(2024, 11, 20), dt.date(2026, 11, 21))
    assert all(window_seconds(a, b) <= MAX_WINDOW_SECONDS for a, b in windows)
    assert windows[0][0] == dt.date(2024, 11, 20) and windows[-1][1] == dt.date(2026, 11, 21)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    # The autumn switch (3 Nov 2024, 2 Nov 2025) costs those windows a day; others are 90.
    lengths = {(b - a).days for a, b in windows[:-1]}
    assert lengths == {89, 90}


@pytest.mark.parametrize(("status", "transient", "cls"), [
    (400, False, InvalidRequest),  # "There cannot be more than 90 days ..."
    (500, True, TransientError),  # "Please reduce the amount of data ..."
    (500, False, TransientError),
    (400, True, TransientError),
])
def test_code_1_is_retried_only_when_transient(status: int, transient: bool,
                                               cls: type) -> None:
    body = {"error": {"message": "m", "code": 1, "is_transient": transient}}
    assert type(error_from_body(body, status)) is cls


def insights_days(engine: Engine, graph_id: str) -> set[dt.date]:
    with transaction(engine) as s:
        page = s.scalars(select(Page).where(Page.graph_id == graph_id)).one()
        ends = s.scalars(select(PageInsight.end_time).where(
            PageInsight.page_id == page.id, PageInsight.metric == "page_follows")).all()
    return {World.day_for_end_time(e) for e in ends}


def assert_backlog_only_where_insights_are_refused(lite: Harness) -> None:
    """Every failed window was fetched again, except those of a Page whose insights Facebook
    refuses (no Analyze task): kept, to be fetched once the task is given."""
    with transaction(lite.engine) as s:
        left = s.execute(select(Page.graph_id).join(
            InsightsBacklog, InsightsBacklog.page_id == Page.id)).scalars().all()
    assert set(left) <= {p for p in lite.world.pages if not lite.world.has_insights(p)}


def test_a_two_year_backfill_crosses_dst_without_a_refusal(engine: Engine,
                                                            tmp_path: Path) -> None:
    world = World.generate(n_pages=3, seed=3, start=NOW.date() - dt.timedelta(days=800),
                           now=NOW)
    with SandboxServer(world) as server:
        rows = read_units_file(write_units_for(world, tmp_path / "units.csv"))
        with transaction(engine) as s:
            sync_units(s, rows, NOW)
        harness = Harness(world, server, engine)
        result = harness.collect(since=(NOW - dt.timedelta(days=729)).date())
    assert result.status == "ok", result.failures
    assert harness.sleeps == []  # nothing was refused, so nothing was retried
    days = insights_days(engine, world.pages[0])
    assert len(days) >= 720
    span = (max(days) - min(days)).days + 1
    assert len(days) == span  # no window was lost at a DST switch


def test_a_refused_window_is_not_retried_and_is_fetched_again_later(
        lite: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from fanpulse.collector import plan

    real = plan.day_windows

    def too_long(start: dt.date, end: dt.date, _days: int = 90) -> list[tuple[dt.date, dt.date]]:
        windows, current = [], start
        while current < end:  # 93 days: Facebook refuses (code 1, HTTP 400)
            windows.append((current, min(current + dt.timedelta(days=93), end)))
            current = windows[-1][1]
        return windows

    monkeypatch.setattr(plan, "day_windows", too_long)
    since = (lite.world.now - dt.timedelta(days=200)).date()
    lite.collect(since=since)
    assert lite.sleeps == []  # a validation error is not "temporary"
    with transaction(lite.engine) as s:
        waiting = s.scalar(select(func.count()).select_from(InsightsBacklog))
    assert waiting and waiting > 0
    monkeypatch.setattr(plan, "day_windows", real)
    for _ in range(4):  # three backlog windows per Page per night
        lite.world.advance(days=1)
        lite.collect()
    assert_backlog_only_where_insights_are_refused(lite)
    full = [p for p in lite.world.pages if lite.world.has_insights(p)]
    for page in full:
        days = insights_days(lite.engine, page)
        first = min(days)
        assert first <= since + dt.timedelta(days=1)
        missing = [d for d in (first + dt.timedelta(days=i)
                               for i in range((max(days) - first).days)) if d not in days]
        assert missing == [], (page, missing[:5])


def test_failed_backfill_windows_leave_no_permanent_gap(
        lite: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of a backfill that fail (here: Facebook down for insights that night) are
    asked again on later nights until the follower history has no hole."""
    from fanpulse.collector.graph import GraphClient

    original = GraphClient.batch
    broken = {"on": True}

    def batch(self: GraphClient, items: list[Any]) -> list[Any]:
        answers = original(self, items)
        if not broken["on"]:
            return answers
        return [TransientError("Facebook is down", code=2, http_status=503)
                if item.path.endswith("/insights") and item.params["until"] < "2026-11-01"
                else answer for item, answer in zip(items, answers, strict=True)]

    monkeypatch.setattr(GraphClient, "batch", batch)
    from fanpulse.collector.night import Night

    real_retry = Night._retry_single
    monkeypatch.setattr(Night, "_retry_single", lambda self, item, answer: answer
                        if broken["on"] else real_retry(self, item, answer))
    since = (lite.world.now - dt.timedelta(days=200)).date()
    first = lite.collect(since=since, max_retries=0)
    assert first.status in ("partial", "ok")
    with transaction(lite.engine) as s:
        waiting = s.scalar(select(func.count()).select_from(InsightsBacklog))
    assert waiting
    broken["on"] = False
    for _ in range(3):
        lite.world.advance(days=1)
        lite.collect()
    assert_backlog_only_where_insights_are_refused(lite)
    province = lite.world.pages[0]
    days = insights_days(lite.engine, province)
    assert min(days) <= since + dt.timedelta(days=1)
    span = (max(days) - min(days)).days + 1
    assert len(days) == span  # no hole


def test_reduce_the_amount_of_data_halves_the_window(lite: Harness) -> None:
    lite.world.faults.reduce_data_rate = 1.0
    lite.world.faults.reduce_data_min_items = 250  # 90 days x 6 metrics is too much
    result = lite.collect(since=(lite.world.now - dt.timedelta(days=85)).date(),
                          max_retries=1)
    assert result.status == "ok", result.failures
    province = lite.world.pages[0]
    assert len(insights_days(lite.engine, province)) >= 80
