"""unit_day_totals: the roll-up of every unit with units under it, per day; rollup_changes:
what was written since it was last brought up to date

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

A province's year from the snapshots means a per-Page LAG over every snapshot of the year
(1.8 million rows at 5,000 Pages): seconds on either database. ``unit_day_totals`` keeps the
figures of the ``unit_rollup`` saved query, one row per (unit, day), for every unit that has
units under it (the province, its districts, a commune with residential areas): a year is then
365 rows. storage/rollups.py computes them (``refresh_rollups``); the collector, the units
import and the synthetic fill call it when they finish.

So that a figure is never stale, every write that can change one is logged by a trigger into
``rollup_changes`` (kind, day): ``snapshot`` for a Page snapshot written, changed or removed
(its day; the day of the Page's next snapshot, whose change it is against, is later), ``post``
for a post or post snapshot written, changed or removed (the post's local day), ``tree`` for a
Page's unit or active flag and a unit's parent changed, or a unit added or removed (every day).
The saved query takes from ``unit_day_totals`` only the days before the earliest logged day
(none at all while a ``tree`` change is logged) and computes the later ones from the snapshots;
``refresh_rollups`` recomputes from that day on and clears what it consumed. A trigger only
appends a row (no unique key, so concurrent writers never wait for each other).

This migration logs one ``tree`` change: the totals are built by the first refresh (until then
the saved query computes everything, as before).

A later migration that rebuilds page_snapshots, posts, post_snapshots, pages or units (Alembic
batch mode on SQLite) drops these triggers with the table: it must create them again
(``trigger_sql``), or the summary goes stale without notice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LOCAL_TZ = "Asia/Ho_Chi_Minh"  # as in 0002; written here, a migration is a fixed picture

# SQLite: one trigger per event, each appending a row; {day} is an expression of NEW/OLD.
_SQLITE_LOG = ("INSERT INTO rollup_changes (kind, day, day_start) "
               "SELECT '{kind}', d, datetime(d, '-7 hours') FROM (SELECT {day} AS d) x "
               "WHERE d IS NOT NULL;")
_SQLITE_POST_DAY = "date({ts}, '+7 hours')"
_SQLITE_SNAPSHOT_POST_DAY = ("(SELECT MIN(date(p.created_time, '+7 hours')) FROM posts p "
                             "WHERE p.id IN ({ids}))")
_SQLITE_TREE = "INSERT INTO rollup_changes (kind) VALUES ('tree');"


def _sqlite_triggers() -> list[str]:
    def trigger(name: str, event: str, table: str, body: str, when: str = "") -> str:
        when_sql = f"\nWHEN {when}" if when else ""
        return (f"CREATE TRIGGER {name} AFTER {event} ON {table}{when_sql}\n"
                f"BEGIN\n    {body}\nEND")

    def log(kind: str, day: str) -> str:
        return _SQLITE_LOG.format(kind=kind, day=day)

    snapshot_changed = ("OLD.page_id IS NOT NEW.page_id OR OLD.day IS NOT NEW.day "
                        "OR OLD.followers_count IS NOT NEW.followers_count "
                        "OR OLD.fan_count IS NOT NEW.fan_count")
    post_changed = "OLD.created_time IS NOT NEW.created_time OR OLD.page_id IS NOT NEW.page_id"
    post_snapshot_changed = ("OLD.post_id IS NOT NEW.post_id OR OLD.day IS NOT NEW.day "
                             "OR OLD.reactions IS NOT NEW.reactions "
                             "OR OLD.comments IS NOT NEW.comments OR OLD.shares IS NOT NEW.shares")
    old_day = _SQLITE_POST_DAY.format(ts="OLD.created_time")
    new_day = _SQLITE_POST_DAY.format(ts="NEW.created_time")
    return [
        trigger("rollup_page_snapshots_insert", "INSERT", "page_snapshots",
                log("snapshot", "NEW.day")),
        trigger("rollup_page_snapshots_update", "UPDATE", "page_snapshots",
                log("snapshot", "MIN(OLD.day, NEW.day)"), snapshot_changed),
        trigger("rollup_page_snapshots_delete", "DELETE", "page_snapshots",
                log("snapshot", "OLD.day")),
        trigger("rollup_posts_insert", "INSERT", "posts", log("post", new_day)),
        trigger("rollup_posts_update", "UPDATE", "posts",
                log("post", f"MIN({old_day}, {new_day})"), post_changed),
        trigger("rollup_posts_delete", "DELETE", "posts", log("post", old_day)),
        trigger("rollup_post_snapshots_insert", "INSERT", "post_snapshots",
                log("post", _SQLITE_SNAPSHOT_POST_DAY.format(ids="NEW.post_id"))),
        trigger("rollup_post_snapshots_update", "UPDATE", "post_snapshots",
                log("post", _SQLITE_SNAPSHOT_POST_DAY.format(ids="OLD.post_id, NEW.post_id")),
                post_snapshot_changed),
        trigger("rollup_post_snapshots_delete", "DELETE", "post_snapshots",
                log("post", _SQLITE_SNAPSHOT_POST_DAY.format(ids="OLD.post_id"))),
        trigger("rollup_pages_update", "UPDATE", "pages", _SQLITE_TREE,
                "OLD.unit_id IS NOT NEW.unit_id OR OLD.active IS NOT NEW.active"),
        trigger("rollup_pages_delete", "DELETE", "pages", _SQLITE_TREE),
        trigger("rollup_units_insert", "INSERT", "units", _SQLITE_TREE),
        trigger("rollup_units_update", "UPDATE", "units", _SQLITE_TREE,
                "OLD.parent_id IS NOT NEW.parent_id"),
        trigger("rollup_units_delete", "DELETE", "units", _SQLITE_TREE),
    ]


# PostgreSQL: one function per table (TG_OP says what happened), row triggers calling it.
_PG_LOG = (f"INSERT INTO rollup_changes (kind, day, day_start) "
           f"SELECT '{{kind}}', d, CAST(d AS timestamp) AT TIME ZONE '{LOCAL_TZ}' "
           f"FROM (SELECT {{day}} AS d) x WHERE d IS NOT NULL;")
_PG_POST_DAY = f"CAST(({{ts}} AT TIME ZONE '{LOCAL_TZ}') AS DATE)"
_PG_SNAPSHOT_POST_DAY = (f"(SELECT MIN(CAST((p.created_time AT TIME ZONE '{LOCAL_TZ}') AS DATE)) "
                         f"FROM posts p WHERE p.id IN ({{ids}}))")


def _pg_function(name: str, insert: str, update: str, delete: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert}
    ELSIF TG_OP = 'UPDATE' THEN
        {update}
    ELSE
        {delete}
    END IF;
    RETURN NULL;
END
$$"""


