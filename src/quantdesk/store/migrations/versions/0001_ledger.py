"""The ledger: users, accounts, instruments, imports, transactions, prices.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quantdesk.store.types import CalendarDate, ExactDecimal, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("institution", sa.String(100)),
        sa.Column("currency", sa.String(5), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_accounts_user_name"),
    )
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("asset_type", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(5), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("symbol", "asset_type", name="uq_instruments_symbol_type"),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "transactions",
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
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instruments.id")),
        sa.Column("quantity", ExactDecimal()),
        sa.Column("price", ExactDecimal()),
        sa.Column("fees", ExactDecimal(), nullable=False),
        sa.Column("amount", ExactDecimal()),
        sa.Column("currency", sa.String(5), nullable=False),
        sa.Column("traded_at", UTCDateTime(), nullable=False),
        sa.Column("trade_date", CalendarDate(), nullable=False),
        sa.Column("timed", sa.Boolean(), nullable=False),
        sa.Column("settles_on", CalendarDate()),
        sa.Column("acquired_on", CalendarDate()),
        sa.Column("split_ratio", ExactDecimal()),
        sa.Column("link", sa.String(100)),
        sa.Column("lot_selection", sa.JSON(none_as_null=True)),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("description", sa.Text()),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("imports.id", ondelete="SET NULL")),
        sa.Column("source_line", sa.Integer()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "account_id", "fingerprint", name="uq_transactions_account_fingerprint"
        ),
    )
    op.create_index(
        "ix_transactions_user_trade_date", "transactions", ["user_id", "trade_date", "id"]
    )
    op.create_table(
        "prices",
        sa.Column(
            "instrument_id",
            sa.Integer(),
            sa.ForeignKey("instruments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", CalendarDate(), primary_key=True),
        sa.Column("source", sa.String(20), primary_key=True),
        sa.Column("close", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(5), nullable=False),
    )
    op.create_table(
        "user_prices",
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "instrument_id",
            sa.Integer(),
            sa.ForeignKey("instruments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", CalendarDate(), primary_key=True),
        sa.Column("close", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(5), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_prices")
    op.drop_table("prices")
    op.drop_table("transactions")
    op.drop_table("imports")
    op.drop_table("instruments")
    op.drop_table("accounts")
    op.drop_table("users")
