"""Shared fixtures: a fresh store per test on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from fanpulse.config.settings import Settings, load_settings
from fanpulse.storage.db import ensure_schema, make_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "FANPULSE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_reason: list[str | None] = []


def postgres_unavailable() -> str | None:
    """None when the test PostgreSQL answers, else the reason to skip (checked once)."""
    if not _pg_reason:
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_reason.append(None)
        except Exception as exc:  # any driver or network failure means "not here"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _pg_reason.append(
                f"PostgreSQL not reachable at {PG_URL} ({first}); set FANPULSE_TEST_PG_URL"
            )
    return _pg_reason[0]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FANPULSE_* variable leaks in from the developer's shell; cwd is a fresh folder."""
    for name in list(os.environ):
        if name.startswith("FANPULSE_") and name != "FANPULSE_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with postgres_schema() as url:
        yield url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema (skips the test without PostgreSQL); yields a URL whose
    search_path is that schema, and drops it afterwards."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"fp_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated_store(kind: str, folder: Path) -> Iterator[Engine]:
    """An empty migrated store for a module-scoped fixture: ``kind`` "sqlite" (a file in
    ``folder``) or "postgresql" (a fresh schema, dropped afterwards; skips without one)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        try:
            ensure_schema(engine)
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_schema() as url:
        engine = make_engine(url)
        try:
            ensure_schema(engine)
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test: defaults, no file, no environment, plus overrides."""
    return load_settings(None, env={}, **overrides)


@pytest.fixture
def settings_factory() -> Any:
    return make_settings
