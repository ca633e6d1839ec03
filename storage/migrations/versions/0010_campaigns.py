"""campaigns: what a post carries (posts.parent_id, posts.attachment_links), the campaigns of
the campaigns file with their seeds, rule matches and carries, and the views campaign_posts
and cascade_coverage

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

docs/campaigns.md says how the tables are filled (storage/campaigns.py ``detect_campaigns``,
after each night and with ``fanpulse campaigns detect``); docs/schema.md describes the views.
Adding the two posts columns is a plain ALTER TABLE on both databases: no table is rebuilt, so
the roll-up triggers of 0009 stay in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Each post of a campaign once: a seed, else a carry, else a post that meets the hashtag,
# keyword or link rules; with its unit and its engagement at its latest snapshot.
CAMPAIGN_POSTS = """
CREATE VIEW campaign_posts AS
SELECT c.key AS campaign,
       c.name AS campaign_name,
       x.role AS role,
       x.post_id AS post_id,
       x.seed_post_id AS seed_post_id,
       x.method AS method,
       x.score AS score,
       x.delay_seconds AS delay_seconds,
       m.rules AS rules,
       p.graph_id AS graph_id,
       p.page_id AS page_id,
       pg.unit_id AS unit_id,
       u.code AS unit_code,
       u.name AS unit_name,
       u.level AS level,
       p.created_time AS created_time,
       p.permalink_url AS permalink_url,
       p.message AS message,
       s.reactions AS reactions,
       s.comments AS comments,
       s.shares AS shares,
       COALESCE(s.reactions, 0) + COALESCE(s.comments, 0) + COALESCE(s.shares, 0) AS engagement,
       p.deleted_at AS deleted_at
FROM (
    SELECT d.campaign_id, d.post_id, 'seed' AS role, d.post_id AS seed_post_id,
           CAST(NULL AS VARCHAR(8)) AS method, CAST(NULL AS FLOAT) AS score,
           0 AS delay_seconds
    FROM campaign_seeds d
    WHERE d.post_id IS NOT NULL
    UNION ALL
    SELECT k.campaign_id, k.post_id, 'carry', k.seed_post_id, k.method, k.score,
           k.delay_seconds
    FROM campaign_carries k
    UNION ALL
    SELECT r.campaign_id, r.post_id, 'rules', NULL, NULL, NULL, NULL
    FROM campaign_matches r
    WHERE NOT EXISTS (SELECT 1 FROM campaign_carries k
                      WHERE k.campaign_id = r.campaign_id AND k.post_id = r.post_id)
      AND NOT EXISTS (SELECT 1 FROM campaign_seeds d
                      WHERE d.campaign_id = r.campaign_id AND d.post_id = r.post_id)
) x
JOIN campaigns c ON c.id = x.campaign_id
JOIN posts p ON p.id = x.post_id
JOIN pages pg ON pg.id = p.page_id
LEFT JOIN units u ON u.id = pg.unit_id
LEFT JOIN campaign_matches m ON m.campaign_id = x.campaign_id AND m.post_id = x.post_id
{latest_snapshot}
"""
LATEST_SNAPSHOT = {  # as post_latest (0002) reads a post's latest snapshot
    "sqlite": """LEFT JOIN post_snapshots s
    ON s.post_id = p.id
   AND s.day = (SELECT MAX(y.day) FROM post_snapshots y WHERE y.post_id = p.id)""",
    "postgresql": """LEFT JOIN LATERAL (
    SELECT * FROM post_snapshots y WHERE y.post_id = p.id ORDER BY y.day DESC LIMIT 1
) s ON TRUE""",
}

# One row per (campaign, collected seed, active unit under the seed's unit): whether the unit
# carried the seed (any of its Pages, within the campaign's carry_days), how fast, and if not,
# whether its Page posted at all in that window (silent) or has no Page.
CASCADE_COVERAGE = """
CREATE VIEW cascade_coverage AS
SELECT campaign, campaign_id, seed_post_id, seed_time, window_ends, seed_unit_id, unit_id,
       code, name, level, parent_id, pages, carries, delay_seconds, method, carry_post_id,
       posts_in_window, last_post_time,
       CASE WHEN carries > 0 THEN 'carried'
            WHEN pages = 0 THEN 'no_page'
            WHEN posts_in_window = 0 THEN 'silent'
            ELSE 'not_carried' END AS status