def _pg_triggers() -> list[str]:
    def log(kind: str, day: str) -> str:
        return _PG_LOG.format(kind=kind, day=day)

    tree = "INSERT INTO rollup_changes (kind) VALUES ('tree');"
    old_day = _PG_POST_DAY.format(ts="OLD.created_time")
    new_day = _PG_POST_DAY.format(ts="NEW.created_time")
    functions = [
        _pg_function("rollup_log_page_snapshot", log("snapshot", "NEW.day"),
                     log("snapshot", "LEAST(OLD.day, NEW.day)"), log("snapshot", "OLD.day")),
        _pg_function("rollup_log_post", log("post", new_day),
                     log("post", f"LEAST({old_day}, {new_day})"), log("post", old_day)),
        _pg_function("rollup_log_post_snapshot",
                     log("post", _PG_SNAPSHOT_POST_DAY.format(ids="NEW.post_id")),
                     log("post", _PG_SNAPSHOT_POST_DAY.format(ids="OLD.post_id, NEW.post_id")),
                     log("post", _PG_SNAPSHOT_POST_DAY.format(ids="OLD.post_id"))),
        _pg_function("rollup_log_tree", tree, tree, tree),
    ]

    def trigger(name: str, event: str, table: str, function: str, when: str = "") -> str:
        when_sql = f" WHEN ({when})" if when else ""
        return (f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when_sql} "
                f"EXECUTE FUNCTION {function}()")

    snapshot_changed = ("OLD.page_id IS DISTINCT FROM NEW.page_id "
                        "OR OLD.day IS DISTINCT FROM NEW.day "
                        "OR OLD.followers_count IS DISTINCT FROM NEW.followers_count "
                        "OR OLD.fan_count IS DISTINCT FROM NEW.fan_count")
    post_changed = ("OLD.created_time IS DISTINCT FROM NEW.created_time "
                    "OR OLD.page_id IS DISTINCT FROM NEW.page_id")
    post_snapshot_changed = ("OLD.post_id IS DISTINCT FROM NEW.post_id "
                             "OR OLD.day IS DISTINCT FROM NEW.day "
                             "OR OLD.reactions IS DISTINCT FROM NEW.reactions "
                             "OR OLD.comments IS DISTINCT FROM NEW.comments "
                             "OR OLD.shares IS DISTINCT FROM NEW.shares")
    return functions + [
        trigger("rollup_page_snapshots_write", "INSERT OR DELETE", "page_snapshots",
                "rollup_log_page_snapshot"),
        trigger("rollup_page_snapshots_update", "UPDATE", "page_snapshots",
                "rollup_log_page_snapshot", snapshot_changed),
        trigger("rollup_posts_write", "INSERT OR DELETE", "posts", "rollup_log_post"),
        trigger("rollup_posts_update", "UPDATE", "posts", "rollup_log_post", post_changed),
        trigger("rollup_post_snapshots_write", "INSERT OR DELETE", "post_snapshots",
                "rollup_log_post_snapshot"),
        trigger("rollup_post_snapshots_update", "UPDATE", "post_snapshots",
                "rollup_log_post_snapshot", post_snapshot_changed),
        trigger("rollup_pages_update", "UPDATE", "pages", "rollup_log_tree",
                "OLD.unit_id IS DISTINCT FROM NEW.unit_id "
                "OR OLD.active IS DISTINCT FROM NEW.active"),
        trigger("rollup_pages_delete", "DELETE", "pages", "rollup_log_tree"),
        trigger("rollup_units_write", "INSERT OR DELETE", "units", "rollup_log_tree"),
        trigger("rollup_units_update", "UPDATE", "units", "rollup_log_tree",
                "OLD.parent_id IS DISTINCT FROM NEW.parent_id"),
    ]


