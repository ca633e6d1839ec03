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

import csv
import datetime as dt
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fanpulse.collector.run import RunResult, collect_once
from fanpulse.config.campaigns import HEADER as CAMPAIGNS_HEADER
from fanpulse.config.campaigns import Campaign, campaign_toml, make_campaign
from fanpulse.config.settings import Settings
from fanpulse.config.units import UnitRow, read_units_file
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.campaigns import Detected, detect_from_file
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
SHAPES = ("2024", "2025")
# The 2025 shape's own store and report folder: never a 2024-shape demo's.
DEMO_STORE_2025 = "fanpulse-demo-2025.db"
# The campaigns the demo follows (the sandbox's directive posts), written for each run.
DEMO_CAMPAIGNS = "fanpulse-demo-campaigns.toml"
DEMO_CAMPAIGNS_2025 = "fanpulse-demo-2025-campaigns.toml"
DEMO_REPORT_DIR_2025 = "fanpulse-demo-2025-reports"
# The reform the 2025 shape applies (formed_from/effective filled, the 2024 file's Pages).
REFORM_UNITS = Path(__file__).resolve().parent / "config" / "units.nghe-an-2025.csv"
_SHOWN = 3  # examples of foreign data named in the refusal


class DemoStoreRefused(ValueError):
    """The store holds data the demo did not write; the demo would damage it."""


def demo_store_url(store: str | None, shape: str = "2024") -> str:
    """The demo's store: its own SQLite file (one per shape), or ``store`` (a SQLAlchemy URL
    or a file path)."""
    if not store:
        return DEMO_STORE_URL if shape == "2024" else f"sqlite:///{DEMO_STORE_2025}"
    return store if "://" in store else f"sqlite:///{store}"


def demo_report_dir(shape: str = "2024") -> str:
    """The folder the demo writes its reports to (one per shape)."""
    return DEMO_REPORT_DIR if shape == "2024" else DEMO_REPORT_DIR_2025


def merges_recorded(session: Session) -> int:
    """How many merges the store records (a 2025-shape demo after its reform). A store older
    than the merges' migration has none (it is only read here, never changed)."""
    if not inspect(session.connection()).has_table("unit_merges"):
        return 0
    return session.scalar(text("SELECT COUNT(*) FROM unit_merges")) or 0


def foreign_data(session: Session, rows: list[UnitRow],
                 reform: list[UnitRow] | None = None) -> list[str]:
    """What in the store the demo did not (or would not) write, in words; empty if nothing.

    Collection runs must all be the demo's; every unit must be one of ``rows`` with the same
    name, level and parent, still active; every Page must be the one ``rows`` gives its unit.
    A store holding a part of ``rows`` (an earlier demo with fewer units) is the demo's. Only
    columns of the first schema revision are read (and ``unit_merges`` when it exists), so an
    older store is judged before any migration touches it.

    With ``reform`` (the 2025 shape: the units file it imports part-way), the store must be
    empty or hold that demo after its reform: the units of ``reform`` active, the other units
    of ``rows`` retired, only Pages of ``rows``. A store with units but no merge recorded is a
    2024-shape demo (or a 2025 one stopped before its reform) and is refused; the 2024 shape
    refuses a store with merges recorded.
    """
    problems: list[str] = []
    others = session.execute(
        select(CollectionRun.trigger, func.count()).where(CollectionRun.trigger != DEMO_TRIGGER)
        .group_by(CollectionRun.trigger)
    ).all()
    problems += [f"{n} collection run(s) with trigger '{trigger}'" for trigger, n in others]
    merges = merges_recorded(session)
    units = session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.level, Unit.parent_id, Unit.active)
        .order_by(Unit.code)
    ).all()
    codes = {unit.id: unit.code for unit in units}
    if reform is not None and not merges:
        if units:
            problems.append(f"{len(units)} units and no merge: a 2024-shape demo (or a 2025 "
                            "one stopped before its reform), and the 2025 shape starts from "
                            "an empty store")
        return problems
    if reform is None and merges:
        problems.append(f"{merges} merges recorded: a 2025-shape demo (`fanpulse demo --shape "
                        "2025` continues it)")
    # What each unit should be: (row, active). After the reform, the reform's units are
    # active and the other units of ``rows`` retired (merged).
    wanted = {row.code: (row, True) for row in rows}
    if reform is not None:
        wanted = {row.code: (row, False) for row in rows}
        wanted.update({row.code: (row, True) for row in reform})
    for unit in units:
        row, active = wanted.get(unit.code, (None, True))
        parent = codes.get(unit.parent_id) if unit.parent_id is not None else None
        if row is None:
            problems.append(f"unit {unit.code} '{unit.name}', which the demo does not import")
        elif (row.name, row.level, row.parent_code, active) != (unit.name, unit.level, parent,
                                                                 bool(unit.active)):
            problems.append(f"unit {unit.code} '{unit.name}', which differs from the demo's")
    pages = session.execute(select(Page.ref, Page.unit_id, Page.active).order_by(Page.ref))
    demo_pages = {row.page.key for row in rows if row.page is not None}
    for ref, unit_id, active in pages:
        if reform is not None:
            # After the reform the Pages of merged units stay, under the new units.
            if ref not in demo_pages:
                problems.append(f"Page {ref}, which the demo does not collect")
            continue
        row = wanted.get(codes.get(unit_id, ""), (None, True))[0] \
            if unit_id is not None else None
        if row is None or row.page is None or row.page.key != ref or not active:
            problems.append(f"Page {ref}, which the demo does not give to that unit")
    return problems


