"""One engine factory, the schema upgrade, and the unit-of-work helper.

Functions elsewhere take a :class:`~sqlalchemy.orm.Session` or an
:class:`~sqlalchemy.engine.Engine` argument instead of reaching for a global (style.md 15).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot be opened or is not at the schema this fanpulse expects."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets reports and ad-hoc SQL read while the collector writes; the busy timeout makes a
    # second writer wait instead of failing at once; SQLite leaves foreign keys off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for a SQLAlchemy URL, configured for fanpulse's access pattern."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"database_url {url!r} is not a SQLAlchemy URL "
            "(e.g. sqlite:///fanpulse.db or postgresql+psycopg://user@host/db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(f"database folder {folder} does not exist")
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver we install; SQLAlchemy's bare default is psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        # The recursive views make the planner overestimate row counts, and JIT compilation
        # then costs more than the query itself.
        options = parsed.query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        if "jit" not in options:
            parsed = parsed.update_query_dict({"options": f"{options} -c jit=off".strip()})
        url = parsed.render_as_string(hide_password=False)
    return create_engine(url, **kwargs)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` through the named, ordered migrations."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise StoreError(f"cannot upgrade the store: {exc.orig}") from None


def ensure_schema(engine: Engine) -> None:
    """Upgrade the store if it is behind; refuse one written by a newer fanpulse."""
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open the store: {exc.orig}") from None
    head = head_revision()
    if current == head:
        return
    script = ScriptDirectory(str(MIGRATIONS))
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StoreError(
            f"the store is at schema revision {current}, which this fanpulse does not know "
            "(written by a newer version?)"
        )
    log.info("upgrading the store schema from %s to %s", current or "empty", head)
    upgrade(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
