"""unbounded text for the values Facebook controls: Page name, username, link, tasks; post id,
permalink, kind; insights metric and period; the API version a run was served

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

Facebook sets these values and sets no limit on them (a permalink of 5,000 characters, a Page
name of 1,000), so a VARCHAR(n) was a night waiting to fail on PostgreSQL. They become TEXT.

PostgreSQL refuses ALTER COLUMN ... TYPE on a column a view reads (``pages.name`` in
page_daily, ``posts.permalink_url`` in post_latest), so the views of 0002 are dropped first and
created again afterwards from 0002's own definitions, all in this migration's transaction.
VARCHAR(n) to TEXT is binary-coercible there: no table rewrite, no index rebuild.

SQLite never enforced the lengths, and a table rebuild (batch mode) under the views or under
the foreign keys that point at ``pages`` is what this project avoids (see 0002). Only the
declared type changes: VARCHAR(n) and TEXT have the same (TEXT) affinity, so not one stored
byte changes, and the new declaration is written into the schema the way SQLite documents for
changes that leave the stored content as it is (https://www.sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes": writable_schema, then a new schema_version).
The store's declared schema then matches the models on both databases.

Downgrade gives the columns their old lengths back; on PostgreSQL it fails, naming the column,
if a stored value is longer than the old length (nothing is cut).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, column, the VARCHAR length it had)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("pages", "graph_id", 64),
    ("pages", "name", 255),
    ("pages", "username", 255),
    ("pages", "link", 512),
    ("pages", "tasks", 255),
    ("posts", "graph_id", 128),
    ("posts", "permalink_url", 1024),
    ("posts", "status_type", 64),
    ("page_insights", "metric", 128),
    ("page_insights", "period", 32),
    ("post_insights", "metric", 128),
    ("post_insights", "period", 32),
    ("collection_runs", "api_version", 16),
)

# The views, exactly as 0002 creates them (the module name starts with a digit: no plain import).
_views = importlib.import_module("fanpulse.storage.migrations.versions.0002_views")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declare({(t, c): (f"VARCHAR({n})", "TEXT") for t, c, n in COLUMNS})
        return
    with _views_dropped():
        for table, column, length in COLUMNS:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declare({(t, c): ("TEXT", f"VARCHAR({n})") for t, c, n in COLUMNS})
        return
    with _views_dropped():
        for table, column, length in COLUMNS:
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text())


@contextmanager
def _views_dropped() -> Iterator[None]:
    """Drop 0002's views (in reverse creation order), then create them again. On an error
    the migration's transaction rolls back, the views with it."""
    for name in reversed(_views.VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    yield
    statements = _views.view_sql(op.get_bind().dialect.name)
    for name in _views.VIEWS:
        op.execute(statements[name])


def _sqlite_declare(changes: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Change declared column types in SQLite's schema text, (table, column) -> (old, new).

    Only for types of the same affinity: SQLite reads the declaration again, the rows on disk
    are not touched. Every change is checked against PRAGMA table_info before the commit."""
    bind = op.get_bind()
    tables = sorted({table for table, _column in changes})
    new_sql = {}
    for table in tables:
        sql = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        for (owner, column), (old, new) in changes.items():
            if owner != table:
                continue
            # The column's name at the start of its definition: after "(", "," or a line
            # break, optionally quoted, followed by the old type.
            pattern = re.compile(rf'(?<=[\s,(])("?){column}\1\s+{re.escape(old)}(?=[\s,)])',
                                 re.IGNORECASE)
            sql, found = pattern.subn(rf"\g<1>{column}\g<1> {new}", sql)
            if found != 1:
                raise RuntimeError(f"0006: cannot find {table}.{column} {old} in the schema")
        new_sql[table] = sql
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in new_sql.items():
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
            )
        # A new schema version makes every connection read the declarations again.
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    for (table, column), (_old, new) in changes.items():
        declared = {row[1]: row[2] for row in bind.exec_driver_sql(f"PRAGMA table_info({table})")}
        if declared.get(column, "").upper() != new.upper():
            raise RuntimeError(f"0006: {table}.{column} is declared {declared.get(column)!r}, "
                               f"not {new}")
