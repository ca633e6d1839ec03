"""unit merges: unit_merges, page_moves, unit_changes.effective, pages.former_unit_id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

The 2025 reform merged Nghệ An's 460 communes into 130 and removed the districts. The units
file now says which units a unit was formed from and when (formed_from, effective):

* ``unit_merges``: one row per (new unit, predecessor), whole or in part, with its date;
* ``page_moves``: a Page given to another unit (by a merge, or by the file), with the date the
  move took effect: the Page keeps all its snapshots, and "as-was" reports put it back;
* ``unit_changes.effective``: the date a change took effect in the official tree, when the
  file gives one (NULL: an operational change, never undone by "as-was");
* ``pages.former_unit_id``: the unit a Page belonged to before a merge gave it to its unit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fanpulse.storage.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_unit_merges_unit_id_units")),
        sa.ForeignKeyConstraint(["predecessor_id"], ["units.id"],
                                name=op.f("fk_unit_merges_predecessor_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_merges")),
        sa.UniqueConstraint("unit_id", "predecessor_id",
                            name=op.f("uq_unit_merges_unit_id_predecessor_id")),
    )
    op.create_index(op.f("ix_unit_merges_unit_id"), "unit_merges", ["unit_id"])
    op.create_index(op.f("ix_unit_merges_predecessor_id"), "unit_merges", ["predecessor_id"])
    op.create_table(
        "page_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_id", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"],
                                name=op.f("fk_page_moves_page_id_pages")),
        sa.ForeignKeyConstraint(["from_unit_id"], ["units.id"],
                                name=op.f("fk_page_moves_from_unit_id_units")),
        sa.ForeignKeyConstraint(["to_unit_id"], ["units.id"],
                                name=op.f("fk_page_moves_to_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_moves")),
    )
    op.create_index(op.f("ix_page_moves_page_id"), "page_moves", ["page_id"])
    # Plain ADD COLUMNs (no batch rebuild: the views of 0002 read pages, and SQLite cannot
    # rebuild a table a view reads).
    op.add_column("unit_changes", sa.Column("effective", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":  # SQLite takes the reference in ADD COLUMN
        op.execute("ALTER TABLE pages ADD COLUMN former_unit_id INTEGER "
                   "CONSTRAINT fk_pages_former_unit_id_units REFERENCES units (id)")
    else:
        op.add_column("pages", sa.Column("former_unit_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_pages_former_unit_id_units"), "pages", "units",
                              ["former_unit_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_pages_former_unit_id_units"), "pages", type_="foreignkey")
    op.drop_column("pages", "former_unit_id")
    op.drop_column("unit_changes", "effective")
    op.drop_index(op.f("ix_page_moves_page_id"), table_name="page_moves")
    op.drop_table("page_moves")
    op.drop_index(op.f("ix_unit_merges_predecessor_id"), table_name="unit_merges")
    op.drop_index(op.f("ix_unit_merges_unit_id"), table_name="unit_merges")
    op.drop_table("unit_merges")
