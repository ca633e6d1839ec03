"""One engine factory, the schema upgrade, and the unit-of-work helper.

Functions elsewhere take a :class:`~sqlalchemy.orm.Session` or an
:class:`~sqlalchemy.engine.Engine` argument instead of reaching for a global (style.md 15).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

# Alembic is imported only where the schema must change: a command that merely reads the store
# (``fanpulse query``) checks its revision with one SELECT and the migration files' names, so
# it starts without loading Alembic (issue 13: start-up well under a second).

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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision (Alembic's ``alembic_version`` row); None for a database
    without fanpulse's tables."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|None)",
                       re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration's revision, read from the files' ``revision`` and
    ``down_revision`` lines without loading Alembic (tests/test_startup.py checks it equals
    Alembic's own answer). The history is one line: the head is the revision no other one
    follows."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for match in _REVISION.finditer(path.read_text(encoding="utf-8")):
            value = match.group(2) or match.group(3)
            if value:
                (revisions if match.group(1) == "revision" else followed).add(value)
    heads = sorted(revisions - followed)
    return heads[0] if len(heads) == 1 else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` through the named, ordered migrations.

    Each migration is one transaction (storage/migrations/env.py): when this fails, the store
    is at the last revision that completed."""
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(alembic_config(engine), revision)
    except DBAPIError as exc:
        raise StoreError(f"cannot upgrade the store: {exc.orig}") from None
    except CommandError as exc:  # e.g. another process moved alembic_version meanwhile
        raise StoreError(f"cannot upgrade the store: {exc}") from None


def ensure_schema(engine: Engine) -> None:
    """Upgrade the store if it is behind; refuse one written by a newer fanpulse."""
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open the store: {exc.orig}") from None
    head = head_revision()
    if current == head:
        return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StoreError(
            f"the store is at schema revision {current}, which this fanpulse does not know "
            "(written by a newer version?)"
        )
    log.info("upgrading the store schema from %s to %s", current or "empty", head)
    while True:
        try:
            upgrade(engine)
            return
        except StoreError:
            # Commands started together on a store that was behind (SQLite: each migration
            # takes the write lock in turn): the one that lost the race finds the work done,
            # or goes on from where the store now is. A failure that moves nothing is raised.
            now = current_revision(engine)
            if now == head:
                return
            if now == current:
                raise
            log.info("the store was upgraded meanwhile to %s; going on from there", now)
            current = now


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


# --- a role that can only read (PostgreSQL) ----------------------------------------------------

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Role attributes that give more than reading; a role holding one is never made the reader.
_ROLE_POWERS = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")


@dataclass(frozen=True)
class ReaderRole:
    """What :func:`create_reader` did."""

    name: str
    created: bool  # False: the role existed and was given the rights again
    database: str
    schema: str
    statements: list[str]


def quote_name(name: str) -> str:
    """A PostgreSQL identifier, quoted (a schema may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def require_postgresql(url: str) -> None:
    """Refuse (:class:`StoreError`) a store that is not PostgreSQL: only it has roles."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend != "postgresql":
        raise StoreError(
            "a read-only role is for PostgreSQL: SQLite has no roles. `fanpulse query` already "
            "opens the SQLite file read-only; give other tools a copy of the file, or use "
            "`sqlite3 -readonly FILE`"
        )


def create_reader(engine: Engine, name: str,
                  echo: Callable[[str], None] = lambda _sql: None) -> ReaderRole:
    """Create (or bring back to shape) a PostgreSQL role ``name`` that can log in and SELECT
    the tables and views of the store's schema, and nothing else; idempotent.

    Each statement is passed to ``echo`` before it runs, all in one transaction. A role that
    exists with more rights (superuser, CREATEROLE, CREATEDB, replication, BYPASSRLS, or
    membership of another role) is refused rather than reduced: it belongs to someone else.
    """
    require_postgresql(engine.url.render_as_string(hide_password=False))
    if not _ROLE_NAME.fullmatch(name):
        raise StoreError(f"role name {name!r}: use lower-case letters, digits and _ "
                         "(at most 63, not starting with a digit), e.g. fanpulse_reader")
    try:
        with engine.begin() as conn:
            role = _reader_plan(conn, name)
            for statement in role.statements:
                echo(statement + ";")
                conn.exec_driver_sql(statement)
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
        raise StoreError(f"the database refused: {first} (run this as the owner of the "
                         "store's tables, with the CREATEROLE right, or as a superuser)") from None
    return role


def _reader_plan(conn: Connection, name: str) -> ReaderRole:
    """The statements that give ``name`` exactly the reader's rights on this store."""
    schema, database, me = conn.execute(
        text("SELECT current_schema(), current_database(), current_user")).one()
    if schema is None:
        raise StoreError("the store's schema is not on the connection's search_path")
    owner = conn.execute(text(
        "SELECT tableowner FROM pg_tables WHERE schemaname = :schema "
        "AND tablename = 'alembic_version'"), {"schema": schema}).scalar() or me
    found = conn.execute(text(
        f"SELECT rolcanlogin, {', '.join(_ROLE_POWERS)} FROM pg_roles WHERE rolname = :name"),
        {"name": name}).mappings().first()
    member_of = list(conn.execute(text(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :name ORDER BY 1"),
        {"name": name}).scalars())
    if found is not None:
        powers = [power[3:].upper() for power in _ROLE_POWERS if found[power]]
        powers += [f"member of {group}" for group in member_of]
        if powers:
            raise StoreError(f"role {name} exists and can do more than read "
                             f"({', '.join(powers)}); fanpulse will not make it the reader: "
                             "choose another NAME")
    role, schema_q = quote_name(name), quote_name(schema)
    statements = []
    if found is None:
        statements.append(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                          "NOREPLICATION NOBYPASSRLS")
    elif not found["rolcanlogin"]:
        statements.append(f"ALTER ROLE {role} LOGIN")
    statements += [
        f"GRANT CONNECT ON DATABASE {quote_name(database)} TO {role}",
        f"GRANT USAGE ON SCHEMA {schema_q} TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema_q} TO {role}",  # views included
        # Tables and views that later migrations create (their owner creates them) too.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_name(owner)} IN SCHEMA {schema_q} "
        f"GRANT SELECT ON TABLES TO {role}",
        # Defaults for its sessions (not rights): read-only transactions, the store's schema.
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"ALTER ROLE {role} SET search_path = {schema_q}",
    ]
    return ReaderRole(name, found is None, database, schema, statements)

