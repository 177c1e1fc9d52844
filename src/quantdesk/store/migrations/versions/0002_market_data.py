"""Market data: provider ids on instruments, a user's market, stored coverage of daily
closes, and the last known quotes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import CalendarDate, ExactDecimal, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("provider_ids", sa.JSON(none_as_null=True)))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("market", sa.String(10), nullable=False, server_default="live"))
    op.create_table(
        "price_coverage",
        sa.Column(
            "instrument_id",
            sa.Integer(),
            sa.ForeignKey("instruments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("first_day", CalendarDate(), nullable=False),
        sa.Column("last_day", CalendarDate(), nullable=False),
    )
    op.create_table(
        "quotes",
        sa.Column(
            "instrument_id",
            sa.Integer(),
            sa.ForeignKey("instruments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("currency", sa.String(5), primary_key=True),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("price_currency", sa.String(5), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("quotes")
    op.drop_table("price_coverage")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("market")
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("provider_ids")
