"""Reviewer-approved defects on review decisions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:40:00

One nullable JSON column: the defects a reviewer confirmed (type, photo, box), exported as defect labels for
retraining. Existing decisions keep null (= not reviewed for defects); a downgrade drops the column only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as table:
        table.add_column(sa.Column("defects", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as table:
        table.drop_column("defects")
