"""Regrade runs: the archive graded again with another bundle, kept beside the service's own results

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 22:00:00

Two new tables only; nothing existing changes, so a downgrade drops them and every item and result stays.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regrade_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("bundle_name", sa.String(length=200), nullable=False),
        sa.Column("bundle_version", sa.String(length=80), nullable=False),
        sa.Column("bundle_digest", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("pricing_version", sa.String(length=80), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("program", sa.String(length=200), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_regrade_runs_bundle_digest", "regrade_runs", ["bundle_digest"], unique=False)
    op.create_table(
        "regraded_results",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("previous_result_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["regrade_runs.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["previous_result_id"], ["results.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "item_id", name="uq_regraded_item"),
    )
    op.create_index("ix_regraded_results_run_id", "regraded_results", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_regraded_results_run_id", table_name="regraded_results")
    op.drop_table("regraded_results")
    op.drop_index("ix_regrade_runs_bundle_digest", table_name="regrade_runs")
    op.drop_table("regrade_runs")
