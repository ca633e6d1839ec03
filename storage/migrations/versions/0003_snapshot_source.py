"""page_snapshots.source: audience read from the Page node, or followers from insights

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild): the views of 0002 read this table, and a SQLite
    # table rebuild under a view fails.
    op.add_column(
        "page_snapshots",
        sa.Column("source", sa.String(length=16), server_default="page", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("page_snapshots", "source")  # native DROP COLUMN (SQLite >= 3.35)
