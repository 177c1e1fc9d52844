"""Rebalancing options a user sets beside the targets: cash to invest (+) or withdraw (-),
the largest weight one asset may have (concentration alert) and the 1-day 95% VaR budget
as a fraction of the portfolio's value (VaR alert). Nullable: a row written before this
revision takes the app's defaults.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import ExactDecimal

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("cash_flow", "concentration_limit", "var_budget")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("target_options", sa.Column(name, ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("target_options") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
