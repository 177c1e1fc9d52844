"""What every Interactive Brokers layout shares: symbols, cash-transaction types,
currency exchanges (``EUR.USD``), commissions in another currency, and splits.

Decisions that hold for every IBKR format:

- A withholding tax is a ``tax``; a *positive* one (IBKR cancelling or refunding tax it
  withheld) cannot be a negative tax (the ledger's taxes are positive), so it goes back
  to the income it was withheld from: a ``dividend`` of the instrument when the row names
  one, else ``interest``. Net income and cash stay right.
- A positive fee (a fee reversed or rebated) is likewise ``interest``, described as such.
- A currency exchange moves cash between two currencies. The ledger keeps cash as one
  balance per currency, not as lots of an instrument, so it is recorded as two linked
  cash legs of exactly the amounts the statement shows: a ``transfer_out`` of the
  currency given up and a ``transfer_in`` of the currency received (and a ``fee`` for
  the commission). When the export does not name both currencies the row is skipped,
  with the amounts in the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.dates import When
from quantdesk.importers.table import Row

TIME_ZONE = "America/New_York"
#: ``BKE(US1182301036) Cash Dividend ...``: the ticker before the ISIN (or conid).
DESCRIBED = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9.\- ]{0,39}?)\s*\(([A-Za-z0-9]{5,12})\)")
#: ``Split 4 for 1`` / ``SPLIT 1 FOR 10``.
SPLIT = re.compile(r"\bsplit\s+([\d.]+)\s+for\s+([\d.]+)", re.IGNORECASE)
OPTION_CATEGORIES = frozenset(
    {
        "equity and index options",
        "options on futures",
        "futures",
        "warrants",
        "cfds",
        "opt",
        "fop",
        "fut",
        "war",
        "cfd",
        "iopt",
    }
)
_ASSET_TYPES = {"bonds": AssetType.BOND, "bond": AssetType.BOND, "fund": AssetType.FUND}


def symbol_of(text: str | None) -> str | None:
    """IBKR's ticker as the ledger spells it: ``BRK B`` is ``BRK.B``."""
    if text is None or not text.strip():
        return None
    return re.sub(r"\s+", ".", text.strip())


def described_symbol(description: str) -> str | None:
    """The ticker a cash row's description starts with (``BKE(US1182301036) ...``)."""
    match = DESCRIBED.match(description)
    return symbol_of(match[1]) if match else None


def asset_type_of(category: str, sub_category: str = "") -> AssetType | None:
    """The asset type the export states (``ETF`` sub-category, bonds, funds); stocks are
    only a fallback."""
    if sub_category.strip().upper() == "ETF":
        return AssetType.ETF
    return _ASSET_TYPES.get(category.strip().lower())


def is_derivative(category: str) -> bool:
    return category.strip().lower() in OPTION_CATEGORIES


def skip_derivative(row: Row, category: str, symbol: str | None) -> None:
    row.skip(
        f"{category} contract {symbol or ''}".strip()
        + " (the ledger has no short positions and does not track options or futures)"
    )


def _link(*parts: object) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return "ibkr-fx:" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def forex(
    row: Row,
    when: When,
    pair: str,
    quantity: Decimal,
    price: Decimal | None,
    proceeds: Decimal | None,
    *,
    account: str | None,
    external_id: str | None,
) -> Iterator[ParsedTransaction]:
    """A currency exchange ``BASE.QUOTE`` of ``quantity`` units of BASE (negative: BASE
    sold) for ``proceeds`` of QUOTE: two linked cash legs (see the module's notes)."""
    base, dot, quote = pair.strip().upper().partition(".")
    if not dot or not base or not quote:
        row.fail(None, f"a currency exchange needs a pair such as EUR.USD, not {pair!r}")
        return
    if proceeds is None:
        if price is None:
            row.fail(None, "a currency exchange needs a price or proceeds")
            return
        proceeds = -quantity * price
    given, got = (base, quote) if quantity < 0 else (quote, base)
    given_amount, got_amount = (
        (abs(quantity), abs(proceeds)) if quantity < 0 else (abs(proceeds), abs(quantity))
    )
    text = f"currency exchange {pair}: {given_amount} {given} for {got_amount} {got}"
    link = _link(when.at.isoformat(), pair, quantity, proceeds, external_id)
    for kind, amount, currency, leg in (
        (T.TRANSFER_OUT, given_amount, given, "out"),
        (T.TRANSFER_IN, got_amount, got, "in"),
    ):
        entry = row.entry(
            kind,
            when,
            amount=amount,
            currency=currency,
            account=account,
            external_id=external_id,
            description=text,
            link=link,
            leg=leg,
        )
        if entry is not None:
            yield entry


def commission(
    row: Row,
    when: When,
    amount: Decimal | None,
    currency: str | None,
    *,
    account: str | None,
    external_id: str | None,
    what: str,
) -> Iterator[ParsedTransaction]:
    """A commission charged in another currency than the trade's: its own ``fee``."""
    if not amount:
        return
    entry = row.entry(
        T.FEE if amount < 0 else T.INTEREST,
        when,
        amount=abs(amount),
        currency=currency,
        account=account,
        external_id=external_id,
        description=f"commission on {what}" if amount < 0 else f"commission refund on {what}",
        leg="commission",
    )
    if entry is not None:
        yield entry


def cash(
    row: Row,
    kind: str,
    when: When,
    amount: Decimal,
    *,
    currency: str | None,
    symbol: str | None,
    asset_type: AssetType | None = None,
    account: str | None,
    external_id: str | None,
    description: str,
) -> Iterator[ParsedTransaction]:
    """A cash row of one of ``dividend``, ``tax``, ``deposit``, ``fee``, ``interest``,
    with IBKR's signs (negative: money out)."""
    text = description or None
    entry_type: T
    symbol_for: str | None = None
    if kind == "dividend":
        entry_type, symbol_for = T.DIVIDEND, symbol
        if "return of capital" in description.lower():
            row.to_resolve(
                f"return of capital of {amount} {currency or ''} on {symbol}: recorded as a "
                "dividend; it should lower the cost basis instead (adjust the lots' basis)"
            )
    elif kind == "tax":
        if amount <= 0:
            entry_type, symbol_for = T.TAX, symbol
        elif symbol is not None:
            entry_type, symbol_for = T.DIVIDEND, symbol
            text = f"withholding tax refunded: {description}"
        else:
            entry_type = T.INTEREST
            text = f"withholding tax refunded: {description}"
    elif kind == "deposit":
        entry_type = T.DEPOSIT if amount > 0 else T.WITHDRAWAL
    elif kind == "fee":
        if amount <= 0:
            entry_type = T.FEE
        else:
            entry_type, text = T.INTEREST, f"fee refunded: {description}"
    elif kind == "interest":
        entry_type = T.INTEREST
    else:  # pragma: no cover - callers pass one of the kinds above
        raise ValueError(kind)
    entry = row.entry(
        entry_type,
        when,
        symbol=symbol_for,
        asset_type=asset_type if symbol_for else None,
        fallback_type=AssetType.STOCK if symbol_for else None,
        amount=amount,
        currency=currency,
        account=account,
        external_id=external_id,
        description=text,
        column="amount",
    )
    if entry is not None:
        yield entry


def split_ratio(description: str) -> Decimal | None:
    """4 for ``Split 4 for 1``, 0.1 for ``SPLIT 1 FOR 10``; None when not a split."""
    match = SPLIT.search(description)
    if match is None:
        return None
    new, old = Decimal(match[1]), Decimal(match[2])
    if new <= 0 or old <= 0:
        return None
    return derived(new / old)
