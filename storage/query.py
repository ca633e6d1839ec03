"""Read-only SQL against the store: ad-hoc queries and the saved queries of config/queries.

Two lines of defence keep an analyst from changing the store by accident:

1. :func:`check_read_only` reads the statement before anything runs (comments, string literals
   and quoted names are skipped, per dialect) and refuses, with :class:`QueryRefused`, anything
   that is not one read statement: several statements, INSERT/UPDATE/DELETE/MERGE, DDL, ATTACH,
   VACUUM, REINDEX, COPY, ``SELECT ... INTO``, a PRAGMA that sets a value, and so on.
2. :func:`execute_read_only` runs the statement on a connection that cannot write: SQLite
   opened with ``mode=ro`` (plus ``PRAGMA query_only``), PostgreSQL in a session whose every
   transaction is READ ONLY. Whatever the first line misses, the database refuses.

Errors (callers catch the parent)::

    QueryError              the query could not be run; the message says why
    ├── QueryRefused        not a single read-only statement (nothing was executed)
    └── ParameterError      a parameter is missing, unknown or malformed

Saved queries are ``.sql`` files whose leading comment describes them; ``@param`` lines in it
declare the named parameters (see :func:`parse_saved_query` and docs/schema.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, bindparam, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, StatementError
from sqlalchemy.types import TypeEngine

from storage.models import UTCDateTime

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUERIES_DIR = Path(__file__).resolve().parent.parent / "config" / "queries"
FORMATS = ("table", "csv", "json")


class QueryError(Exception):
    """A query could not be run; the message says why in words an analyst understands."""


class QueryRefused(QueryError):
    """The text is not a single read-only statement, so it was not executed."""


class ParameterError(QueryError):
    """A named parameter is missing, unknown or malformed."""


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows, values already plain (ISO strings for dates and times)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


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
        # longer than the query itself.
        options = parsed.query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        parsed = parsed.update_query_dict(
            {"options": f"{options} -c default_transaction_read_only=on -c jit=off".strip()}
        )
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
                      types: Mapping[str, TypeEngine[Any]] | None = None) -> QueryResult:
    """Run one statement on a read-only connection and return plain rows.

    This is the second line of defence alone: it does not check the text (run_query does).
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
    engine = read_only_engine(url)
    try:
        with engine.connect() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            result = conn.execute(statement, {k: v for k, v in given.items() if k in wanted})
            columns = list(result.keys())
            rows = [tuple(plain(value) for value in row) for row in result]
            conn.rollback()
    except DBAPIError as exc:
        raise QueryError(_db_message(exc)) from None
    except StatementError as exc:
        raise QueryError(str(exc.orig or exc).splitlines()[0]) from None
    finally:
        engine.dispose()
    return QueryResult(columns, rows)


def _db_message(exc: DBAPIError) -> str:
    message = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return f"the store is open read-only, so this was refused: {message}"
    return f"the database said: {message}"


def run_query(url: str, sql: str, params: Mapping[str, str] | None = None) -> QueryResult:
    """Check that ``sql`` only reads, then run it read-only with ``params`` bound as text."""
    dialect = dialect_of(url)
    check_read_only(sql, dialect)
    params = params or {}
    unused = sorted(set(params) - set(bind_names(sql, dialect)))
    if unused:
        raise ParameterError("the statement has no parameter " + ", ".join(
            f":{name}" for name in unused))
    return execute_read_only(url, sql, params)


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

PARAM_KINDS = ("text", "int", "date", "month")
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
            elif spec.kind == "month":
                first = (_month_start(parse_day(raw, today)) if _RELATIVE_DAY.match(raw)
                         else dt.date.fromisoformat(f"{raw.strip()}-01"))
                for suffix, months in (("", 0), ("_prev", -1), ("_next", 1)):
                    values[f"{name}{suffix}"] = _month_start(first, months)
                    types[f"{name}{suffix}"] = Date()
            else:
                values[name], types[name] = raw, String()
        except ValueError:
            example = {"int": "30", "date": "2026-11-18 or today-7",
                       "month": "2026-11"}.get(spec.kind, "")
            raise ParameterError(
                f"{query.name}: {name}={raw!r} is not a valid {spec.kind} (e.g. {example})"
            ) from None
    return values, types


def run_saved(url: str, query: SavedQuery, params: Mapping[str, str] | None = None,
              today: dt.date | None = None) -> QueryResult:
    """Run a saved query with its declared parameters (checked like any ad-hoc query)."""
    check_read_only(query.sql, dialect_of(url))
    values, types = bind_saved_params(query, params or {}, today)
    return execute_read_only(url, query.sql, values, types)


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


def write_table(result: QueryResult, out: TextIO, max_width: int = 60) -> None:
    """Aligned columns for a terminal; numbers right-aligned, long text cut with an ellipsis."""
    def clip(value: str) -> str:
        value = value.replace("\n", " ")
        return value if len(value) <= max_width else value[: max_width - 1] + "…"

    cells = [[clip(_cell(v)) for v in row] for row in result.rows]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [all(isinstance(r[i], int | float) and not isinstance(r[i], bool)
                   for r in result.rows if r[i] is not None) and bool(result.rows)
               for i in range(len(result.columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out.write(line(result.columns) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    count = len(result.rows)
    out.write(f"({count} row{'' if count == 1 else 's'})\n")


def write_csv(result: QueryResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_cell(v) for v in row])


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