def refuse_foreign_data(session: Session, rows: list[UnitRow], store: str,
                        reform: list[UnitRow] | None = None) -> None:
    """Raise :class:`DemoStoreRefused`, naming a few examples, when the store is not the demo's."""
    problems = foreign_data(session, rows, reform)
    if not problems:
        return
    shown = "; ".join(problems[:_SHOWN]) + (f"; ... ({len(problems)} in all)"
                                             if len(problems) > _SHOWN else "")
    raise DemoStoreRefused(
        f"the demo only writes to a store of its own, and {store} holds data that is not the "
        f"demo's: {shown}. Nothing was changed"
    )


def open_demo_store(url: str, units_path: str | Path, shape: str = "2024") -> Engine:
    """The engine of the demo's store, checked and then brought to the current schema.

    A store that already has tables is checked first, so a foreign store is refused before a
    migration would change it.
    """
    rows = read_units_file(units_path)
    reform = read_units_file(REFORM_UNITS) if shape == "2025" else None
    engine = make_engine(url)
    try:
        if current_revision(engine) is not None:
            with transaction(engine) as session:
                refuse_foreign_data(session, rows, engine.url.render_as_string(True), reform)
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
    reform_day: dt.date | None = None  # the 2025 shape: the day the reform took effect
    reform_after: int = 0  # runs collected before the reform (the backfill is the first)
    reform_summary: str = ""  # what the import of the 2025 file changed
    campaigns_file: str = ""  # the campaigns the demo followed (docs/campaigns.md)
    campaigns: list[Detected] = field(default_factory=list)


def demo_campaigns_path(shape: str = "2024") -> Path:
    return Path(DEMO_CAMPAIGNS_2025 if shape == "2025" else DEMO_CAMPAIGNS)


def write_demo_campaigns(world: World, path: Path, since: dt.datetime,
                         until: dt.datetime) -> list[Campaign]:
    """The campaigns file staff would write for the sandbox's campaigns under way between
    ``since`` and ``until``: each campaign's hashtag and the addresses of its directive posts
    published in that span (the ones the demo collects)."""
    seeds = [s for s in world.campaign_seeds(at=until) if s["created_time"] >= since]
    by_key: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        by_key.setdefault(seed["campaign"], []).append(seed)
    campaigns = [make_campaign(key, found[0]["name"], found[0]["from"], found[0]["to"],
                               hashtags=[found[0]["hashtag"]],
                               seeds=[s["permalink_url"] for s in found])
                 for key, found in by_key.items()]
    text = CAMPAIGNS_HEADER + "# Written by `fanpulse demo` from the sandbox's directive posts.\n"
    path.write_text(text + "".join("\n" + campaign_toml(c) for c in campaigns),
                    encoding="utf-8")
    return campaigns


