"""Idempotent writes of collected data: upserts on natural keys (style.md 12).

Each function takes a session or connection; the caller decides the transaction (one per group
of Pages, or one per Page), so a killed run leaves every Page either fully written for that
night or untouched. The ``*_group`` functions write many Pages' rows with one statement per
table (collector/persist.py); the others, one Page's, stay for their other callers.

Values from Facebook go through :func:`storable_text` / :func:`storable_row` first: no database
stores a NUL character (PostgreSQL refuses it in text) or a lone UTF-16 surrogate (it has no
UTF-8 form, and both stores keep UTF-8), so those are written as ``\\uXXXX`` escapes that
:func:`recover_text` undoes (the scheme is in docs/schema.md, "Conventions").
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, Table, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fanpulse.storage.models import (
    Page,
    PageInsight,
    PageSnapshot,
    Post,
    PostInsight,
    PostSnapshot,
)

# Characters no database stores: NUL, and UTF-16 surrogates (JSON's "\ud83d" without its pair).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A backslash the text already has where an escape would read: escaped itself (as \u005c), so
# that every \uXXXX in a stored value is an escape and the original comes back exactly.
_READS_AS_ESCAPE = re.compile(r"\\(?=u[0-9a-fA-F]{4})")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# The range of BIGINT, the type of every count column.
_BIGINT = (-(2**63), 2**63 - 1)


def storable_text(text: str) -> tuple[str, bool]:
    """``text`` as every store keeps it, and whether it held characters none can store.

    NUL and lone surrogates become ``\\u0000`` / ``\\udXXX`` (six characters, lowercase hex);
    a backslash already followed by ``u`` and four hex digits becomes ``\\u005c``. Any other
    text, emoji and right-to-left scripts included, is returned unchanged."""
    if "\\" in text:
        text = _READS_AS_ESCAPE.sub(r"\\u005c", text)
    escaped, found = _UNSTORABLE.subn(lambda m: f"\\u{ord(m.group()):04x}", text)
    return escaped, found > 0


def recover_text(stored: str) -> str:
    """The text Facebook sent, from a value :func:`storable_text` wrote."""
    if "\\u" not in stored:
        return stored
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), stored)


def storable_value(value: Any) -> tuple[Any, bool]:
    """:func:`storable_text` for a text, and for every text inside a JSON value (keys too);
    other values unchanged. The flag says whether anything had to be escaped."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict | list):
        return _storable_json(value)
    return value, False


def _storable_json(value: Any) -> tuple[Any, bool]:
    """A JSON value made storable. NaN and infinities (Python's json reads them, JSON has
    them not, PostgreSQL refuses them) become null: a breakdown with an unknown part."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None, False
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        escaped = False
        for key, item in value.items():
            new_key, key_escaped = _storable_json(key)
            out[new_key], item_escaped = _storable_json(item)
            escaped = escaped or key_escaped or item_escaped
        return out, escaped
    if isinstance(value, list):
        pairs = [_storable_json(item) for item in value]
        return [item for item, _ in pairs], any(flag for _, flag in pairs)
    return value, False


def storable_row(row: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A row with every value storable, and how many of its values had to be escaped."""
    out: dict[str, Any] = {}
    escaped = 0
    for column, value in row.items():
        # Most values are numbers, times or texts with nothing to escape: kept as they are
        # without a call (this runs for every row a night writes).
        if isinstance(value, str):
            if "\\" in value or _UNSTORABLE.search(value) is not None:
                value, flag = storable_text(value)
                escaped += flag
        elif isinstance(value, dict | list):
            value, flag = _storable_json(value)
            escaped += flag
        out[column] = value
    return out, escaped


