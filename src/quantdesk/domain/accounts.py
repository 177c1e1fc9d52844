"""Accounts: where assets are held (a brokerage, an exchange, a wallet, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quantdesk.domain.errors import InvalidInput


class AccountKind(StrEnum):
    BROKERAGE = "brokerage"
    EXCHANGE = "exchange"
    WALLET = "wallet"
    RETIREMENT = "retirement"
    MANUAL = "manual"

    @classmethod
    def parse(cls, text: str) -> AccountKind:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise InvalidInput(f"unknown account kind {text!r} (one of {allowed})") from None


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    kind: AccountKind
    currency: str = "USD"
    institution: str | None = None
    id: int | None = None
    #: ``None``: by kind (a retirement account is tax-advantaged, any other taxable).
    taxable: bool | None = None

    @property
    def is_taxable(self) -> bool:
        return self.kind is not AccountKind.RETIREMENT if self.taxable is None else self.taxable


def validate_account_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100:
        raise InvalidInput("an account name is 1 to 100 characters")
    return cleaned
