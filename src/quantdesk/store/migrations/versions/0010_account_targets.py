"""Target allocations of one account (a 401k held at 80/20 on its own): weights and the
rebalancing options per account, beside the portfolio's own (``targets``). An account with
targets of its own is rebalanced on its own; the portfolio's targets apply to the other
accounts. Deleting the account deletes its targets.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import ExactDecimal, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_targets",
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("weight", ExactDecimal(), nullable=False),
    )
    op.create_table(
        "account_target_options",
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("band", ExactDecimal(), nullable=False),
        sa.Column("min_trade", ExactDecimal(), nullable=False),
        sa.Column("cash_flow", ExactDecimal()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_target_options")
    op.drop_table("account_targets")
