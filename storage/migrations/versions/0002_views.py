"""views for reports and ad-hoc SQL: unit_tree, unit_descendants, post_latest, page_daily,
unit_daily

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:00:00

The reports and `fanpulse query` read these views, so a figure is defined once, here:

- local day = Asia/Ho_Chi_Minh (UTC+07:00 all year, Vietnam has no daylight saving time);
- engagement = reactions + comments + shares, a missing count counting as 0;
- a post's figures are those of its latest snapshot;
- a page's day exists only when the page has a snapshot that day (gaps stay gaps).

The SQL differs between SQLite and PostgreSQL in date arithmetic, and page_daily/unit_daily
are written for each planner (LATERAL on PostgreSQL, which SQLite lacks); the tests check that
both give the same rows. The views avoid window functions and grouped subqueries inside joins
on purpose: a filter on page, unit or day written against a view then reaches the indexes of
the tables underneath, so asking for one unit or one month does not compute the whole history
first (see benchmarks/bench_queries.py).

A later migration that rebuilds a table these views read (Alembic batch mode on SQLite) must
drop the views first and create them again afterwards: SQLite refuses to rename a table while a
view names a table that does not exist at that moment.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LOCAL_TZ = "Asia/Ho_Chi_Minh"

# Dialect-specific pieces: the local date of a UTC timestamp, and the UTC instants where a local
# day starts and where the next one starts (so that "posts of that day" is an index range).
LOCAL_DAY = {
    "sqlite": "date({ts}, '+7 hours')",
    "postgresql": f"CAST(({{ts}} AT TIME ZONE '{LOCAL_TZ}') AS DATE)",
}
DAY_START_UTC = {
    "sqlite": "datetime({day}, '-7 hours')",
    "postgresql": f"(CAST({{day}} AS TIMESTAMP) AT TIME ZONE '{LOCAL_TZ}')",
}
NEXT_DAY_START_UTC = {
    "sqlite": "datetime({day}, '+17 hours')",
    "postgresql": f"(CAST({{day}} + 1 AS TIMESTAMP) AT TIME ZONE '{LOCAL_TZ}')",
}

# Every unit with its place in the tree. The recursion starts at the roots, so it ends even if
# the data ever held a cycle (a cycle has no root). The CASTs give the first branch the types of
# the recursive one, which PostgreSQL requires.
UNIT_TREE = """
CREATE VIEW unit_tree AS
WITH RECURSIVE tree (unit_id, code, name, level, parent_id, parent_code, depth, path, active) AS (
    SELECT u.id, u.code, u.name, u.level, u.parent_id, CAST(NULL AS VARCHAR(64)), 0,
           CAST(u.name AS TEXT), u.active
    FROM units u
    WHERE u.parent_id IS NULL
    UNION ALL
    SELECT u.id, u.code, u.name, u.level, u.parent_id, t.code, t.depth + 1,
           CAST(t.path || ' > ' || u.name AS TEXT), u.active
    FROM units u
    JOIN tree t ON u.parent_id = t.unit_id
)
SELECT unit_id, code, name, level, parent_id, parent_code, depth, path, active
FROM tree
"""

# (ancestor, descendant) pairs, each unit being its own descendant too: the join table of every
# roll-up.
UNIT_DESCENDANTS = """
CREATE VIEW unit_descendants AS
WITH RECURSIVE d (ancestor_id, unit_id) AS (
    SELECT id, id FROM units
    UNION ALL
    SELECT d.ancestor_id, u.id
    FROM units u
    JOIN d ON u.parent_id = d.unit_id
)
SELECT ancestor_id, unit_id FROM d
"""

# Each post with its latest snapshot (posts never collected keep NULL counts and engagement 0).
POST_LATEST = """
CREATE VIEW post_latest AS
SELECT
    p.id AS post_id,
    p.graph_id AS graph_id,
    p.page_id AS page_id,
    pg.unit_id AS unit_id,
    p.created_time AS created_time,
    {local_day} AS local_day,
    p.message AS message,
    p.permalink_url AS permalink_url,
    s.day AS day,
    s.collected_at AS collected_at,
    s.reactions AS reactions,
    s.comments AS comments,
    s.shares AS shares,
    s.reactions_like AS reactions_like,
    s.reactions_love AS reactions_love,
    s.reactions_care AS reactions_care,
    s.reactions_haha AS reactions_haha,
    s.reactions_wow AS reactions_wow,
    s.reactions_sad AS reactions_sad,
    s.reactions_angry AS reactions_angry,
    COALESCE(s.reactions, 0) + COALESCE(s.comments, 0) + COALESCE(s.shares, 0) AS engagement,
    p.deleted_at AS deleted_at