def demo_clock_start(nights: int, today: dt.date | None = None) -> dt.datetime:
    """The backfill night: 02:00 in Vietnam (19:00 UTC the day before), so that the last of
    the ``nights`` that follow is the one that has just passed (never in the future)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today - dt.timedelta(days=nights + 1), dt.time(19, 0), dt.UTC)


def reform_night(nights: int) -> int:
    """After which night the 2025 shape imports the reform: the middle one (night 3 of 7), or
    right after the backfill (0) when there are fewer than 2 nights."""
    return nights // 2


def write_reform_file(path: Path, day: dt.date, source: Path = REFORM_UNITS) -> Path:
    """A copy of the 2025 units file whose ``effective`` cells say ``day``.

    The reform took effect on 2025-07-01, long before the demo's simulated months (which end
    last night): imported with that date, every merge would lie before the first snapshot and
    the reports would show the new communes only, with no merge to see. Dated on the demo's
    own day, the history before it is the old communes' and the charts mark the merge.
    """
    with source.open(encoding="utf-8", newline="") as src:
        reader = csv.DictReader(src)
        fields = list(reader.fieldnames or [])
        lines = [{**line, "effective": day.isoformat() if line.get("effective") else ""}
                 for line in reader]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
    return path


def apply_reform(engine: Engine, now: dt.datetime, day: dt.date) -> str:
    """Import the 2025 file, effective ``day``, at the simulated ``now``: what it changed."""
    from fanpulse.cli import import_units_file  # the operators' import, guard included

    with tempfile.TemporaryDirectory(prefix="fanpulse-demo-") as folder:
        path = write_reform_file(Path(folder) / REFORM_UNITS.name, day)
        _, summary = import_units_file(engine, path, now=now, allow_retire=True)
    return summary


def run_demo(settings: Settings, engine: Engine, units_path: str | Path, *, nights: int = 7,
             backfill_days: int = 30, latency_ms: float = 0.0, seed: int = 1,
             today: dt.date | None = None, shape: str = "2024") -> DemoSummary:
    """Backfill ``backfill_days`` then collect ``nights`` nights from the sandbox.

    With ``shape="2025"`` the 2025 units file (:data:`REFORM_UNITS`) is imported after night
    :func:`reform_night` (see :func:`write_reform_file` for its date); the sandbox keeps
    serving every Page, as Facebook keeps the old communes' Pages, and the nights after it
    collect the Pages that stay active. A store where an earlier 2025-shape demo already made
    the reform is collected on in the new shape, without importing anything.

    Raises :class:`DemoStoreRefused` (before anything is written) when ``engine``'s store
    holds data that is not the demo's.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown demo shape {shape!r}: one of {', '.join(SHAPES)}")
    rows = read_units_file(units_path)
    reform = read_units_file(REFORM_UNITS) if shape == "2025" else None
    first_night = demo_clock_start(nights, today)
    world = World.from_units_csv(units_path, seed=seed,
                                 start=first_night.date() - dt.timedelta(days=400),
                                 now=first_night, campaigns=True)
    world.faults.latency_ms = latency_ms
    store = engine.url.render_as_string(hide_password=True)
    with transaction(engine) as session:  # the check and the import in one transaction
        refuse_foreign_data(session, rows, store, reform)
        done = merges_recorded(session) > 0  # the 2025 shape, run again: already reformed
        if not done:
            sync_units(session, rows, first_night)
    summary = DemoSummary(units=len(rows))
    after = reform_night(nights) if reform is not None and not done else None
    since = first_night.date() - dt.timedelta(days=backfill_days)
    campaigns_path = demo_campaigns_path(shape)
    write_demo_campaigns(world, campaigns_path,
                         dt.datetime.combine(since, dt.time(), settings.tz),
                         first_night + dt.timedelta(days=nights))
    summary.campaigns_file = str(campaigns_path)
    with SandboxServer(world) as server:
        demo_settings = settings.replace(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                         app_secret="", campaigns_file=str(campaigns_path))

        def reform_if_due(night: int) -> None:
            if after != night:
                return
            now = world.now
            summary.reform_day = now.astimezone(settings.tz).date()
            summary.reform_after = len(summary.runs)
            log.info("demo: the 2025 reform, effective %s", summary.reform_day)
            summary.reform_summary = apply_reform(engine, now, summary.reform_day)

        log.info("demo: backfilling from %s", since)
        summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                         since=since, trigger=DEMO_TRIGGER))
        reform_if_due(0)
        for night in range(nights):
            world.advance(days=1)
            log.info("demo: night %d of %d (%s)", night + 1, nights, world.now.date())
            summary.runs.append(collect_once(demo_settings, engine, clock=lambda: world.now,
                                             trigger=DEMO_TRIGGER))
            reform_if_due(night + 1)
    # What the last night's detection stored, for the summary (it is quick and idempotent).
    summary.campaigns = detect_from_file(engine, campaigns_path, settings.tz, world.now)
    with transaction(engine) as session:
        summary.units = session.scalar(select(func.count()).select_from(Unit)
                                       .where(Unit.active)) or 0
        summary.page_snapshots = session.scalar(select(func.count()).select_from(PageSnapshot)) or 0
        summary.posts = session.scalar(select(func.count()).select_from(Post)) or 0
        summary.post_snapshots = session.scalar(select(func.count()).select_from(PostSnapshot)) or 0
        summary.page_insights = session.scalar(select(func.count()).select_from(PageInsight)) or 0
        summary.first_day = session.scalar(select(func.min(PageSnapshot.day)))
        summary.last_day = session.scalar(select(func.max(PageSnapshot.day)))
    return summary
