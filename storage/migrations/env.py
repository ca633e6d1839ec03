"""Alembic environment: runs against the engine fanpulse hands over (storage.db.upgrade).

Each migration runs in its own transaction, on PostgreSQL and on SQLite alike, together with
the update of ``alembic_version``: a process killed (or an error raised) in the middle of a
migration leaves the store at the previous revision, and the next command upgrades it again
from there. SQLite can roll back DDL, but Python's sqlite3 module (``isolation_level`` "")
never opens a transaction before a CREATE or ALTER, so each DDL statement would commit on its
own; :func:`sqlite_transactional_ddl` turns that off for the migration connection and lets
SQLAlchemy's own BEGIN reach the database (SQLAlchemy's documented pysqlite recipe).

A future SQLite migration that must rebuild a table other tables point at would need
``PRAGMA foreign_keys=OFF``, which SQLite ignores inside a transaction; the migrations so far
avoid such rebuilds (see 0003, 0006), and a new one should too, or say what it gives up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import context
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection

from fanpulse.storage.models import Base


@contextmanager
def sqlite_transactional_ddl(connection: Connection) -> Iterator[None]:
    """Make ``connection`` (pysqlite) run DDL inside real transactions while it is open.

    The DBAPI connection stops beginning and committing on its own (``isolation_level =
    None``); every SQLAlchemy transaction on ``connection`` then emits its own BEGIN, so a
    CREATE TABLE is rolled back with the rest when the migration fails. The pooled DBAPI
    connection gets its usual behaviour back afterwards: the collector relies on it.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    if connection.in_transaction():
        connection.commit()  # nothing of ours is pending; the BEGIN must be the first word
    dbapi = connection.connection.driver_connection
    before = dbapi.isolation_level  # type: ignore[union-attr]

    def emit_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at once, waiting out another writer (busy_timeout):
        # a deferred BEGIN that reads first and writes later fails at once with "database is
        # locked" when a concurrent upgrade committed in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    dbapi.isolation_level = None  # type: ignore[union-attr]
    event.listen(connection, "begin", emit_begin)
    try:
        yield
    finally:
        event.remove(connection, "begin", emit_begin)
        if connection.in_transaction():
            connection.rollback()
        dbapi.isolation_level = before  # type: ignore[union-attr]


@contextmanager
def one_upgrade_at_a_time(connection: Connection) -> Iterator[None]:
    """PostgreSQL: hold a session advisory lock (per schema) while migrating, so commands
    started together upgrade one after the other; the next one then finds nothing to do. The
    server releases it when the session ends, a killed process included. (On SQLite each
    migration's BEGIN IMMEDIATE waits for the writer, and storage.db.ensure_schema goes on
    from wherever another process left the store.)"""
    if connection.dialect.name != "postgresql":
        yield
        return
    key = "SELECT hashtext('fanpulse schema upgrade ' || current_schema())"
    connection.exec_driver_sql(f"SELECT pg_advisory_lock(({key}))")
    connection.commit()  # the lock outlives the transaction; Alembic starts with none open
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock(({key}))")
        connection.commit()


def run_migrations(connection: Connection, **options: Any) -> None:
    """Run the pending migrations on ``connection``, one transaction each."""
    with one_upgrade_at_a_time(connection), sqlite_transactional_ddl(connection):
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead (style.md 14).
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # One transaction per migration (with its alembic_version update), and on SQLite
            # too: Alembic otherwise assumes SQLite cannot roll back DDL and runs it bare.
            transactional_ddl=True,
            transaction_per_migration=True,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()


engine = context.config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: use sqlalchemy.url from its ini
    engine = create_engine(
        context.config.get_main_option("sqlalchemy.url") or "sqlite:///fanpulse.db"
    )

with engine.connect() as migration_connection:
    run_migrations(migration_connection)