FROM posts p
JOIN pages pg ON pg.id = p.page_id
{latest_snapshot}
"""
LATEST_SNAPSHOT = {
    "sqlite": """LEFT JOIN post_snapshots s
    ON s.post_id = p.id
   AND s.day = (SELECT MAX(x.day) FROM post_snapshots x WHERE x.post_id = p.id)""",
    # PostgreSQL would hash every snapshot to evaluate the form above; LATERAL probes the index.
    "postgresql": """LEFT JOIN LATERAL (
    SELECT * FROM post_snapshots x WHERE x.post_id = p.id ORDER BY x.day DESC LIMIT 1
) s ON TRUE""",
}

# One row per page snapshot. The change is against the page's previous snapshot row, whatever
# its date (NULL for the first). The posts of the day are matched through a created_time range,
# which the (page_id, created_time) index serves, and taken at their latest snapshot exactly as
# in post_latest (the view is not joined itself: SQLite would then compute it for every post
# first). Grouping by the snapshot's own columns keeps page_id, unit_id and day plain grouping
# columns, so a filter on them reaches the indexes.
PAGE_DAILY = """
CREATE VIEW page_daily AS
SELECT
    ps.page_id AS page_id,
    pg.ref AS page_ref,
    pg.name AS page_name,
    pg.unit_id AS unit_id,
    ps.day AS day,
    ps.followers_count AS followers,
    ps.fan_count AS likes,
    ps.followers_count - prev.followers_count AS followers_change,
    ps.fan_count - prev.fan_count AS likes_change,
    COUNT(po.id) AS posts,
    CAST(COALESCE(SUM(s.reactions), 0) AS BIGINT) AS reactions,
    CAST(COALESCE(SUM(s.comments), 0) AS BIGINT) AS comments,
    CAST(COALESCE(SUM(s.shares), 0) AS BIGINT) AS shares,
    CAST(COALESCE(SUM(COALESCE(s.reactions, 0) + COALESCE(s.comments, 0)
                      + COALESCE(s.shares, 0)), 0) AS BIGINT) AS engagement
FROM page_snapshots ps
JOIN pages pg ON pg.id = ps.page_id
LEFT JOIN page_snapshots prev
    ON prev.page_id = ps.page_id
   AND prev.day = (SELECT MAX(x.day) FROM page_snapshots x
                   WHERE x.page_id = ps.page_id AND x.day < ps.day)
LEFT JOIN posts po
    ON po.page_id = ps.page_id
   AND po.created_time >= {day_start}
   AND po.created_time < {next_day_start}
LEFT JOIN post_snapshots s
    ON s.post_id = po.id
   AND s.day = (SELECT MAX(x.day) FROM post_snapshots x WHERE x.post_id = po.id)
GROUP BY ps.page_id, ps.day, pg.ref, pg.name, pg.unit_id, ps.followers_count, ps.fan_count,
         prev.followers_count, prev.fan_count