# (trigger, table) pairs and the PostgreSQL functions, for the downgrade.
SQLITE_TRIGGERS = ("rollup_page_snapshots_insert", "rollup_page_snapshots_update",
                   "rollup_page_snapshots_delete", "rollup_posts_insert", "rollup_posts_update",
                   "rollup_posts_delete", "rollup_post_snapshots_insert",
                   "rollup_post_snapshots_update", "rollup_post_snapshots_delete",
                   "rollup_pages_update", "rollup_pages_delete", "rollup_units_insert",
                   "rollup_units_update", "rollup_units_delete")
PG_TRIGGERS = (("rollup_page_snapshots_write", "page_snapshots"),
               ("rollup_page_snapshots_update", "page_snapshots"),
               ("rollup_posts_write", "posts"), ("rollup_posts_update", "posts"),
               ("rollup_post_snapshots_write", "post_snapshots"),
               ("rollup_post_snapshots_update", "post_snapshots"),
               ("rollup_pages_update", "pages"), ("rollup_pages_delete", "pages"),
               ("rollup_units_write", "units"), ("rollup_units_update", "units"))
PG_FUNCTIONS = ("rollup_log_page_snapshot", "rollup_log_post", "rollup_log_post_snapshot",
                "rollup_log_tree")


def trigger_sql(dialect: str) -> list[str]:
    """The statements creating the change-logging triggers (and their functions) for one
    dialect, in order."""
    if dialect == "sqlite":
        return _sqlite_triggers()
    if dialect == "postgresql":
        return _pg_triggers()
    raise RuntimeError(f"fanpulse supports sqlite and postgresql, not {dialect}")


def upgrade() -> None:
    op.create_table(
        "unit_day_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pages_reporting", sa.Integer(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("followers_change", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("likes_change", sa.BigInteger(), nullable=True),
        sa.Column("posts", sa.BigInteger(), nullable=False),
        sa.Column("reactions", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("engagement", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_unit_day_totals_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_day_totals")),
        sa.UniqueConstraint("unit_id", "day", name=op.f("uq_unit_day_totals_unit_id_day")),
    )
    op.create_table(
        "rollup_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("day_start", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_changes")),
    )
    op.create_index(op.f("ix_rollup_changes_kind_rollup_changes_day"), "rollup_changes",
                    ["kind", "day"])
    op.create_index(op.f("ix_rollup_changes_day"), "rollup_changes", ["day"])
    # The post_snapshots trigger reads a post's created_time: from this narrow index rather
    # than the posts rows, wide with their messages (on SQLite 15 instead of 90 us a row).
    op.create_index(op.f("ix_posts_id_posts_created_time"), "posts", ["id", "created_time"])
    for statement in trigger_sql(op.get_bind().dialect.name):
        op.execute(statement)
    # Nothing summed yet: the saved query computes everything until the first refresh.
    op.execute("INSERT INTO rollup_changes (kind) VALUES ('tree')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_posts_id_posts_created_time"), table_name="posts")
    op.drop_index(op.f("ix_rollup_changes_day"), table_name="rollup_changes")
    op.drop_index(op.f("ix_rollup_changes_kind_rollup_changes_day"), table_name="rollup_changes")
    op.drop_table("rollup_changes")
    op.drop_table("unit_day_totals")