FROM (
    SELECT c.key AS campaign,
           e.campaign_id AS campaign_id,
           e.seed_post_id AS seed_post_id,
           e.seed_time AS seed_time,
           e.window_ends AS window_ends,
           e.seed_unit_id AS seed_unit_id,
           u.id AS unit_id,
           u.code AS code,
           u.name AS name,
           u.level AS level,
           u.parent_id AS parent_id,
           (SELECT COUNT(*) FROM pages g WHERE g.unit_id = u.id AND g.active) AS pages,
           COALESCE(k.carries, 0) AS carries,
           k.delay_seconds AS delay_seconds,
           (SELECT k2.method FROM campaign_carries k2
            JOIN posts p2 ON p2.id = k2.post_id JOIN pages g2 ON g2.id = p2.page_id
            WHERE k2.campaign_id = e.campaign_id AND k2.seed_post_id = e.seed_post_id
              AND g2.unit_id = u.id
            ORDER BY k2.delay_seconds, k2.post_id LIMIT 1) AS method,
           (SELECT k3.post_id FROM campaign_carries k3
            JOIN posts p3 ON p3.id = k3.post_id JOIN pages g3 ON g3.id = p3.page_id
            WHERE k3.campaign_id = e.campaign_id AND k3.seed_post_id = e.seed_post_id
              AND g3.unit_id = u.id
            ORDER BY k3.delay_seconds, k3.post_id LIMIT 1) AS carry_post_id,
           (SELECT COUNT(*) FROM posts p4 JOIN pages g4 ON g4.id = p4.page_id
            WHERE g4.unit_id = u.id AND g4.active
              AND p4.created_time > e.seed_time AND p4.created_time <= e.window_ends)
               AS posts_in_window,
           (SELECT MAX(p5.created_time) FROM posts p5 JOIN pages g5 ON g5.id = p5.page_id
            WHERE g5.unit_id = u.id AND g5.active AND p5.created_time <= e.window_ends)
               AS last_post_time
    FROM (
        SELECT d.campaign_id, d.post_id AS seed_post_id, sp.created_time AS seed_time,
               d.window_ends, sg.unit_id AS seed_unit_id
        FROM campaign_seeds d
        JOIN posts sp ON sp.id = d.post_id
        JOIN pages sg ON sg.id = sp.page_id
        WHERE sg.unit_id IS NOT NULL
    ) e
    JOIN campaigns c ON c.id = e.campaign_id
    JOIN unit_descendants ud ON ud.ancestor_id = e.seed_unit_id
    JOIN units u ON u.id = ud.unit_id AND u.id <> e.seed_unit_id AND u.active
    LEFT JOIN (
        SELECT kk.campaign_id, kk.seed_post_id, gg.unit_id,
               COUNT(*) AS carries, MIN(kk.delay_seconds) AS delay_seconds
        FROM campaign_carries kk
        JOIN posts pp ON pp.id = kk.post_id
        JOIN pages gg ON gg.id = pp.page_id
        GROUP BY kk.campaign_id, kk.seed_post_id, gg.unit_id
    ) k ON k.campaign_id = e.campaign_id AND k.seed_post_id = e.seed_post_id
       AND k.unit_id = u.id
) coverage
"""

VIEWS = ("campaign_posts", "cascade_coverage")


def view_sql(dialect: str) -> dict[str, str]:
    """The CREATE VIEW statements for one dialect, by view name."""
    return {"campaign_posts": CAMPAIGN_POSTS.format(latest_snapshot=LATEST_SNAPSHOT[dialect]),
            "cascade_coverage": CASCADE_COVERAGE}


def upgrade() -> None:
    op.add_column("posts", sa.Column("parent_id", sa.Text(), nullable=True))
    op.add_column("posts", sa.Column("attachment_links", sa.Text(), nullable=True))
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("carry_days", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("key", name=op.f("uq_campaigns_key")),
    )
    op.create_table(
        "campaign_seeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("window_ends", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_seeds_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_campaign_seeds_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_seeds")),
        sa.UniqueConstraint("campaign_id", "ref", name=op.f("uq_campaign_seeds_campaign_id_ref")),
    )
    op.create_index(op.f("ix_campaign_seeds_post_id"), "campaign_seeds", ["post_id"])
    op.create_table(
        "campaign_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_matches_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_campaign_matches_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_matches")),
        sa.UniqueConstraint("campaign_id", "post_id",
                            name=op.f("uq_campaign_matches_campaign_id_post_id")),
    )
    op.create_index(op.f("ix_campaign_matches_post_id"), "campaign_matches", ["post_id"])
    op.create_table(
        "campaign_carries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("seed_post_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_carries_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["seed_post_id"], ["posts.id"],
                                name=op.f("fk_campaign_carries_seed_post_id_posts")),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_campaign_carries_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_carries")),
        sa.UniqueConstraint("campaign_id", "post_id",
                            name=op.f("uq_campaign_carries_campaign_id_post_id")),
    )
    op.create_index(op.f("ix_campaign_carries_seed_post_id"), "campaign_carries",
                    ["seed_post_id"])
    op.create_index(op.f("ix_campaign_carries_post_id"), "campaign_carries", ["post_id"])
    for statement in view_sql(op.get_bind().dialect.name).values():
        op.execute(statement)


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in ("campaign_carries", "campaign_matches", "campaign_seeds", "campaigns"):
        op.drop_table(table)
    # Plain ALTER TABLE (SQLite 3.35+): batch mode would rebuild posts without 0009's triggers.
    op.execute("ALTER TABLE posts DROP COLUMN attachment_links")
    op.execute("ALTER TABLE posts DROP COLUMN parent_id")
