"""Migrations and storage basics on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from fanpulse.storage.db import (
    StoreError,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    transaction,
)
from fanpulse.storage.models import Base, CollectionRun, Page, PageSnapshot, Unit


def test_migrations_create_every_model_table(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_ensure_schema_is_idempotent(engine: Engine) -> None:
    ensure_schema(engine)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()


def test_times_are_stored_in_utc_and_come_back_aware(engine: Engine) -> None:
    local = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with transaction(engine) as s:
        s.add(CollectionRun(started_at=local, status="ok", trigger="manual"))
    with transaction(engine) as s:
        run = s.scalars(select(CollectionRun)).one()
        assert run.started_at == dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
        assert run.started_at.utcoffset() == dt.timedelta(0)
    with engine.connect() as conn:
        raw = conn.execute(text("select started_at from collection_runs")).scalar_one()
    assert "19:00" in str(raw)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), transaction(engine) as s:
        s.add(CollectionRun(started_at=dt.datetime(2026, 1, 1), status="ok", trigger="x"))


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(IntegrityError), transaction(engine) as s:
        s.add(PageSnapshot(page_id=12345, day=dt.date(2026, 1, 1), collected_at=now))


def test_one_snapshot_per_page_and_day(engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    with transaction(engine) as s:
        unit = Unit(code="1", name="A", level="province", active=True, created_at=now,
                    updated_at=now)
        s.add(unit)
        s.flush()
        page = Page(ref="123456", unit_id=unit.id, active=True, created_at=now)
        s.add(page)
        s.flush()
        s.add(PageSnapshot(page_id=page.id, day=dt.date(2026, 1, 1), collected_at=now))
    with pytest.raises(IntegrityError), transaction(engine) as s:
        s.add(PageSnapshot(page_id=page.id, day=dt.date(2026, 1, 1), collected_at=now))


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a SQLAlchemy URL"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
    ],
)
def test_bad_database_urls(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        make_engine(url)


def test_store_from_a_newer_fanpulse_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = 'ffff'"))
    with pytest.raises(StoreError, match="newer version"):
        ensure_schema(engine)