"""

# A unit's own pages plus every descendant's, per day: the sums of page_daily over those pages.
# Written as one flat join rather than over page_daily so that asking for one unit starts from
# its pages instead of computing every page's days first. A snapshot row repeats once per post
# of that day; the audience figures are therefore taken from one row per snapshot only, the one
# carrying the day's first post (or no post). CROSS JOIN is SQLite's way to fix the join
# order: unit, its descendants, their pages, their snapshots. Left to itself the planner, which
# has no statistics for the recursive unit_descendants, may start from every snapshot of the
# period and probe the descendants for each (seconds instead of milliseconds).
UNIT_DAILY = """
CREATE VIEW unit_daily AS
SELECT
    d.ancestor_id AS unit_id,
    u.code AS code,
    u.name AS name,
    u.level AS level,
    ps.day AS day,
    COUNT(DISTINCT ps.page_id) AS pages_reporting,
    CAST(SUM(CASE WHEN po.id IS NULL OR po.id = first_post.id
                  THEN ps.followers_count END) AS BIGINT) AS followers,
    CAST(SUM(CASE WHEN po.id IS NULL OR po.id = first_post.id
                  THEN ps.fan_count END) AS BIGINT) AS likes,
    CAST(SUM(CASE WHEN po.id IS NULL OR po.id = first_post.id
                  THEN ps.followers_count - prev.followers_count END) AS BIGINT)
        AS followers_change,
    CAST(SUM(CASE WHEN po.id IS NULL OR po.id = first_post.id
                  THEN ps.fan_count - prev.fan_count END) AS BIGINT) AS likes_change,
    COUNT(po.id) AS posts,
    CAST(COALESCE(SUM(s.reactions), 0) AS BIGINT) AS reactions,
    CAST(COALESCE(SUM(s.comments), 0) AS BIGINT) AS comments,
    CAST(COALESCE(SUM(s.shares), 0) AS BIGINT) AS shares,
    CAST(COALESCE(SUM(COALESCE(s.reactions, 0) + COALESCE(s.comments, 0)
                      + COALESCE(s.shares, 0)), 0) AS BIGINT) AS engagement
FROM units u
CROSS JOIN unit_descendants d
CROSS JOIN pages pg
CROSS JOIN page_snapshots ps
LEFT JOIN page_snapshots prev
    ON prev.page_id = ps.page_id
   AND prev.day = (SELECT MAX(x.day) FROM page_snapshots x
                   WHERE x.page_id = ps.page_id AND x.day < ps.day)
LEFT JOIN posts po
    ON po.page_id = ps.page_id
   AND po.created_time >= {day_start}
   AND po.created_time < {next_day_start}
LEFT JOIN posts first_post
    ON first_post.id = (SELECT MIN(q.id) FROM posts q
                        WHERE q.page_id = ps.page_id
                          AND q.created_time >= {day_start}
                          AND q.created_time < {next_day_start})
LEFT JOIN post_snapshots s
    ON s.post_id = po.id
   AND s.day = (SELECT MAX(x.day) FROM post_snapshots x WHERE x.post_id = po.id)
WHERE d.ancestor_id = u.id
  AND pg.unit_id = d.unit_id
  AND ps.page_id = pg.id
GROUP BY d.ancestor_id, u.code, u.name, u.level, ps.day
"""

# PostgreSQL variants of page_daily and unit_daily: the same rows (tests/test_views.py and
# tests/test_query.py compare both databases), planned better there. LATERAL reads the
# previous snapshot and the day's posts with one index probe each per snapshot row, instead of
# the correlated MAX() that PostgreSQL turns into a hash join over every snapshot, and without
# the one-row-per-post fan-out that unit_daily has to undo on SQLite (which has no LATERAL).
PG_PREVIOUS_AND_POSTS = f"""
LEFT JOIN LATERAL (
    SELECT x.followers_count, x.fan_count
    FROM page_snapshots x
    WHERE x.page_id = ps.page_id AND x.day < ps.day
    ORDER BY x.day DESC
    LIMIT 1
) prev ON TRUE
LEFT JOIN LATERAL (
    SELECT COUNT(*) AS posts,
           SUM(s.reactions) AS reactions,
           SUM(s.comments) AS comments,
           SUM(s.shares) AS shares,
           SUM(COALESCE(s.reactions, 0) + COALESCE(s.comments, 0)
               + COALESCE(s.shares, 0)) AS engagement
    FROM posts po
    LEFT JOIN post_snapshots s
        ON s.post_id = po.id
       AND s.day = (SELECT MAX(x.day) FROM post_snapshots x WHERE x.post_id = po.id)
    WHERE po.page_id = ps.page_id
      AND po.created_time >= {DAY_START_UTC['postgresql'].format(day='ps.day')}
      AND po.created_time < {NEXT_DAY_START_UTC['postgresql'].format(day='ps.day')}
) pp ON TRUE
"""

PG_PAGE_DAILY = """
CREATE VIEW page_daily AS
SELECT
    ps.page_id AS page_id,
    pg.ref AS page_ref,
    pg.name AS page_name,
    pg.unit_id AS unit_id,
    ps.day AS day,
    ps.followers_count AS followers,
    ps.fan_count AS likes,
    ps.followers_count - prev.followers_count AS followers_change,
    ps.fan_count - prev.fan_count AS likes_change,
    pp.posts AS posts,
    CAST(COALESCE(pp.reactions, 0) AS BIGINT) AS reactions,
    CAST(COALESCE(pp.comments, 0) AS BIGINT) AS comments,
    CAST(COALESCE(pp.shares, 0) AS BIGINT) AS shares,
    CAST(COALESCE(pp.engagement, 0) AS BIGINT) AS engagement
