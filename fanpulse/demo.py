"""The demo: the Graph API sandbox with the Nghệ An Pages, collected by the real collector.

It starts the sandbox on loopback, imports the units, backfills a month of posts and insights,
then replays simulated nights through ``collect_once`` exactly as the nightly job runs it:
only the Graph base URL and the token differ from production.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from collector.run import RunResult, collect_once
from config.settings import Settings
from config.units import read_units_file
from sandbox import SandboxServer, World
from sandbox.tokens import DEFAULT_TOKEN
from storage.db import transaction
from storage.models import PageInsight, PageSnapshot, Post, PostSnapshot
from storage.units import sync_units

log = logging.getLogger(__name__)



@dataclass
class DemoSummary:
    units: int
    runs: list[RunResult] = field(default_factory=list)
    page_snapshots: int = 0
    posts: int = 0
    post_snapshots: int = 0
    page_insights: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None


def demo_clock_start(nights: int, today: dt.date | None = None) -> dt.datetime:
    """The backfill night: 02:00 in Vietnam (19:00 UTC the day before), so that the last of
    the ``nights`` that follow is the one that has just passed (never in the future)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today - dt.timedelta(days=nights + 1), dt.time(19, 0), dt.UTC)


def run_demo(settings: Settings, engine: Engine, units_path: str | Path, *, nights: int = 7,
             backfill_days: int = 30, latency_ms: float = 0.0, seed: int = 1,
             today: dt.date | None = None) -> DemoSummary:
    """Backfill ``backfill_days`` then collect ``nights`` nights from the sandbox."""
    rows = read_units_file(units_path)
    first_night = demo_clock_start(nights, today)
    world = World.from_units_csv(units_path, seed=seed,
                                 start=first_night.date() - dt.timedelta(days=400),
                                 now=first_night)
    world.faults.latency_ms = latency_ms
    with transaction(engine) as session:
        sync_units(session, rows, first_night)
    summary = DemoSummary(units=len(rows))
    with SandboxServer(world) as server:
        demo_settings = settings.replace(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                         app_secret="")
        since = first_night.date() - dt.timedelta(days=backfill_days)
        log.info("demo: backfilling from %s", since)
        summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                         since=since, trigger="demo"))
        for night in range(nights):
            world.advance(days=1)
            log.info("demo: night %d of %d (%s)", night + 1, nights, world.now.date())
            summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                             trigger="demo"))
    with transaction(engine) as session:
        summary.page_snapshots = session.scalar(select(func.count()).select_from(PageSnapshot)) or 0
        summary.posts = session.scalar(select(func.count()).select_from(Post)) or 0
        summary.post_snapshots = session.scalar(select(func.count()).select_from(PostSnapshot)) or 0
        summary.page_insights = session.scalar(select(func.count()).select_from(PageInsight)) or 0
        summary.first_day = session.scalar(select(func.min(PageSnapshot.day)))
        summary.last_day = session.scalar(select(func.max(PageSnapshot.day)))
    return summary
