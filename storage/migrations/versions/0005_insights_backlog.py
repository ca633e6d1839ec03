"""insights_backlog: Page insights windows that failed, fetched again until they succeed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insights_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("first_failed_at", UTCDateTime(), nullable=False),
        sa.Column("last_tried_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"],
                                name=op.f("fk_insights_backlog_page_id_pages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insights_backlog")),
        sa.UniqueConstraint("page_id", "since", "until",
                            name=op.f("uq_insights_backlog_page_id_since_until")),
    )


def downgrade() -> None:
    op.drop_table("insights_backlog")
