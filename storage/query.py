"""Read-only SQL against the store: ad-hoc queries and the saved queries of config/queries.

Two lines of defence keep an analyst from changing the store by accident:

1. :func:`check_read_only` reads the statement before anything runs (comments, string literals
   and quoted names are skipped, per dialect) and refuses, with :class:`QueryRefused`, anything
   that is not one read statement: several statements, INSERT/UPDATE/DELETE/MERGE, DDL, ATTACH,
   VACUUM, REINDEX, COPY, ``SELECT ... INTO``, a PRAGMA that sets a value, and so on.
2. :func:`execute_read_only` runs the statement on a connection that cannot write: SQLite
   opened with ``mode=ro`` (plus ``PRAGMA query_only``), PostgreSQL in a session whose every
   transaction is READ ONLY. Whatever the first line misses, the database refuses.

On PostgreSQL the first line also refuses the functions that act beyond the query
(``pg_terminate_backend``, ``pg_read_file``, ``set_config``, ``dblink``, ``nextval``, ...):
a denylist is never complete, which is why the transaction is READ ONLY as well and why the
README recommends a role that can only read (``fanpulse db create-reader``).

Every statement runs under a time limit (the ``query_timeout_seconds`` setting): SQLite is
interrupted from its progress handler, PostgreSQL gets ``SET LOCAL statement_timeout``. Ctrl-C
stops the statement in the database too (SQLite: the same interrupt; PostgreSQL: psycopg sends
the server a cancel request).

Errors (callers catch the parent)::

    QueryError              the query could not be run; the message says why
    ├── QueryRefused        not a single read-only statement (nothing was executed)
    ├── ParameterError      a parameter is missing, unknown or malformed
    ├── QueryTimeout        the statement ran past the time limit and was stopped
    └── QueryStopped        the operator pressed Ctrl-C; the statement was stopped

Saved queries are ``.sql`` files whose leading comment describes them; ``@param`` lines in it
declare the named parameters (see :func:`parse_saved_query` and docs/schema.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import signal
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, bindparam, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, StatementError
from sqlalchemy.types import TypeEngine

from fanpulse.storage.types import UTCDateTime

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUERIES_DIR = Path(__file__).resolve().parent.parent / "config" / "queries"
FORMATS = ("table", "csv", "json")
# A date parameter's NAME_lookback is this many days earlier: unit_daily counts a Page's change
# against a previous snapshot at most 31 days old (migration 0007), so a period's figures need
# the snapshots from 31 days before its first day, none older.
LOOKBACK_DAYS = 31


class QueryError(Exception):
    """A query could not be run; the message says why in words an analyst understands."""


class QueryRefused(QueryError):
    """The text is not a single read-only statement, so it was not executed."""


class ParameterError(QueryError):
    """A named parameter is missing, unknown or malformed."""


class QueryTimeout(QueryError):
    """The statement ran longer than the time limit and was stopped in the database."""


class QueryStopped(QueryError):
    """The operator pressed Ctrl-C; the statement was stopped in the database."""


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows, values already plain (ISO strings for dates and times), and
    warnings for the operator (e.g. connected as a PostgreSQL superuser)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    warnings: list[str] = field(default_factory=list, compare=False)


# --- first line: read the statement ---------------------------------------------------------

# Statements may start with these words only.
READ_STARTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "PRAGMA", "SHOW"})
# Words that never appear in a read statement outside quotes. INTO catches PostgreSQL's
# ``SELECT ... INTO new_table``; REPLACE is allowed only as the function ``replace(...)``.
WRITE_WORDS = frozenset({
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "INTO", "DROP", "ALTER",
    "CREATE", "ATTACH", "DETACH", "VACUUM", "REINDEX", "TRUNCATE", "GRANT", "REVOKE", "COPY",
    "CALL", "ANALYZE", "CLUSTER", "REFRESH", "LOCK",
})
# PRAGMAs that take an argument and only read (SQLite); any other ``PRAGMA x(...)`` sets x.
READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
})
# PostgreSQL functions that act beyond reading the store: signal or read the server, its files
# or other databases, change settings, sequences or large objects, take locks, run SQL given
# as text. Names are compared in lower case; a name that starts with a prefix is refused too.
PG_REFUSED_FUNCTIONS = frozenset({
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_logfile_rotate", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
    "pg_ls_logdir", "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir",
    "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync", "set_config",
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "nextval", "setval", "pg_notify",
    "pg_switch_wal", "pg_create_restore_point", "pg_promote", "pg_backup_start",
    "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_drop_replication_slot",
    "pg_logical_emit_message", "pg_log_backend_memory_contexts", "pg_import_system_collations",
    "pg_wal_replay_pause", "pg_wal_replay_resume", "lowrite", "query_to_xml",
    "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
    "ts_stat", "txid_current", "pg_current_xact_id",
})
PG_REFUSED_PREFIXES = ("dblink", "pg_advisory", "pg_try_advisory", "lo_", "pg_stat_reset",
                       "pg_create_", "pg_copy_", "pg_replication_origin_",
                       "pg_replication_slot_advance")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_BIND = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass
class _Token:
    kind: str  # word, punct, bind, string, quoted, comment, space
    text: str


def _scan(sql: str, dialect: str) -> Iterator[_Token]:
    """Split SQL into tokens, knowing each dialect's quoting (so quoted text is never code).

    SQLite quotes names with "", `` and [] and has no backslash escapes; PostgreSQL has
    E'...' strings with backslash escapes and $tag$...$tag$ strings, and [] are subscripts.
    Block comments are taken as non-nesting: where PostgreSQL nests them, more text is read as
    code here than there, so the check can only refuse more, never less.
    """
    i, n = 0, len(sql)
    pg = dialect == "postgresql"

    def until(closer: str, start: int, doubled: bool, backslash: bool = False) -> int:
        j = start
        while j < n:
            ch = sql[j]
            if backslash and ch == "\\":
                j += 2
                continue
            if sql.startswith(closer, j):
                if doubled and sql.startswith(closer, j + len(closer)):
                    j += 2 * len(closer)
                    continue
                return j + len(closer)
            j += 1
        raise QueryRefused("the statement has an unclosed quote or comment")

    while i < n:
        ch = sql[i]
        if ch.isspace():
            j = i
            while j < n and sql[j].isspace():
                j += 1
            yield _Token("space", sql[i:j])
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            yield _Token("comment", sql[i:j])
        elif sql.startswith("/*", i):
            j = until("*/", i + 2, doubled=False)
            yield _Token("comment", sql[i:j])
        elif ch == "'":
            j = until("'", i + 1, doubled=True)
            yield _Token("string", sql[i:j])
        elif pg and ch in "eE" and sql.startswith("'", i + 1):
            j = until("'", i + 2, doubled=True, backslash=True)
            yield _Token("string", sql[i:j])
        elif pg and ch == "$" and (m := _DOLLAR_TAG.match(sql, i)):
            j = until(m.group(0), m.end(), doubled=False)
            yield _Token("string", sql[i:j])
        elif ch == '"':
            j = until('"', i + 1, doubled=True)
            yield _Token("quoted", sql[i:j])
        elif not pg and ch == "`":
            j = until("`", i + 1, doubled=True)
            yield _Token("quoted", sql[i:j])
        elif not pg and ch == "[":
            j = until("]", i + 1, doubled=False)
            yield _Token("quoted", sql[i:j])
        elif (m := _WORD.match(sql, i)) is not None:
            j = m.end()
            yield _Token("word", sql[i:j])
        elif ch == ":" and (m := _BIND.match(sql, i)) is not None and (
            i == 0 or sql[i - 1] != ":"
        ):
            j = m.end()
            yield _Token("bind", m.group(1))
        else:
            j = i + 1
            yield _Token("punct", ch)
        i = j


def _statement(sql: str, dialect: str) -> list[_Token]:
    """The tokens of the one statement in ``sql``; refuses several statements."""
    tokens = list(_scan(sql, dialect))
    code = [t for t in tokens if t.kind not in ("space", "comment")]
    while code and code[-1].text == ";":
        code.pop()
    if any(t.kind == "punct" and t.text == ";" for t in code):
        raise QueryRefused("several statements: `fanpulse query` runs one read-only statement")
    if not code:
        raise QueryRefused("the text holds no SQL statement")
    return code


def check_read_only(sql: str, dialect: str = "sqlite") -> None:
    """Refuse (:class:`QueryRefused`) anything but one read-only statement, before it runs."""
    code = _statement(sql, dialect)
    first = code[0].text.upper() if code[0].kind == "word" else code[0].text
    if first == "(":  # a parenthesised SELECT
        first = next((t.text.upper() for t in code if t.kind == "word"), "")
    if first not in READ_STARTS:
        raise QueryRefused(f"{first} is not a read statement; the store is read-only here "
                           "(SELECT, WITH, VALUES, EXPLAIN, PRAGMA without a value)")
    if first == "PRAGMA":
        _check_pragma(code)
    for k, token in enumerate(code):
        word = token.text.upper() if token.kind == "word" else ""
        if word not in WRITE_WORDS:
            continue
        after = code[k + 1].text if k + 1 < len(code) else ""
        if word == "REPLACE" and after == "(":
            continue  # the string function replace(x, a, b)
        if word == "ANALYZE" and first == "EXPLAIN":
            continue  # EXPLAIN ANALYZE of a read statement (PostgreSQL)
        raise QueryRefused(f"{word} changes the store; `fanpulse query` only reads")
    if dialect == "postgresql":
        _check_functions(code)


def _check_functions(code: Sequence[_Token]) -> None:
    """Refuse a call of a PostgreSQL function that acts beyond reading (a name before "(",
    schema-qualified or quoted alike)."""
    for k, token in enumerate(code[:-1]):
        if code[k + 1].text != "(" or token.kind not in ("word", "quoted"):
            continue
        name = (token.text[1:-1].replace('""', '"') if token.kind == "quoted"
                else token.text).lower()
        if name in PG_REFUSED_FUNCTIONS or name.startswith(PG_REFUSED_PREFIXES):
            raise QueryRefused(f"{name}() acts beyond reading the store (the server, its files, "
                               "settings, sequences or locks); `fanpulse query` only reads")


def _check_pragma(code: Sequence[_Token]) -> None:
    if any(t.text == "=" for t in code):
        raise QueryRefused("a PRAGMA with a value changes the store; ask for it without one")
    # PRAGMA [schema.]name[(argument)]
    at = 3 if len(code) > 3 and code[2].text == "." else 1
    name = code[at].text.lower() if len(code) > at else ""
    if any(t.text == "(" for t in code) and name not in READ_PRAGMAS:
        raise QueryRefused(f"PRAGMA {name}(...) sets a value; only reading PRAGMAs are allowed")


def bind_names(sql: str, dialect: str = "sqlite") -> list[str]:
    """The ``:name`` parameters of a statement, in order of first use."""
    names: list[str] = []
    for token in _scan(sql, dialect):
        if token.kind == "bind" and token.text not in names:
            names.append(token.text)
    return names


def _for_sqlalchemy(sql: str, dialect: str) -> str:
    """The statement as SQLAlchemy's text() should see it: comments dropped, and colons inside
    quotes escaped so that ':30' in a string or a name is never taken for a parameter."""
    parts = []
    for token in _scan(sql, dialect):
        if token.kind == "comment":
            parts.append(" ")
        elif token.kind == "bind":
            # A space keeps PostgreSQL's ":d::date" readable to SQLAlchemy as the bind :d.
            parts.append(f":{token.text} ")
        elif token.kind in ("string", "quoted"):
            parts.append(token.text.replace(":", "\\:"))
        else:
            parts.append(token.text)
    return "".join(parts).strip().rstrip(";").strip()


# --- second line: a connection that cannot write --------------------------------------------

def dialect_of(url: str) -> str:
    try:
        return make_url(url).get_backend_name()
    except ArgumentError:
        raise QueryError(f"{url!r} is not a SQLAlchemy database URL") from None


def read_only_engine(url: str) -> Engine:
    """An engine whose connections cannot change the store."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise QueryError("an in-memory SQLite store has nothing to query")
        if database.startswith("file:"):
            raise QueryError("give the SQLite store as sqlite:///path/to/file.db")
        path = Path(database).expanduser().resolve()
        if not path.is_file():
            raise QueryError(f"no SQLite store at {path}")
        # mode=ro: the file is opened read-only by SQLite itself, whatever the SQL says. The
        # URI comes from pathlib so that spaces or '#' in the path are escaped properly.
        uri = f"{path.as_uri()}?mode=ro"
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
        )
        event.listen(engine, "connect", _sqlite_read_only)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Every transaction of these sessions is READ ONLY; each query also starts its
        # transaction with SET TRANSACTION READ ONLY (see execute_read_only). JIT is off: the
        # recursive unit views make PostgreSQL overestimate row counts, and compiling then takes
        # longer than the query itself. DateStyle ISO: a date cast to text reads YYYY-MM-DD,
        # as on SQLite, whatever the server's default (unit_rollup counts days from that text).
        options = parsed.query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        settings = "-c default_transaction_read_only=on -c jit=off -c DateStyle=ISO"
        parsed = parsed.update_query_dict({"options": f"{options} {settings}".strip()})
        if "application_name" not in parsed.query:  # how a DBA finds it in pg_stat_activity
            parsed = parsed.update_query_dict({"application_name": "fanpulse query"})
        return create_engine(parsed, pool_pre_ping=True)
    raise QueryError(f"fanpulse query supports SQLite and PostgreSQL stores, not {backend}")


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=15000")  # wait for the collector's commit, not fail
    # Analyst queries read widely: a 64 MB page cache and in-memory sorting (SQLite's defaults
    # are 2 MB and temporary files). Neither writes to the store.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA query_only=ON")  # belt and braces next to mode=ro
    cursor.close()
    # SQLite's lower() folds ASCII only; Vietnamese text needs Unicode case folding, as
    # PostgreSQL's lower() does, so that text matches give the same rows on both.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def execute_read_only(url: str, sql: str, params: Mapping[str, Any] | None = None,
                      types: Mapping[str, TypeEngine[Any]] | None = None,
                      timeout: float | None = None) -> QueryResult:
    """Run one statement on a read-only connection and return plain rows.

    ``timeout`` (seconds; None or 0: no limit) stops the statement in the database, as Ctrl-C
    does (:class:`QueryTimeout`, :class:`QueryStopped`). This is the second line of defence
    alone: it does not check the text (run_query does).
    """
    dialect = dialect_of(url)
    statement = text(_for_sqlalchemy(sql, dialect))
    wanted = set(bind_names(sql, dialect))
    given = dict(params or {})
    missing = sorted(wanted - set(given))
    if missing:
        raise ParameterError("missing parameter " + ", ".join(
            f":{name} (give it as --param {name}=VALUE)" for name in missing))
    typed = [bindparam(name, type_=type_) for name, type_ in (types or {}).items()
             if name in wanted]
    if typed:
        statement = statement.bindparams(*typed)
    limit = timeout if timeout and timeout > 0 else None
    engine = read_only_engine(url)
    stop = _Stop(limit)
    try:
        with engine.connect() as conn:
            warnings: list[str] = []
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                if limit is not None:  # SET LOCAL: for this transaction only
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(limit * 1000)}")
                warnings += _superuser_warning(conn)
            with _sqlite_guard(conn, stop), _operator_stop(stop, dialect):
                result = conn.execute(statement, {k: v for k, v in given.items() if k in wanted})
                columns = list(result.keys())
                rows = [tuple(plain(value) for value in row) for row in result]
            conn.rollback()
    except KeyboardInterrupt:  # PostgreSQL: psycopg has sent the server a cancel request
        raise QueryStopped("stopped by the operator; the statement was cancelled") from None
    except DBAPIError as exc:
        raise _stopped(stop, exc) or QueryError(_db_message(exc)) from None
    except StatementError as exc:
        raise QueryError(str(exc.orig or exc).splitlines()[0]) from None
    finally:
        engine.dispose()
    if stop.operator:  # Ctrl-C came after the last row: the operator still wanted to stop
        raise QueryStopped("stopped by the operator")
    return QueryResult(columns, rows, warnings)


