"""Quote revisions: a counter per market bumped by every write of its live quotes, so a
process can keep a market's latest prices and know at the cost of one row whether they
moved (store/market_quotes.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("price_revisions") as batch:
        batch.add_column(
            sa.Column("quotes_revision", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("price_revisions") as batch:
        batch.drop_column("quotes_revision")
