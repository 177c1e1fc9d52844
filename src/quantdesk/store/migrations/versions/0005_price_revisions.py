"""Price revisions: a counter per market bumped by every write of market closes, and one
per user bumped by every write of the user's own closes. Analytics compare these two
numbers instead of counting every stored close on each request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "price_revisions",
        sa.Column("market", sa.String(10), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    )
    op.bulk_insert(
        table, [{"market": "live", "revision": 0}, {"market": "simulated", "revision": 0}]
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("closes_revision", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("portfolio_analytics") as batch:
        batch.add_column(
            sa.Column("price_revision", sa.Integer(), nullable=False, server_default="-1")
        )


def downgrade() -> None:
    with op.batch_alter_table("portfolio_analytics") as batch:
        batch.drop_column("price_revision")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("closes_revision")
    op.drop_table("price_revisions")