class _Stop:
    """Why a running statement must stop: the operator's Ctrl-C, or the time limit."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.deadline = time.monotonic() + limit if limit is not None else None
        self.operator = False

    def due(self) -> bool:
        return self.operator or (self.deadline is not None and time.monotonic() > self.deadline)


# SQLite calls the progress handler every this many virtual-machine instructions: often enough
# to stop within milliseconds, rarely enough to cost nothing measurable.
_PROGRESS_STEPS = 20_000


@contextmanager
def _sqlite_guard(conn: Any, stop: _Stop) -> Iterator[None]:
    """On SQLite, interrupt the statement from its progress handler when ``stop`` is due."""
    if conn.dialect.name != "sqlite":
        yield
        return
    dbapi = conn.connection.driver_connection
    dbapi.set_progress_handler(lambda: 1 if stop.due() else 0, _PROGRESS_STEPS)
    try:
        yield
    finally:
        dbapi.set_progress_handler(None, _PROGRESS_STEPS)


@contextmanager
def _operator_stop(stop: _Stop, dialect: str) -> Iterator[None]:
    """Ctrl-C while a SQLite statement runs marks ``stop`` (its progress handler then ends the
    statement). Python's own KeyboardInterrupt would be swallowed inside that handler. On
    PostgreSQL the default handler stays: psycopg turns the KeyboardInterrupt into a cancel
    request to the server. Signals can only be handled in the main thread, and a process
    started with Ctrl-C ignored (a background job) keeps ignoring it."""
    if (dialect != "sqlite" or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        yield
        return

    def on_sigint(_signum: int, _frame: Any) -> None:
        stop.operator = True

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stopped(stop: _Stop, exc: DBAPIError) -> QueryError | None:
    """The error to raise when ``exc`` is the database stopping the statement, else None."""
    orig = exc.orig
    sqlite_stop = isinstance(orig, sqlite3.OperationalError) and "interrupted" in str(orig)
    pg_stop = type(orig).__name__ == "QueryCanceled"
    if not (sqlite_stop or pg_stop):
        return None
    if stop.operator:
        return QueryStopped("stopped by the operator; the statement was cancelled")
    seconds = f"{stop.limit:g}" if stop.limit is not None else "?"
    return QueryTimeout(f"the statement ran longer than {seconds} s and was stopped "
                        "(query_timeout_seconds; --timeout SECONDS for one query, 0: no limit)")


def _superuser_warning(conn: Any) -> list[str]:
    """A warning when this PostgreSQL session may do anything: then only fanpulse's checks
    and the READ ONLY transaction stand between the SQL and the server."""
    role, is_super = conn.exec_driver_sql(
        "SELECT current_user, current_setting('is_superuser')").one()
    if is_super != "on":
        return []
    return [f"fanpulse query is connected as the PostgreSQL superuser '{role}': only its checks "
            "and a READ ONLY transaction keep this SQL from changing the server. Give analysts "
            "a role that can only read: fanpulse db create-reader NAME (README: a read-only "
            "role for analysts)."]


def _db_message(exc: DBAPIError) -> str:
    message = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return f"the store is open read-only, so this was refused: {message}"
    return f"the database said: {message}"


def run_query(url: str, sql: str, params: Mapping[str, str] | None = None,
              timeout: float | None = None) -> QueryResult:
    """Check that ``sql`` only reads, then run it read-only with ``params`` bound as text,
    stopped after ``timeout`` seconds."""
    dialect = dialect_of(url)
    check_read_only(sql, dialect)
    params = params or {}
    unused = sorted(set(params) - set(bind_names(sql, dialect)))
    if unused:
        raise ParameterError("the statement has no parameter " + ", ".join(
            f":{name}" for name in unused))
    return execute_read_only(url, sql, params, timeout=timeout)


# --- values ---------------------------------------------------------------------------------

# How SQLAlchemy writes a UTCDateTime into SQLite: naive UTC text with six fraction digits.
# SQLite's own date functions never produce this shape, so it marks a stored timestamp.
_SQLITE_STORED_UTC = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


def plain(value: Any) -> Any:
    """One value as the output shows it, the same on SQLite and PostgreSQL.

    Stored timestamps become ISO 8601 in UTC (``2026-11-18T02:30:00+00:00``), dates
    ``YYYY-MM-DD``, whole PostgreSQL numerics ints.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and _SQLITE_STORED_UTC.match(value):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


