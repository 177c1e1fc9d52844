"""Whether an account is taxable, as its owner says: NULL keeps the default by kind (a
retirement account is tax-advantaged, every other kind taxable); true or false overrides
it (an HSA kept as a brokerage account, a taxable account kept as manual).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("taxable", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("taxable")