FROM page_snapshots ps
JOIN pages pg ON pg.id = ps.page_id
""" + PG_PREVIOUS_AND_POSTS

PG_UNIT_DAILY = """
CREATE VIEW unit_daily AS
SELECT
    d.ancestor_id AS unit_id,
    u.code AS code,
    u.name AS name,
    u.level AS level,
    ps.day AS day,
    COUNT(*) AS pages_reporting,
    CAST(SUM(ps.followers_count) AS BIGINT) AS followers,
    CAST(SUM(ps.fan_count) AS BIGINT) AS likes,
    CAST(SUM(ps.followers_count - prev.followers_count) AS BIGINT) AS followers_change,
    CAST(SUM(ps.fan_count - prev.fan_count) AS BIGINT) AS likes_change,
    CAST(SUM(pp.posts) AS BIGINT) AS posts,
    CAST(COALESCE(SUM(pp.reactions), 0) AS BIGINT) AS reactions,
    CAST(COALESCE(SUM(pp.comments), 0) AS BIGINT) AS comments,
    CAST(COALESCE(SUM(pp.shares), 0) AS BIGINT) AS shares,
    CAST(COALESCE(SUM(pp.engagement), 0) AS BIGINT) AS engagement
FROM unit_descendants d
JOIN units u ON u.id = d.ancestor_id
JOIN pages pg ON pg.unit_id = d.unit_id
JOIN page_snapshots ps ON ps.page_id = pg.id
""" + PG_PREVIOUS_AND_POSTS + """
GROUP BY d.ancestor_id, u.code, u.name, u.level, ps.day
"""

# Creation order; dropped in reverse (each view may read the ones before it).
VIEWS = ("unit_tree", "unit_descendants", "post_latest", "page_daily", "unit_daily")


def view_sql(dialect: str) -> dict[str, str]:
    """The CREATE VIEW statements for one dialect, by view name."""
    if dialect not in LOCAL_DAY:
        raise RuntimeError(f"fanpulse views support sqlite and postgresql, not {dialect}")
    post_latest = POST_LATEST.format(local_day=LOCAL_DAY[dialect].format(ts="p.created_time"),
                                     latest_snapshot=LATEST_SNAPSHOT[dialect])
    if dialect == "postgresql":
        page_daily, unit_daily = PG_PAGE_DAILY, PG_UNIT_DAILY
    else:
        bounds = {"day_start": DAY_START_UTC[dialect].format(day="ps.day"),
                  "next_day_start": NEXT_DAY_START_UTC[dialect].format(day="ps.day")}
        page_daily, unit_daily = PAGE_DAILY.format(**bounds), UNIT_DAILY.format(**bounds)
    return {
        "unit_tree": UNIT_TREE,
        "unit_descendants": UNIT_DESCENDANTS,
        "post_latest": post_latest,
        "page_daily": page_daily,
        "unit_daily": unit_daily,
    }


def upgrade() -> None:
    statements = view_sql(op.get_bind().dialect.name)
    for name in VIEWS:
        op.execute(statements[name])


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
