"""Errors raised on purpose, under one base so the edges can map them in one table.

QuantdeskError
 +-- NotFound            an account, instrument or transaction that does not exist
 +-- Conflict            a name already taken, or a stale write
 +-- InvalidInput        a value that cannot be accepted (with a reason)
 +-- LedgerError         the ledger would become inconsistent
 |    +-- InsufficientLots   a sale or transfer exceeds the open lots
 +-- StaleWrite          an edit based on a version that is no longer current (a Conflict)
 +-- NotAuthenticated    no valid session or token, or a wrong name or password
 +-- TooManyAttempts     login attempts over the limit (``retry_after`` s)
 +-- ProviderError       see its docstring
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quantdesk.domain.transactions import Transaction


class QuantdeskError(Exception):
    """Base of every error raised on purpose."""


class NotFound(QuantdeskError):
    """Something the caller named does not exist (for this user)."""


class Conflict(QuantdeskError):
    """A name is already taken, or a write was based on stale data."""


class InvalidInput(QuantdeskError):
    """A value that cannot be accepted; the message says why."""


class InvalidFields(InvalidInput):
    """Values of named fields that cannot be accepted: ``fields`` holds (field, reason)
    pairs, every one found, not just the first."""

    def __init__(self, fields: list[tuple[str | None, str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{f or 'entry'}: {reason}" for f, reason in fields))


class LedgerError(QuantdeskError):
    """Applying a transaction would make the ledger inconsistent."""


@dataclass(frozen=True, slots=True)
class Shortfall:
    """One sale or transfer that exceeds the units held."""

    account: str
    symbol: str
    on: date
    requested: Decimal
    held: Decimal
    #: The entry that disposes more than is held.
    entry: Transaction

    @property
    def transaction_ref(self) -> int | None:
        return self.entry.id

    @property
    def missing(self) -> Decimal:
        return self.requested - self.held

    def describe(self) -> str:
        return (
            f"{self.symbol} in account '{self.account}' on {self.on.isoformat()}: "
            f"disposes {self.requested} but only {self.held} held "
            f"(short by {self.missing}); if the history starts mid-way, re-run with "
            f"--allow-unknown-basis to record the {self.missing} as an opening position "
            f"of unknown cost basis"
        )


class InsufficientLots(LedgerError):
    """One or more sales or transfers exceed the open lots of an instrument in an account."""

    def __init__(self, shortfalls: list[Shortfall]) -> None:
        self.shortfalls = shortfalls
        super().__init__("; ".join(s.describe() for s in shortfalls))


class ProviderError(QuantdeskError):
    """A market-data provider could not answer.

    ProviderError
     +-- ProviderUnavailable  timeout, connection refused, 5xx, malformed or empty answer
     |    +-- RateLimited     HTTP 429 or a provider's rate-limit payload (``retry_after`` s)
     +-- UnknownSymbol        the provider does not know the symbol (cached negatively)
    """

    def __init__(self, message: str, *, provider: str = "") -> None:
        self.provider = provider
        super().__init__(f"{provider}: {message}" if provider else message)


class ProviderUnavailable(ProviderError):
    """The provider failed for a reason that may pass: retry later or fail over."""


class RateLimited(ProviderUnavailable):
    """The provider throttled us; ``retry_after`` is its hint in seconds, if it gave one."""

    def __init__(
        self, message: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider)


class UnknownSymbol(ProviderError):
    """The provider has no data for this symbol (not a transient failure)."""


class StaleWrite(Conflict):
    """An edit named a version of a row that another edit has replaced; ``current`` is
    the row as it is now (the client shows it and lets the user decide)."""

    def __init__(self, message: str, *, current: object) -> None:
        self.current = current
        super().__init__(message)


class NotAuthenticated(QuantdeskError):
    """No valid session or token, or a wrong user name or password (never which)."""


class TooManyAttempts(QuantdeskError):
    """Too many failed logins for an account or from an address; retry after
    ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
