"""Per-user settings: base currency, default benchmark and risk-free rate, and the price
providers' API keys. One row per user, in a table of its own (not columns on ``users``):
``users`` is read by every authentication and stays narrow, the secrets live apart from
the credentials (their encryption at rest, issue 10, touches this table alone), and a
user without a row simply has the defaults (nothing to backfill).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import ExactDecimal, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_settings",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("base_currency", sa.String(5)),
        sa.Column("benchmark", sa.String(40)),
        sa.Column("risk_free", ExactDecimal()),
        sa.Column("alpha_vantage_key", sa.String(200)),
        sa.Column("coingecko_key", sa.String(200)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_settings")