# --- saved queries --------------------------------------------------------------------------

PARAM_KINDS = ("text", "int", "date", "month", "unit")
_PARAM_LINE = re.compile(
    r"^@param\s+(?P<name>[A-Za-z_]\w*)\s+(?P<kind>\w+)(?:=(?P<default>\S*))?\s*(?P<help>.*)$"
)
_RELATIVE_DAY = re.compile(r"^today(?:(?P<sign>[+-])(?P<n>\d+))?$")


@dataclass(frozen=True)
class ParamSpec:
    """A declared parameter: ``-- @param name kind[=default] help``."""

    name: str
    kind: str
    default: str | None
    help: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    path: Path
    summary: str
    description: str
    params: list[ParamSpec] = field(default_factory=list)
    sql: str = ""


def parse_saved_query(path: Path) -> SavedQuery:
    """Read a saved query: its leading ``--`` comment is the description and parameters.

    The first comment line is the summary; ``@param`` lines declare parameters; the other
    lines are the description. A parameter without ``=default`` must be given.
    """
    content = path.read_text(encoding="utf-8")
    header: list[str] = []
    for line in content.splitlines():
        stripped = line.strip()
        if stripped.startswith("--"):
            header.append(stripped[2:].strip())
        elif stripped:
            break
    params, text_lines = [], []
    for line in header:
        if line.startswith("@param"):
            m = _PARAM_LINE.match(line)
            if m is None or m.group("kind") not in PARAM_KINDS:
                raise QueryError(f"{path.name}: cannot read {line!r} "
                                 f"(write: @param NAME {'|'.join(PARAM_KINDS)}[=DEFAULT] help)")
            params.append(ParamSpec(m.group("name"), m.group("kind"), m.group("default"),
                                    m.group("help")))
        else:
            text_lines.append(line)
    while text_lines and not text_lines[-1]:
        text_lines.pop()
    summary = text_lines[0] if text_lines else path.stem
    description = "\n".join(text_lines[1:]).strip()
    return SavedQuery(path.stem, path, summary, description, params, content)


