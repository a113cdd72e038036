"""Signed certificates of items' final grades

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00

A new table only; nothing existing changes, so a downgrade drops it and every item, result and decision stays.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("result_id", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.Column("superseded_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["result_id"], ["results.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["review_decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_certificates_item_id", "certificates", ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificates_item_id", table_name="certificates")
    op.drop_table("certificates")
