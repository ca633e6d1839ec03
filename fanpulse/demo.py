"""The demo: the Graph API sandbox with the Nghệ An Pages, collected by the real collector.

It starts the sandbox on loopback, imports the units, backfills a month of posts and insights,
then replays simulated nights through ``collect_once`` exactly as the nightly job runs it:
only the Graph base URL and the token differ from production.

The demo writes only to a store of its own (``fanpulse-demo.db`` in the working directory,
whatever ``database_url`` says, or the one given with ``fanpulse demo --store``), and refuses
any store that holds something the demo did not put there: its unit import would retire real
units and move Pages, and its simulated runs would mix with real ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fanpulse.collector.run import RunResult, collect_once
from fanpulse.config.settings import Settings
from fanpulse.config.units import UnitRow, read_units_file
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.db import current_revision, ensure_schema, make_engine, transaction
from fanpulse.storage.models import (
    CollectionRun,
    Page,
    PageInsight,
    PageSnapshot,
    Post,
    PostSnapshot,
    Unit,
)
from fanpulse.storage.units import sync_units

log = logging.getLogger(__name__)

DEMO_STORE = "fanpulse-demo.db"
DEMO_STORE_URL = f"sqlite:///{DEMO_STORE}"
DEMO_REPORT_DIR = "fanpulse-demo-reports"
DEMO_TRIGGER = "demo"
_SHOWN = 3  # examples of foreign data named in the refusal


class DemoStoreRefused(ValueError):
    """The store holds data the demo did not write; the demo would damage it."""


def demo_store_url(store: str | None) -> str:
    """The demo's store: its own SQLite file, or ``store`` (a SQLAlchemy URL or a file path)."""
    if not store:
        return DEMO_STORE_URL
    return store if "://" in store else f"sqlite:///{store}"


def foreign_data(session: Session, rows: list[UnitRow]) -> list[str]:
    """What in the store the demo did not (or would not) write, in words; empty if nothing.

    Collection runs must all be the demo's; every unit must be one of ``rows`` with the same
    name, level and parent, still active; every Page must be the one ``rows`` gives its unit.
    A store holding a part of ``rows`` (an earlier demo with fewer units) is the demo's. Only
    columns of the first schema revision are read, so an older store is judged before any
    migration touches it.
    """
    problems: list[str] = []
    others = session.execute(
        select(CollectionRun.trigger, func.count()).where(CollectionRun.trigger != DEMO_TRIGGER)
        .group_by(CollectionRun.trigger)
    ).all()
    problems += [f"{n} collection run(s) with trigger '{trigger}'" for trigger, n in others]
    wanted = {row.code: row for row in rows}
    units = session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.level, Unit.parent_id, Unit.active)
        .order_by(Unit.code)
    ).all()
    codes = {unit.id: unit.code for unit in units}
    for unit in units:
        row = wanted.get(unit.code)
        parent = codes.get(unit.parent_id) if unit.parent_id is not None else None
        if row is None:
            problems.append(f"unit {unit.code} '{unit.name}', which the demo does not import")
        elif (row.name, row.level, row.parent_code, True) != (unit.name, unit.level, parent,
                                                               bool(unit.active)):
            problems.append(f"unit {unit.code} '{unit.name}', which differs from the demo's")
    pages = session.execute(select(Page.ref, Page.unit_id, Page.active).order_by(Page.ref))
    for ref, unit_id, active in pages:
        row = wanted.get(codes.get(unit_id, "")) if unit_id is not None else None
        if row is None or row.page is None or row.page.key != ref or not active:
            problems.append(f"Page {ref}, which the demo does not give to that unit")
    return problems


def refuse_foreign_data(session: Session, rows: list[UnitRow], store: str) -> None:
    """Raise :class:`DemoStoreRefused`, naming a few examples, when the store is not the demo's."""
    problems = foreign_data(session, rows)
    if not problems:
        return
    shown = "; ".join(problems[:_SHOWN]) + (f"; ... ({len(problems)} in all)"
                                             if len(problems) > _SHOWN else "")
    raise DemoStoreRefused(
        f"the demo only writes to a store of its own, and {store} holds data that is not the "
        f"demo's: {shown}. Nothing was changed"
    )


def open_demo_store(url: str, units_path: str | Path) -> Engine:
    """The engine of the demo's store, checked and then brought to the current schema.

    A store that already has tables is checked first, so a foreign store is refused before a
    migration would change it.
    """
    rows = read_units_file(units_path)
    engine = make_engine(url)
    try:
        if current_revision(engine) is not None:
            with transaction(engine) as session:
                refuse_foreign_data(session, rows, engine.url.render_as_string(True))
        ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


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
    """Backfill ``backfill_days`` then collect ``nights`` nights from the sandbox.

    Raises :class:`DemoStoreRefused` (before anything is written) when ``engine``'s store
    holds data that is not the demo's.
    """
    rows = read_units_file(units_path)
    first_night = demo_clock_start(nights, today)
    world = World.from_units_csv(units_path, seed=seed,
                                 start=first_night.date() - dt.timedelta(days=400),
                                 now=first_night)
    world.faults.latency_ms = latency_ms
    store = engine.url.render_as_string(hide_password=True)
    with transaction(engine) as session:  # the check and the import in one transaction
        refuse_foreign_data(session, rows, store)
        sync_units(session, rows, first_night)
    summary = DemoSummary(units=len(rows))
    with SandboxServer(world) as server:
        demo_settings = settings.replace(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                         app_secret="")
        since = first_night.date() - dt.timedelta(days=backfill_days)
        log.info("demo: backfilling from %s", since)
        summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                         since=since, trigger=DEMO_TRIGGER))
        for night in range(nights):
            world.advance(days=1)
            log.info("demo: night %d of %d (%s)", night + 1, nights, world.now.date())
            summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                             trigger=DEMO_TRIGGER))
    with transaction(engine) as session:
        summary.page_snapshots = session.scalar(select(func.count()).select_from(PageSnapshot)) or 0
        summary.posts = session.scalar(select(func.count()).select_from(Post)) or 0
        summary.post_snapshots = session.scalar(select(func.count()).select_from(PostSnapshot)) or 0
        summary.page_insights = session.scalar(select(func.count()).select_from(PageInsight)) or 0
        summary.first_day = session.scalar(select(func.min(PageSnapshot.day)))
        summary.last_day = session.scalar(select(func.max(PageSnapshot.day)))
    return summary
