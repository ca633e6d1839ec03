"""A sandbox world, its server on loopback, and a store holding its units."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from fanpulse.collector.graph import GraphClient
from fanpulse.collector.run import RunResult, collect_once, make_client
from fanpulse.config.settings import Settings, load_settings
from fanpulse.config.units import read_units_file
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.units import sync_units

START = dt.date(2026, 8, 1)
NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)  # 02:00 in Vietnam on 21/11


def write_units_for(world: World, path: Path) -> Path:
    """A units CSV naming every Page of the world (its generated tree)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code", "page"])
        for page_id in world.pages:
            spec = world.spec(page_id)
            level = "residential_area" if spec.level == "residential" else spec.level
            writer.writerow([spec.unit_code, spec.name, level, spec.parent_code or "", page_id])
    return path


UNSHARED = 23  # index of the Page the test world leaves unshared with the Business Manager
NO_ANALYZE = 22  # index of the Page shared without the Analyze task


def make_world(**kwargs: Any) -> World:
    """24 Pages (province, 21 districts, 2 communes); one commune not shared with the
    Business Manager (no Page token), one district shared without the Analyze task."""
    world = World.generate(n_pages=24, seed=7, start=START, now=NOW, **kwargs)
    world.set_tasks(world.pages[UNSHARED], ())
    world.set_tasks(world.pages[NO_ANALYZE], ("CREATE_CONTENT", "MODERATE"))
    return world


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def server(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world) as srv:
        yield srv


@pytest.fixture
def store(engine: Engine, world: World, tmp_path: Path) -> Engine:
    rows = read_units_file(write_units_for(world, tmp_path / "units.csv"))
    with transaction(engine) as session:
        sync_units(session, rows, NOW)
    return engine


class Harness:
    """Runs the real collector against the sandbox with the world's clock."""

    def __init__(self, world: World, server: SandboxServer, engine: Engine) -> None:
        self.world = world
        self.server = server
        self.engine = engine
        self.sleeps: list[float] = []

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "graph_url": self.server.base_url, "access_token": DEFAULT_TOKEN,
            "request_timeout": 2.0, "max_retries": 3, "max_wait_seconds": 90.0,
            "concurrency": 3, "lookback_days": 7,
        }
        values.update(overrides)
        return load_settings(None, env={}, **values)

    def client(self, settings: Settings) -> GraphClient:
        client = make_client(settings)
        client.sleep = self.sleeps.append  # no real waiting in tests; the waits are recorded
        return client

    def collect(self, since: dt.date | None = None, **overrides: Any) -> RunResult:
        settings = self.settings(**overrides)
        return collect_once(settings, self.engine, self.client(settings),
                            clock=lambda: self.world.now, since=since)


@pytest.fixture
def harness(world: World, server: SandboxServer, store: Engine) -> Harness:
    """On SQLite and PostgreSQL: for what depends on the store (truth, upserts, runs)."""
    return Harness(world, server, store)


@pytest.fixture
def lite(world: World, server: SandboxServer, tmp_path: Path) -> Iterator[Harness]:
    """On SQLite only: for failure handling, which does not depend on the store."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    ensure_schema(engine)
    rows = read_units_file(write_units_for(world, tmp_path / "units.csv"))
    with transaction(engine) as session:
        sync_units(session, rows, NOW)
    yield Harness(world, server, engine)
    engine.dispose()
