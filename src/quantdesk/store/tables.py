"""The system of record: SQLAlchemy Core tables (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from quantdesk.store.types import CalendarDate, ExactDecimal, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    #: Where this user's market prices come from: ``live`` providers, or the
    #: ``simulated`` market (the demo's). Never mixed: a live ledger never sees
    #: simulated closes, a simulated one never sees provider closes.
    Column("market", String(10), nullable=False, server_default="live"),
    #: Bumped by every change to the user's ledger or own closes (see ledger_changes).
    Column("ledger_revision", Integer, nullable=False, server_default="0"),
    #: Bumped by every write of the user's own closes (their analytics' price inputs).
    Column("closes_revision", Integer, nullable=False, server_default="0"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("institution", String(100)),
    Column("currency", String(5), nullable=False),
    Column("external_id", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    #: NULL: taxable by kind (retirement is not); true/false: as the owner said (0009).
    Column("taxable", Boolean),
    UniqueConstraint("user_id", "name", name="uq_accounts_user_name"),
)

instruments = Table(
    "instruments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("symbol", String(40), nullable=False),
    Column("asset_type", String(10), nullable=False),
    Column("currency", String(5), nullable=False),
    Column("name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    #: Explicit provider ids ({"coingecko": "bitcoin", "yahoo": "BRK-B"}): they win over
    #: every provider's own mapping of the symbol.
    Column("provider_ids", JSON(none_as_null=True)),
    UniqueConstraint("symbol", "asset_type", name="uq_instruments_symbol_type"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("format", String(40), nullable=False),
    #: What a holdings snapshot covers (the account it was imported into, or "" for a
    #: file naming its accounts in a column): the same file is re-applied to nothing else.
    Column("scope", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("instrument_id", Integer, ForeignKey("instruments.id")),
    Column("quantity", ExactDecimal),
    Column("price", ExactDecimal),
    Column("fees", ExactDecimal, nullable=False),
    Column("amount", ExactDecimal),
    Column("currency", String(5), nullable=False),
    Column("traded_at", UTCDateTime, nullable=False),
    Column("trade_date", CalendarDate, nullable=False),
    Column("timed", Boolean, nullable=False),
    Column("settles_on", CalendarDate),
    Column("acquired_on", CalendarDate),
    Column("split_ratio", ExactDecimal),
    Column("link", String(100)),
    Column("lot_selection", JSON(none_as_null=True)),
    Column("origin", String(20), nullable=False),
    Column("external_id", String(200)),
    Column("description", Text),
    Column("fingerprint", String(64)),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="SET NULL")),
    Column("source_line", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "fingerprint", name="uq_transactions_account_fingerprint"),
    Index("ix_transactions_user_trade_date", "user_id", "trade_date", "id"),
)

#: Closes a user loaded (``prices import``) or the demo loaded for its user: that user's
#: own data, private to them, and preferred to any provider's close of the same day.
user_prices = Table(
    "user_prices",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "instrument_id",
        Integer,
        ForeignKey("instruments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", CalendarDate, primary_key=True),
    Column("close", ExactDecimal, nullable=False),
    Column("currency", String(5), nullable=False),
    Column("source", String(20), nullable=False),
)

#: Market closes from providers, shared by every user.
prices = Table(
    "prices",
    metadata,
    Column(
        "instrument_id",
        Integer,
        ForeignKey("instruments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", CalendarDate, primary_key=True),
    Column("source", String(20), primary_key=True),
    Column("close", ExactDecimal, nullable=False),
    Column("currency", String(5), nullable=False),
)

#: The contiguous range of days whose provider closes are stored for good: only days
#: outside it are ever fetched again.
price_coverage = Table(
    "price_coverage",
    metadata,
    Column(
        "instrument_id",
        Integer,
        ForeignKey("instruments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("first_day", CalendarDate, nullable=False),
    Column("last_day", CalendarDate, nullable=False),
)

#: The last known live quote per instrument and currency: served (flagged stale) when
#: every provider fails, also after a restart.
quotes = Table(
    "quotes",
    metadata,
    Column(
        "instrument_id",
        Integer,
        ForeignKey("instruments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    #: The currency the quote was asked in (the instrument's).
    Column("currency", String(5), primary_key=True),
    Column("price", ExactDecimal, nullable=False),
    #: The currency the provider priced it in: a mismatch is shown, never converted silently.
    Column("price_currency", String(5), nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("source", String(20), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("note", Text),
)


#: Each change to a user's ledger or own closes: the revision it made and the earliest
#: day it touched, so materialized history is redone only from that day.
ledger_changes = Table(
    "ledger_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("from_day", CalendarDate, nullable=False),
    Index("ix_ledger_changes_user_revision", "user_id", "revision"),
)

#: The materialized daily value and net flow of each scope of a user (base currency).
portfolio_history = Table(
    "portfolio_history",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(200), primary_key=True),
    Column("day", CalendarDate, primary_key=True),
    Column("value", ExactDecimal, nullable=False),
    Column("flow", ExactDecimal, nullable=False),
)

#: The materialized metric set of each analytics request, with the fingerprint of the
#: inputs (ledger revision, closes, options) it was computed from.
portfolio_analytics = Table(
    "portfolio_analytics",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("request", String(64), primary_key=True),
    Column("scope", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("price_stats", JSON, nullable=False),
    #: The market's price revision the payload was computed at (see price_revisions).
    Column("price_revision", Integer, nullable=False, server_default="-1"),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
)

#: Browser sessions (``kind`` ``session``, with the hash of their CSRF token) and API
#: tokens for scripts (``api``). Only SHA-256 hashes of the secrets are stored.
auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("csrf_hash", String(64)),
    Column("name", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    UniqueConstraint("token_hash", name="uq_auth_tokens_token_hash"),
    Index("ix_auth_tokens_user_id", "user_id"),
)

#: Failed logins, by subject (``user:NAME`` and ``addr:IP``): the login rate limit is
#: counted here so that every API worker enforces the same one.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Index("ix_login_attempts_subject", "subject", "attempted_at"),
)


#: A counter per market (``live``, ``simulated``) bumped by every write of its closes:
#: analytics know at the cost of one row whether any close they read may have changed;
#: and one bumped by every write of its live quotes (store/market_quotes.py).
price_revisions = Table(
    "price_revisions",
    metadata,
    Column("market", String(10), primary_key=True),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("quotes_revision", Integer, nullable=False, server_default="0"),
)


#: Each user's settings; a column left NULL (or no row at all) means the app's default.
#: The provider keys are stored encrypted (store/vault.py; store/settings.py encrypts them).
user_settings = Table(
    "user_settings",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("base_currency", String(5)),
    Column("benchmark", String(40)),
    Column("risk_free", ExactDecimal),
    Column("alpha_vantage_key", String(200)),
    Column("coingecko_key", String(200)),
    Column("updated_at", UTCDateTime, nullable=False),
)


#: Each user's target allocation: a weight per asset class (``stock``) or symbol (``AAPL``).
targets = Table(
    "targets",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("weight", ExactDecimal, nullable=False),
)

#: Each user's rebalancing options (no row: no targets set yet).
target_options = Table(
    "target_options",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("band", ExactDecimal, nullable=False),
    Column("min_trade", ExactDecimal, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    #: Cash to invest (+) or withdraw (-); the concentration limit and the VaR budget
    #: (fractions). NULL: the app's default (migration 0008 added them).
    Column("cash_flow", ExactDecimal),
    Column("concentration_limit", ExactDecimal),
    Column("var_budget", ExactDecimal),
)

#: One account's own target allocation (rebalanced on its own) and its options (0010).
account_targets = Table(
    "account_targets",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("weight", ExactDecimal, nullable=False),
)

account_target_options = Table(
    "account_target_options",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("band", ExactDecimal, nullable=False),
    Column("min_trade", ExactDecimal, nullable=False),
    Column("cash_flow", ExactDecimal),
    Column("updated_at", UTCDateTime, nullable=False),
)


#: An exchange (through ccxt) or aggregator synced into one account. ``credentials`` is a
#: Fernet token (store/vault.py), never clear text; ``cursor`` is where each stream of
#: the sync resumes (0011).
connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("credentials", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("cursor", JSON, nullable=False),
    Column("last_sync_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", name="uq_connections_account"),
    Index("ix_connections_user_id", "user_id"),
)
