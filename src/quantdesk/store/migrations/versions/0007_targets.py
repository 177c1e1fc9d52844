"""Per-user target allocations for rebalancing: one row per target (an asset class such
as ``stock``, or a symbol such as ``AAPL``) with its weight, and one row of options (the
tolerance band and the minimum trade value). Tables of their own, like the settings: a
user without rows simply has no targets yet (nothing to backfill).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import ExactDecimal, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("weight", ExactDecimal(), nullable=False),
    )
    op.create_table(
        "target_options",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("band", ExactDecimal(), nullable=False),
        sa.Column("min_trade", ExactDecimal(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("target_options")
    op.drop_table("targets")