def load_saved_queries(folder: Path = QUERIES_DIR) -> dict[str, SavedQuery]:
    """Every ``*.sql`` file of the folder, by name (the file name without .sql)."""
    return {path.stem: parse_saved_query(path) for path in sorted(folder.glob("*.sql"))}


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def parse_day(value: str, today: dt.date) -> dt.date:
    """``YYYY-MM-DD``, ``today``, ``today-N`` or ``today+N`` (local days)."""
    m = _RELATIVE_DAY.match(value.strip().lower())
    if m:
        offset = int(m.group("n") or 0) * (-1 if m.group("sign") == "-" else 1)
        return today + dt.timedelta(days=offset)
    return dt.date.fromisoformat(value.strip())


def _month_start(day: dt.date, months: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), LOCAL_TZ).astimezone(dt.UTC)


def bind_saved_params(query: SavedQuery, given: Mapping[str, str],
                      today: dt.date | None = None,
                      ) -> tuple[dict[str, Any], dict[str, TypeEngine[Any]]]:
    """Values and SQL types for a saved query's parameters, derived ones included.

    ``date`` parameter ``p``: ``:p`` (the local day), ``:p_start`` and ``:p_end`` (the UTC
    instants where that day starts and where the next one starts). ``month`` parameter ``p``:
    ``:p`` (its first day), ``:p_prev`` and ``:p_next`` (first days of the months around it).
    """
    today = today or local_today()
    declared = {spec.name: spec for spec in query.params}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise ParameterError(f"{query.name} has no parameter {', '.join(unknown)} "
                             f"(its parameters: {known})")
    values: dict[str, Any] = {}
    types: dict[str, TypeEngine[Any]] = {}
    for name, spec in declared.items():
        raw = given.get(name, spec.default)
        if raw is None:
            raise ParameterError(f"{query.name} needs --param {name}=VALUE ({spec.help})")
        try:
            if spec.kind == "int":
                values[name], types[name] = int(raw), Integer()
            elif spec.kind == "date":
                day = parse_day(raw, today)
                values[name], types[name] = day, Date()
                for suffix, instant in (("start", _day_start_utc(day)),
                                        ("end", _day_start_utc(day + dt.timedelta(days=1)))):
                    values[f"{name}_{suffix}"] = instant
                    types[f"{name}_{suffix}"] = UTCDateTime()
                # The oldest previous snapshot unit_daily counts a change against (31 days).
                values[f"{name}_lookback"] = day - dt.timedelta(days=LOOKBACK_DAYS)
                types[f"{name}_lookback"] = Date()
            elif spec.kind == "month":
                first = (_month_start(parse_day(raw, today)) if _RELATIVE_DAY.match(raw)
                         else dt.date.fromisoformat(f"{raw.strip()}-01"))
                for suffix, months in (("", 0), ("_prev", -1), ("_next", 1)):
                    values[f"{name}{suffix}"] = _month_start(first, months)
                    types[f"{name}{suffix}"] = Date()
            else:  # text, and unit (a code, checked against the store by run_saved)
                values[name], types[name] = raw, String()
        except ValueError:
            example = {"int": "30", "date": "2026-11-18 or today-7",
                       "month": "2026-11"}.get(spec.kind, "")
            raise ParameterError(
                f"{query.name}: {name}={raw!r} is not a valid {spec.kind} (e.g. {example})"
            ) from None
    return values, types


