"""alerts: the morning brief's conditions, briefs, deliveries and what it saw of each Page's
access; what a run learned of the token (collection_runs.token_expires_at, token_permissions)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27

docs/alerts.md says how the tables are filled (alerts/); docs/schema.md describes them. The two
collection_runs columns are a plain ALTER TABLE on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("collection_runs", sa.Column("token_expires_at", UTCDateTime(), nullable=True))
    op.add_column("collection_runs", sa.Column("token_permissions", sa.Text(), nullable=True))
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("first_found_at", UTCDateTime(), nullable=False),
        sa.Column("last_found_at", UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("times_sent", sa.Integer(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name=op.f("fk_alerts_page_id_pages")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_alerts_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_index(op.f("ix_alerts_resolved_at"), "alerts", ["resolved_at"])
    op.create_table(
        "alert_briefs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_briefs")),
    )
    op.create_index(op.f("ix_alert_briefs_created_at"), "alert_briefs", ["created_at"])
    op.create_table(
        "alert_brief_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["brief_id"], ["alert_briefs.id"],
                                name=op.f("fk_alert_brief_items_brief_id_alert_briefs")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"],
                                name=op.f("fk_alert_brief_items_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_brief_items")),
        sa.UniqueConstraint("brief_id", "alert_id",
                            name=op.f("uq_alert_brief_items_brief_id_alert_id")),
    )
    op.create_index(op.f("ix_alert_brief_items_alert_id"), "alert_brief_items", ["alert_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["brief_id"], ["alert_briefs.id"],
                                name=op.f("fk_alert_deliveries_brief_id_alert_briefs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(op.f("ix_alert_deliveries_brief_id"), "alert_deliveries", ["brief_id"])
    op.create_table(
        "alert_page_access",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"],
                                name=op.f("fk_alert_page_access_page_id_pages")),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_alert_page_access")),
    )


def downgrade() -> None:
    for table in ("alert_page_access", "alert_deliveries", "alert_brief_items", "alert_briefs",
                  "alerts"):
        op.drop_table(table)
    op.execute("ALTER TABLE collection_runs DROP COLUMN token_permissions")
    op.execute("ALTER TABLE collection_runs DROP COLUMN token_expires_at")
