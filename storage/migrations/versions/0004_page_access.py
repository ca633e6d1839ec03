"""pages: what the token can read of each Page; page_errors.severity (failure or gap)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PAGE_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[object]], ...] = (
    ("access", sa.String(length=16)),
    ("access_reason", sa.Text()),
    ("access_action", sa.Text()),
    ("access_checked_at", UTCDateTime()),
    ("tasks", sa.String(length=255)),
    ("posts_readable", sa.Boolean()),
    ("posts_checked_at", UTCDateTime()),
    ("insights_state", sa.String(length=16)),
    ("insights_checked_at", UTCDateTime()),
)


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch rebuild): the views of 0002 read these tables, and a SQLite
    # table rebuild under a view fails.
    for name, type_ in _PAGE_COLUMNS:
        op.add_column("pages", sa.Column(name, type_, nullable=True))
    op.add_column(
        "page_errors",
        sa.Column("severity", sa.String(length=8), server_default="failed", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("page_errors", "severity")  # native DROP COLUMN (SQLite >= 3.35)
    for name, _type in reversed(_PAGE_COLUMNS):
        op.drop_column("pages", name)