def storable_count(value: Any) -> int | None:
    """A count from Facebook as a BIGINT column keeps it; None (unknown, never a guess of 0)
    for what is not a finite number in BIGINT's range (a text, a bool, NaN, 1e400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    return value if _BIGINT[0] <= value <= _BIGINT[1] else None


_STATEMENTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def upsert(session: Session | Connection, table: Table, rows: Sequence[dict[str, Any]],
           keys: Sequence[str], update_columns: Sequence[str] | None = None) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    statement = _cached_upsert(_dialect(session), table, keys, rows[0], update_columns)
    # One statement shape for any number of rows, run as executemany: compiled once, cached.
    session.execute(statement, list(rows))


def _dialect(session: Session | Connection) -> str:
    if isinstance(session, Connection):
        return session.dialect.name
    return session.get_bind().dialect.name


def _cached_upsert(dialect: str, table: Table, keys: Sequence[str], first: Mapping[str, Any],
                   update_columns: Sequence[str] | None) -> Any:
    columns = tuple(update_columns if update_columns is not None else [
        c for c in first if c not in keys and c != "id"])
    cache_key = (dialect, table.name, tuple(keys), columns)
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        statement = _upsert_statement(dialect, table, keys, columns)
        _STATEMENTS[cache_key] = statement
    return statement


def dialect_insert(dialect: str, table: Table) -> Any:
    """The INSERT of the store's dialect, which has ON CONFLICT (upserts)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upsert on {dialect}")  # pragma: no cover - two stores only


def _upsert_statement(dialect: str, table: Table, keys: Sequence[str],
                      columns: Sequence[str]) -> Any:
    insert = dialect_insert(dialect, table)
    if not columns:
        return insert.on_conflict_do_nothing(index_elements=list(keys))
    excluded = insert.excluded
    return insert.on_conflict_do_update(index_elements=list(keys),
                                        set_={c: excluded[c] for c in columns})


def page_node_values(node: dict[str, Any], graph_id: str | None) -> tuple[dict[str, Any], int]:
    """What the Page node says about itself as ``pages`` columns (name, username, link,
    published; its id when the store has none: ``graph_id``), and how many of those values
    had to be escaped to be stored."""
    texts: dict[str, str] = {}
    if node.get("id") and not graph_id:
        texts["graph_id"] = str(node["id"])
    for column in ("name", "username", "link"):
        if node.get(column):
            texts[column] = str(node[column])
    values, escaped = storable_row(texts)
    if "is_published" in node:
        values["is_published"] = bool(node["is_published"])
    return values, escaped


def save_page_node(session: Session, page: Page, node: dict[str, Any]) -> int:
    """Update what the Page node says about itself (name, username, link, published).
    Returns how many of those values had to be escaped to be stored."""
    values, escaped = page_node_values(node, page.graph_id)
    if values:
        session.execute(update(Page).where(Page.id == page.id).values(**values))
    return escaped


def save_page_snapshot(session: Session, page_id: int, day: dt.date, collected_at: dt.datetime,
                       counts: dict[str, Any], run_id: int | None) -> None:
    upsert(session, PageSnapshot.__table__, [{  # type: ignore[arg-type]
        "page_id": page_id, "day": day, "collected_at": collected_at,
        "fan_count": counts.get("fan_count"),
        "followers_count": counts.get("followers_count"),
        "talking_about_count": counts.get("talking_about_count"),
        "run_id": run_id, "source": "page",
    }], ["page_id", "day"])


def save_follower_history(session: Session, page_id: int, points: Sequence[tuple[dt.date,
                          dt.datetime, int]], run_id: int | None) -> None:
    """Past days' followers from the ``page_follows`` insight, as (day, end_time, value).

    Only fills days that have no snapshot: a reading of the Page node is never replaced."""
    upsert(session, PageSnapshot.__table__, [  # type: ignore[arg-type]
        {"page_id": page_id, "day": day, "collected_at": end_time, "fan_count": None,
         "followers_count": value, "talking_about_count": None, "run_id": run_id,
         "source": "insights"}
        for day, end_time, value in points], ["page_id", "day"], update_columns=())


def save_posts(session: Session, page_id: int, posts: Sequence[dict[str, Any]],
               now: dt.datetime) -> dict[str, int]:
    """Upsert posts (rows from ``collector.posts.post_row``); returns graph_id -> posts.id."""
    if not posts:
        return {}
    rows = [{**p, "page_id": page_id, "first_seen_at": now, "last_seen_at": now,
             "deleted_at": None} for p in posts]
    upsert(session, Post.__table__, rows, ["graph_id"],  # type: ignore[arg-type]
           list(_POST_UPDATES))
    ids = [p["graph_id"] for p in posts]
    found = session.execute(select(Post.graph_id, Post.id).where(Post.graph_id.in_(ids)))
    return {graph_id: post_id for graph_id, post_id in found}


