"""Report figures, collected from the sandbox, against the sandbox's ground truth."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fanpulse.reports.metrics import Calculator
from fanpulse.reports.queries import load_store
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page

if TYPE_CHECKING:
    from tests.collector.conftest import Harness

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_headline_figures_equal_the_truth(harness: Harness) -> None:
    world = harness.world
    harness.collect(since=(world.now - dt.timedelta(days=14)).date())
    for _ in range(7):
        world.advance(days=1)
        assert harness.collect().status == "ok"
    last_night = world.now
    today = last_night.astimezone(VN).date()
    period_from = today - dt.timedelta(days=6)
    calc = Calculator(load_store(harness.engine, period_from, today,
                                 audience_from=today - dt.timedelta(days=40)))
    root = next(u for u in calc.data.units.values() if u.parent_id is None)
    pages = calc.subtree_pages(root.id)
    with transaction(harness.engine) as s:
        graph_ids = {p.id: p.graph_id for p in s.scalars(select(Page))}
    headline = calc.headline(pages)
    truth = [world.truth_page(graph_ids[p.id] or "", at=last_night) for p in pages]
    assert headline.as_of == today
    assert headline.followers == sum(t["followers_count"] for t in truth)
    assert headline.likes == sum(t["fan_count"] for t in truth)
    week_ago = last_night - dt.timedelta(days=7)
    before = sum(world.truth_page(graph_ids[p.id] or "", at=week_ago)["followers_count"]
                 for p in pages)
    seven = next(c for c in headline.changes if c.days == 7)
    assert seven.absolute == headline.followers - before
    # Posts of the period (local days) and their engagement at the last collection.
    start = dt.datetime.combine(period_from, dt.time(), VN)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), VN)
    posts = [p for page in pages for p in world.truth_posts(graph_ids[page.id] or "",
                                                            at=last_night)
             if start <= p["created_time"] < end and not p["deleted"]]
    assert headline.posts == len(posts)
    assert headline.engagement == sum(p["reactions_total"] + p["comments"] + p["shares"]
                                      for p in posts)
