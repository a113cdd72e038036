"""Photos keep their camera (EXIF make and model); an index on photos.created_at for the drift window

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00

One nullable column (existing photos keep null: camera unknown) and one index. Plain ALTER TABLE on both databases,
as in 0003: a batch copy of `photos` would drop the table that `photo_maps` references.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("photos", sa.Column("camera", sa.String(length=120), nullable=True))
    op.create_index("ix_photos_created_at", "photos", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_photos_created_at", table_name="photos")
    op.drop_column("photos", "camera")