def save_post_snapshots(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    upsert(session, PostSnapshot.__table__, rows, ["post_id", "day"])  # type: ignore[arg-type]


def save_page_insights(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    upsert(session, PageInsight.__table__, rows,  # type: ignore[arg-type]
           ["page_id", "metric", "period", "end_time"])


def save_post_insights(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    upsert(session, PostInsight.__table__, rows,  # type: ignore[arg-type]
           ["post_id", "metric", "period", "day"])


def mark_posts_deleted(session: Session, page_id: int, seen: set[str], since: dt.datetime,
                       until: dt.datetime, now: dt.datetime) -> int:
    """Posts in [since, until) that the listing no longer returns were deleted on Facebook.

    They keep their rows and snapshots; ``deleted_at`` says when we noticed."""
    candidates = session.scalars(
        select(Post).where(Post.page_id == page_id, Post.deleted_at.is_(None),
                           Post.created_time >= since, Post.created_time < until)
    ).all()
    gone = [p for p in candidates if p.graph_id not in seen]
    for post in gone:
        post.deleted_at = now
    return len(gone)


# --- writes for a group of Pages in one transaction (collector/persist.py) -------------------
#
# Statements on a Connection, built once per dialect and shape: each table gets one statement
# for the whole group instead of a few per Page (PostgreSQL: one INSERT .. SELECT FROM unnest
# of the rows' columns; SQLite: the driver's executemany; posts with RETURNING for their ids).
# Rows are given in the order the per-Page functions above would write them, and rows sharing
# a natural key are folded the way those writes would leave them (the last one wins an
# upsert, the first one wins an insert that never overwrites), so the store ends the same.


def last_per_key(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per natural key: the last given, where it first appeared (what a series of
    upserts leaves). A multi-row upsert on PostgreSQL refuses a key given twice."""
    key = itemgetter(*keys)  # natural keys are plain values (ids, texts, dates)
    found: dict[Any, dict[str, Any]] = {}
    for row in rows:
        found[key(row)] = row
    return list(found.values())


def first_per_key(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per natural key: the first given (what a series of DO NOTHING inserts keeps)."""
    key = itemgetter(*keys)
    found: dict[Any, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(key(row), row)
    return list(found.values())


def upsert_group(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                 keys: Sequence[str], update_columns: Sequence[str] | None = None) -> None:
    """:func:`upsert` for the rows of many Pages: one executemany of one cached statement.
    Rows sharing a key are folded first (last wins; first wins when nothing is updated)."""
    if not rows:
        return
    folded = (first_per_key(rows, keys) if update_columns is not None and not update_columns
              else last_per_key(rows, keys))
    if conn.dialect.name == "postgresql" and _same_columns(folded):
        _unnest_upsert(conn, table, folded, keys, update_columns)
        return
    if conn.dialect.name == "sqlite" and _same_columns(folded):
        _sqlite_upsert(conn, table, folded, keys, update_columns)
        return
    upsert(conn, table, folded, keys, update_columns)


def _same_columns(rows: Sequence[Mapping[str, Any]]) -> bool:
    first = rows[0].keys()
    return all(row.keys() == first for row in rows)


# PostgreSQL: the rows of a group go as one array per column (in binary: psycopg then need
# not quote each text), unnested into one INSERT, so the server plans and runs one statement
# per table (not one per row) and the statement text stays small whatever the number of rows
# (psycopg parses a statement's text on the client).
_UNNEST: dict[tuple[Any, ...], tuple[str, list[str], list[Any]]] = {}


def _unnest_statement(conn: Connection, table: Table, columns: Sequence[str],
                      keys: Sequence[str], update_columns: Sequence[str] | None,
                      returning: Sequence[str]) -> tuple[str, list[str], list[Any]]:
    """(SQL, parameter names, the columns' bind processors), built once per shape."""
    shape = (table.name, tuple(columns), tuple(keys),
             None if update_columns is None else tuple(update_columns), tuple(returning))
    found = _UNNEST.get(shape)
    if found is not None:
        return found
    dialect = conn.dialect
    arrays, picks, names, processors = [], [], [], []
    for i, name in enumerate(columns):
        column = table.c[name]
        is_json = isinstance(column.type, JSON)
        kind = "TEXT" if is_json else column.type.compile(dialect=dialect)
        names.append(f"c{i}")
        arrays.append(f"%(c{i})b::{kind}[]")
        picks.append(f'u."{name}"::JSON' if is_json else f'u."{name}"')
        processors.append(_json_processor(dialect, column.type) if is_json
                          else column.type.dialect_impl(dialect).bind_processor(dialect))
    quoted = ", ".join(f'"{name}"' for name in columns)
    sql = (f'INSERT INTO "{table.name}" ({quoted}) SELECT {", ".join(picks)} '
           f'FROM unnest({", ".join(arrays)}) AS u({quoted}) '
           + _on_conflict(columns, keys, update_columns))
    if returning:
        sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
    found = (sql, names, processors)
    _UNNEST[shape] = found
    return found


def _json_processor(dialect: Any, kind: Any) -> Any:
    """A JSON value as the text Core would send: None is JSON null unless the column says
    ``none_as_null``; the engine's serializer if it has one."""
    dumps = getattr(dialect, "_json_serializer", None) or json.dumps
    keep_null = bool(getattr(kind, "none_as_null", False))

    def process(value: Any) -> str | None:
        if value is None and keep_null:
            return None
        text: str = dumps(value)
        return text

    return process


def _unnest_upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                   keys: Sequence[str], update_columns: Sequence[str] | None,
                   returning: Sequence[str] = ()) -> list[Any]:
    """:func:`upsert` of ``rows`` (same columns, no key twice) as one statement on
    PostgreSQL; the values go through the columns' own bind processing, as with Core."""
    columns = list(rows[0])
    sql, names, processors = _unnest_statement(conn, table, columns, keys, update_columns,
                                               returning)
    params: dict[str, list[Any]] = {}
    for name, column, process in zip(names, columns, processors, strict=True):
        values = [row[column] for row in rows]
        params[name] = [process(v) for v in values] if process is not None else values
    result = conn.exec_driver_sql(sql, params)
    return list(result) if returning else []


_POST_UPDATES = ("message", "permalink_url", "status_type", "created_time", "last_seen_at",
                 "deleted_at", "page_id", "parent_id", "attachment_links")


def save_posts_group(conn: Connection, rows: Sequence[dict[str, Any]],
                     now: dt.datetime) -> dict[str, int]:
    """Upsert the posts of many Pages (rows from ``collector.posts.post_row`` with their
    ``page_id``), returning graph_id -> posts.id, from the INSERT itself (RETURNING)."""
    if not rows:
        return {}
    full = last_per_key([{**r, "first_seen_at": now, "last_seen_at": now, "deleted_at": None}
                         for r in rows], ["graph_id"])
    dialect = conn.dialect.name
    if dialect == "postgresql":
        table: Table = Post.__table__  # type: ignore[assignment]
        found = _unnest_upsert(conn, table, full, ["graph_id"], _POST_UPDATES,
                               returning=("graph_id", "id"))
        return {graph_id: post_id for graph_id, post_id in found}
    key = (dialect, "posts", ("graph_id",), ("returning",))
    statement = _STATEMENTS.get(key)
    if statement is None:
        posts: Table = Post.__table__  # type: ignore[assignment]
        statement = _upsert_statement(dialect, posts, ["graph_id"], _POST_UPDATES).returning(
            posts.c.graph_id, posts.c.id)
        _STATEMENTS[key] = statement
    # executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs (insertmanyvalues).
    return {graph_id: post_id for graph_id, post_id in conn.execute(statement, full)}


_IDS_PER_STATEMENT = 10_000  # well under SQLite's limit on bound values (32766)


def mark_posts_deleted_group(conn: Connection, listings: Sequence[tuple[int, set[str],
                             dt.datetime]], until: dt.datetime, now: dt.datetime) -> int:
    """:func:`mark_posts_deleted` for many Pages: (page_id, the stored ids its listing gave,
    since) each. One SELECT of the candidates, one UPDATE of those gone."""
    if not listings:
        return 0
    posts: Table = Post.__table__  # type: ignore[assignment]
    key = (conn.dialect.name, "posts", ("deleted",), ("select",))
    found = _STATEMENTS.get(key)
    if found is None:
        found = select(posts.c.id, posts.c.page_id, posts.c.graph_id,
                       posts.c.created_time).where(
            posts.c.page_id.in_(bindparam("page_ids", expanding=True)),
            posts.c.deleted_at.is_(None),
            posts.c.created_time >= bindparam("since", type_=posts.c.created_time.type),
            posts.c.created_time < bindparam("until", type_=posts.c.created_time.type))
        _STATEMENTS[key] = found
    by_page = {page_id: (seen, since) for page_id, seen, since in listings}
    gone = [post_id for post_id, page_id, graph_id, created in conn.execute(found, {
        "page_ids": list(by_page), "since": min(since for _p, _s, since in listings),
        "until": until})
        if graph_id not in by_page[page_id][0] and created >= by_page[page_id][1]]
    if not gone:
        return 0
    key = (conn.dialect.name, "posts", ("deleted",), ("update",))
    mark = _STATEMENTS.get(key)
    if mark is None:
        mark = update(posts).where(posts.c.id.in_(bindparam("ids", expanding=True))).values(
            deleted_at=bindparam("now", type_=posts.c.deleted_at.type))
        _STATEMENTS[key] = mark
    for start in range(0, len(gone), _IDS_PER_STATEMENT):
        conn.execute(mark, {"ids": gone[start:start + _IDS_PER_STATEMENT], "now": now})
    return len(gone)

# The ``pages`` columns one night may set (the node's texts, the incremental state, access).
PAGE_COLUMNS = ("graph_id", "name", "username", "link", "is_published", "insights_state",
                "insights_checked_at", "has_insights", "insights_until", "posts_readable",
                "posts_checked_at", "tasks", "access", "access_reason", "access_action",
                "access_checked_at", "last_success_at")


def update_pages_group(conn: Connection, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Set some of :data:`PAGE_COLUMNS` on many Pages, (page_id, {column: value}) each, with
    one statement run as executemany: each column is given with a flag saying whether this
    Page sets it (a value of None is a value too); a column not set keeps what it has."""
    rows = []
    for page_id, values in changes:
        if not values:
            continue
        row: dict[str, Any] = {"page_id_": page_id}
        for column in PAGE_COLUMNS:
            row[f"set_{column}"] = column in values
            row[f"new_{column}"] = values.get(column)
        rows.append(row)
    if not rows:
        return
    key = (conn.dialect.name, "pages", ("id",), PAGE_COLUMNS)
    statement = _STATEMENTS.get(key)
    if statement is None:
        pages: Table = Page.__table__  # type: ignore[assignment]
        statement = update(pages).where(
            pages.c.id == bindparam("page_id_", type_=Integer)).values({
                column: case((bindparam(f"set_{column}", type_=Boolean),
                              bindparam(f"new_{column}", type_=pages.c[column].type)),
                             else_=pages.c[column])
                for column in PAGE_COLUMNS})
        _STATEMENTS[key] = statement
    conn.execute(statement, rows)


# SQLite: the same upsert as :func:`upsert`, its text built once per shape and run as the
# driver's executemany, the values converted here (each distinct time or day once per group)
# rather than by Core row by row: on SQLite that conversion cost more than the database.
_PLAIN: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def _on_conflict(columns: Sequence[str], keys: Sequence[str],
                 update_columns: Sequence[str] | None) -> str:
    """The ON CONFLICT clause of a hand-written upsert (the same text on both stores):
    ``update_columns`` are set from the new row, by default every column but the keys and
    ``id``; none means DO NOTHING."""
    updates = (update_columns if update_columns is not None
               else [c for c in columns if c not in keys and c != "id"])
    target = ", ".join(f'"{k}"' for k in keys)
    if not updates:
        return f"ON CONFLICT ({target}) DO NOTHING"
    return (f"ON CONFLICT ({target}) DO UPDATE SET "
            + ", ".join(f'"{c}" = excluded."{c}"' for c in updates))


def _sqlite_upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                   keys: Sequence[str], update_columns: Sequence[str] | None) -> None:
    columns = list(rows[0])
    shape = (table.name, tuple(columns), tuple(keys),
             None if update_columns is None else tuple(update_columns))
    found = _PLAIN.get(shape)
    if found is None:
        dialect = conn.dialect
        quoted = ", ".join(f'"{name}"' for name in columns)
        sql = (f'INSERT INTO "{table.name}" ({quoted}) VALUES '
               f'({", ".join("?" for _ in columns)}) '
               + _on_conflict(columns, keys, update_columns))
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in columns]
        found = (sql, processors)
        _PLAIN[shape] = found
    sql, processors = found
    values: list[list[Any]] = []
    for column, process in zip(columns, processors, strict=True):
        given = [row[column] for row in rows]
        if process is None:
            values.append(given)
        elif isinstance(table.c[column].type, JSON):
            values.append([process(v) for v in given])
        else:  # times and days: few distinct values in a group
            done: dict[Any, Any] = {}
            values.append([done[v] if v in done else done.setdefault(v, process(v))
                           for v in given])
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