def run_saved(url: str, query: SavedQuery, params: Mapping[str, str] | None = None,
              today: dt.date | None = None, timeout: float | None = None) -> QueryResult:
    """Run a saved query with its declared parameters (checked like any ad-hoc query).

    A ``unit`` parameter must name a unit of the store: an unknown code is refused with
    :class:`ParameterError` rather than answered with no rows, which reads like "no data".
    """
    check_read_only(query.sql, dialect_of(url))
    values, types = bind_saved_params(query, params or {}, today)
    for spec in query.params:
        if spec.kind == "unit":
            _check_unit(url, query.name, spec.name, str(values[spec.name]), timeout)
    return execute_read_only(url, query.sql, values, types, timeout=timeout)


def _check_unit(url: str, query: str, name: str, code: str, timeout: float | None) -> None:
    found = execute_read_only(url, "SELECT name FROM units WHERE code = :code", {"code": code},
                              timeout=timeout)
    if not found.rows:
        raise ParameterError(f"{query}: {name}={code!r} is no unit of the store "
                             "(`fanpulse units list --all` shows the codes)")


def parse_param_options(options: Sequence[str]) -> dict[str, str]:
    """``["month=2026-11", ...]`` as a dict; refuses a malformed or repeated one."""
    params: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ParameterError(f"--param {option!r}: write NAME=VALUE, e.g. month=2026-11")
        if name in params:
            raise ParameterError(f"--param {name} is given twice")
        params[name] = value
    return params


