"""Photos keep their quality checks (every check, the measures and the policy version) as JSON

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:00:00

Plain ALTER TABLE on both databases (SQLite 3.35+ drops a column in place): a batch copy of `photos` would drop the
table that `photo_maps` references, which SQLite's enforced foreign keys refuse.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("photos", sa.Column("quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("photos", "quality")
