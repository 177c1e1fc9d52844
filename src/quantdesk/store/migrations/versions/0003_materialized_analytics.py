"""Materialized analytics: a ledger revision per user with the earliest day each change
touched, the daily history per scope, and the metric set per request with the input
fingerprint it was computed from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import CalendarDate, ExactDecimal, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("ledger_revision", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "ledger_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("from_day", CalendarDate(), nullable=False),
    )
    op.create_index("ix_ledger_changes_user_revision", "ledger_changes", ["user_id", "revision"])
    op.create_table(
        "portfolio_history",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("day", CalendarDate(), primary_key=True),
        sa.Column("value", ExactDecimal(), nullable=False),
        sa.Column("flow", ExactDecimal(), nullable=False),
    )
    op.create_table(
        "portfolio_analytics",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("request", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("price_stats", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portfolio_analytics")
    op.drop_table("portfolio_history")
    op.drop_table("ledger_changes")  # with its index (MySQL keeps it for the foreign key)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ledger_revision")