# --- output ---------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Control characters a terminal would obey (ESC[31m colours, ESC]... titles, a CR that
# overwrites the line, C1 codes such as the one-byte CSI) and the marks that reverse the order of
# the text around them.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def escape_controls(value: str) -> str:
    """``value`` with every control character written as an escape (``\\x1b``, ``\\u202e``),
    so that text from the store is shown on a terminal, never obeyed by it."""
    if value.isprintable():
        return value
    out = []
    for ch in value:
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            code = ord(ch)
            out.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}.get(ch)
                       or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"))
        else:
            out.append(ch)
    return "".join(out)


def write_table(result: QueryResult, out: TextIO, max_width: int = 60) -> None:
    """Aligned columns for a terminal; numbers right-aligned, long text cut with an ellipsis,
    control characters escaped (a cell may hold ESC sequences from a Page's post)."""
    def clip(value: str) -> str:
        value = escape_controls(value.replace("\n", " "))
        return value if len(value) <= max_width else value[: max_width - 1] + "…"

    cells = [[clip(_cell(v)) for v in row] for row in result.rows]
    columns = [escape_controls(c) for c in result.columns]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [all(isinstance(r[i], int | float) and not isinstance(r[i], bool)
                   for r in result.rows if r[i] is not None) and bool(result.rows)
               for i in range(len(result.columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out.write(line(columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    count = len(result.rows)
    out.write(f"({count} row{'' if count == 1 else 's'})\n")


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...),
# =cmd|..., +, -, @ and a leading tab or CR on some of them): "CSV injection".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One CSV cell. Text that a spreadsheet would run as a formula gets a leading ``'``
    (shown as text, the way Excel and LibreOffice mark it); numbers stay numbers, -5 included,
    since only text can carry a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return _cell(value)


def write_csv(result: QueryResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in result.columns])
    for row in result.rows:
        writer.writerow([csv_cell(v) for v in row])


def write_json(result: QueryResult, out: TextIO) -> None:
    """A JSON array of objects, one per row, Vietnamese kept as is (not \\u escapes)."""
    records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    json.dump(records, out, ensure_ascii=False, indent=2)
    out.write("\n")


def render(result: QueryResult, fmt: str) -> str:
    """The result as text in one of FORMATS."""
    buffer = io.StringIO()
    {"table": write_table, "csv": write_csv, "json": write_json}[fmt](result, buffer)
    return buffer.getvalue()
