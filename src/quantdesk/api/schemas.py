"""Request and response bodies. Money and quantities cross JSON as decimal strings
(exact); requests accept a decimal string or a JSON number."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DecimalText = str | None
#: Ids are positive 32-bit integers in every database the ledger runs on: another number
#: is refused (422) rather than handed to a driver that may not bind it (SQLite raises
#: OverflowError past 64 bits).
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# auth -------------------------------------------------------------------------------------
class Credentials(Strict):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    username: str


class Me(UserOut):
    market: str
    auth: Literal["session", "api"]


class SessionState(BaseModel):
    signed_in: bool
    user: UserOut | None


class SessionOut(UserOut):
    csrf_token: str = Field(description="Send it back in X-CSRF-Token on every write.")
    expires_at: datetime


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None


class NewToken(TokenOut):
    token: str = Field(description="The secret: shown once, never again.")


# accounts ---------------------------------------------------------------------------------
AccountKindText = Literal["brokerage", "exchange", "wallet", "retirement", "manual"]


class AccountIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    kind: AccountKindText
    institution: str | None = Field(default=None, max_length=100)
    currency: str = Field(default="USD", pattern=r"^[A-Za-z]{3,5}$")
    taxable: bool | None = Field(
        default=None,
        description="Omitted or null: by kind (retirement is tax-advantaged, others taxable).",
    )


class AccountPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: AccountKindText | None = None
    institution: str | None = Field(default=None, max_length=100)
    taxable: bool | None = Field(
        default=None, description="true or false; null returns to the default by kind."
    )


class AccountOut(BaseModel):
    id: int
    name: str
    kind: str
    institution: str | None
    currency: str
    taxable: bool = Field(description="Whether sales realize taxable gains (harvesting, lots).")


# instruments ------------------------------------------------------------------------------
AssetTypeText = Literal["stock", "etf", "fund", "bond", "crypto", "cash", "other"]


class InstrumentOut(BaseModel):
    id: int
    symbol: str
    asset_type: str
    currency: str
    name: str | None
    provider_ids: dict[str, str]


class ResolveIn(Strict):
    symbol: str = Field(min_length=1, max_length=40)
    asset_type: AssetTypeText
    currency: str = Field(default="USD", pattern=r"^[A-Za-z]{3,5}$")


class QuoteOut(BaseModel):
    """A live quote (``quantdesk prices show --json``'s shape)."""

    symbol: str
    price: str
    currency: str
    as_of: datetime
    source: str
    fetched_at: datetime
    stale: bool
    simulated: bool
    note: str | None = None


class ResolvedOut(BaseModel):
    instrument: InstrumentOut
    quote: QuoteOut | None
    error: str | None = Field(default=None, description="Why there is no quote, if none.")


# transactions -----------------------------------------------------------------------------
TypeText = Literal[
    "buy",
    "sell",
    "dividend",
    "interest",
    "fee",
    "tax",
    "deposit",
    "withdrawal",
    "transfer_in",
    "transfer_out",
    "split",
    "staking_reward",
    "conversion",
]
Number = Decimal | None


class EntryFields(Strict):
    """The fields of a ledger entry: the generic trades columns (docs/cli-json.md)."""

    symbol: str | None = Field(default=None, max_length=40)
    asset_type: AssetTypeText | None = None
    quantity: Number = None
    price: Number = None
    fees: Number = None
    amount: Number = None
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3,5}$")
    settlement_date: date | None = None
    acquired_on: date | None = None
    ratio: Number = None
    to_symbol: str | None = Field(default=None, max_length=40)
    to_quantity: Number = None
    to_asset_type: AssetTypeText | None = None
    external_id: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class TransactionIn(EntryFields):
    account_id: Id
    date: str = Field(
        min_length=10,
        max_length=40,
        description="YYYY-MM-DD or an ISO date-time (UTC if no offset)",
    )
    type: TypeText


class TransactionPatch(EntryFields):
    account_id: Id | None = None
    date: str | None = Field(default=None, min_length=10, max_length=40)
    type: TypeText | None = None


class TransactionOut(BaseModel):
    id: int | None
    account: str
    type: str
    symbol: str | None
    asset_type: str | None
    quantity: DecimalText
    price: DecimalText
    fees: DecimalText
    amount: DecimalText
    currency: str
    traded_at: str
    acquired_on: str | None
    split_ratio: DecimalText
    link: str | None
    origin: str
    external_id: str | None
    description: str | None


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    total: int
    limit: int
    offset: int


class TransactionsCreated(BaseModel):
    items: list[TransactionOut]


class BasisIn(Strict):
    price: Decimal = Field(description="Cost basis per unit.")
    acquired_on: date


class LotPickIn(Strict):
    lot_id: int = Field(ge=1, le=MAX_ID)
    quantity: Decimal


class LotsIn(Strict):
    lots: list[LotPickIn] = Field(min_length=1, max_length=1000)


# holdings ---------------------------------------------------------------------------------
class HoldingOut(BaseModel):
    id: str | None = Field(
        description="ACCOUNT-INSTRUMENT (ACCOUNT-CUR for cash); null when consolidated"
    )
    account_id: int | None
    account: str | None
    instrument_id: int | None
    symbol: str
    asset_type: str
    quantity: str
    currency: str
    cost_basis: DecimalText
    average_cost: DecimalText
    unknown_basis_quantity: str
    price: DecimalText
    price_as_of: str | None
    price_source: str | None
    market_value: DecimalText
    unrealized_gain: DecimalText
    lots: int
    version: str
    editable: bool
    price_missing: bool


class TotalsOut(BaseModel):
    market_value: DecimalText
    cost_basis: DecimalText
    unrealized_gain: DecimalText


class BaseTotalOut(BaseModel):
    currency: str
    market_value: DecimalText
    rates: dict[str, str]
    missing_rates: list[str]


class HoldingsOut(BaseModel):
    as_of: date
    method: str
    consolidated: bool
    holdings: list[HoldingOut]
    totals: dict[str, TotalsOut]
    total_in_base: BaseTotalOut
    warnings: list[str]


class HoldingPatch(Strict):
    quantity: Decimal | None = None
    cost_basis: Decimal | None = Field(default=None, description="Total cost basis of the holding.")
    version: str | None = Field(
        default=None, max_length=64, description="The version read (or send If-Match)."
    )


class HoldingEdited(BaseModel):
    holding: HoldingOut
    analytics: dict[str, Any] = Field(description="The recomputed analytics (GET /analytics).")


# analytics --------------------------------------------------------------------------------
class WhatIfIn(Strict):
    changes: dict[str, float] = Field(
        description="Units to add (positive) or remove (negative) per symbol.",
        min_length=1,
        max_length=500,
    )


class MarketIn(Strict):
    market: Literal["live", "simulated"]
