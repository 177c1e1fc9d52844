"""Connections: an exchange (through ccxt) or a brokerage aggregator synced into one
account of the user's ledger. The credentials are stored encrypted (store/vault.py); the
cursor is where each stream of the sync (trades, deposits, withdrawals) resumes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("last_sync_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("account_id", name="uq_connections_account"),
    )
    op.create_index("ix_connections_user_id", "connections", ["user_id"])


def downgrade() -> None:
    op.drop_table("connections")  # its index with it (MySQL refuses to drop it alone)
