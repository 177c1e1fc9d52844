"""Portfolio Performance (PP) CSV files: PP's own transaction export and the layouts of
its CSV import wizard (portfolio transactions and account transactions), with English
or German column names.

- Export: ``Date;Type;Security;Shares;Quote;Amount;Fees;Taxes;Net Transaction Value;
  Cash Account;Offset Account;Note;Source``, dates ``yyyy-MM-dd HH:mm:ss``.
- Wizard: ``Date``/``Datum``, ``Time``/``Uhrzeit``, ``Type``/``Typ``, ``Value``/``Wert``,
  ``Transaction Currency``/``Buchungswährung``, ``Gross Amount``/``Bruttobetrag``,
  ``Currency Gross Amount``/``Währung Bruttobetrag``, ``Exchange Rate``/``Wechselkurs``,
  ``Fees``/``Gebühren``, ``Taxes``/``Steuern``, ``Shares``/``Stück``, ``ISIN``, ``WKN``,
  ``Ticker Symbol``/``Ticker-Symbol``, ``Security Name``/``Wertpapiername``,
  ``Note``/``Notiz``, ``Cash Account``, ``Offset Account``, ``Securities Account``.

``;`` files use the decimal comma (``1740,98``); a cell holding one space is empty.
Dates are ``yyyy-MM-dd`` or ``dd.MM.yyyy``. PP stores local times without a zone:
they are read as Europe/Berlin (PP's home and most users' zone); a time of 00:00 is how
PP stores a day without a time, so it is a date-only entry.

``Value`` (``Amount`` in the export) is what the cash account is booked: a buy's value
includes its fees and taxes, a sale's and a dividend's are net of them. So a buy's gross
is value - fees - taxes, a sale's value + fees + taxes, a dividend's and interest's
income value + fees + taxes; the price is the quote when the file has one, else gross
over shares. Taxes are their own ``tax`` entry, so cash and income stay what PP shows.
The symbol is the ticker, else the ISIN, else the WKN, else the security's name made a
ticker (``BASF``); the name is the description. The currency is the transaction
currency column, else the ``(EUR)`` PP puts after a cash account's name, else the
account's. The exchange rate is not needed: the value is in the booking currency.

Cash transfers make two linked legs (out of the cash account, into the offset account,
with the gross amount in its currency when they differ). Deliveries are transfers in or
out at the value. Fee and tax refunds are left to resolve: the ledger has no refund.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import day, moment, on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, Signature, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

ZONE = "Europe/Berlin"
#: Column keys (as :func:`header_key` writes them) of each field, English and German.
FIELDS: dict[str, tuple[str, ...]] = {
    "date": ("date", "datum"),
    "time": ("time", "uhrzeit"),
    "type": ("type", "typ"),
    "value": ("value", "wert", "amount", "betrag"),
    "currency": ("transaction_currency", "buchungswährung", "currency", "währung"),
    "gross": ("gross_amount", "bruttobetrag"),
    "gross_currency": ("currency_gross_amount", "währung_bruttobetrag"),
    "fees": ("fees", "gebühren"),
    "taxes": ("taxes", "steuern"),
    "shares": ("shares", "stück"),
    "quote": ("quote", "kurs"),
    "ticker": ("ticker_symbol", "tickersymbol"),
    "isin": ("isin",),
    "wkn": ("wkn",),
    "name": ("security_name", "wertpapiername", "security", "wertpapier"),
    "note": ("note", "notiz"),
    "cash_account": ("cash_account", "konto", "verrechnungskonto"),
    "offset_account": ("offset_account", "gegenkonto"),
    "securities_account": ("securities_account", "depot", "wertpapierdepot"),
    "transfer_to": ("transfer_to", "umbuchung_nach"),
}
_TYPES: dict[str, str] = {
    "buy": "buy",
    "kauf": "buy",
    "sell": "sell",
    "verkauf": "sell",
    "delivery (inbound)": "delivery_in",
    "einlieferung": "delivery_in",
    "delivery (outbound)": "delivery_out",
    "auslieferung": "delivery_out",
    "transfer (inbound)": "transfer_in",
    "umbuchung (eingang)": "transfer_in",
    "transfer (outbound)": "transfer_out",
    "umbuchung (ausgang)": "transfer_out",
    "deposit": "deposit",
    "einlage": "deposit",
    "withdrawal": "withdrawal",
    "removal": "withdrawal",
    "entnahme": "withdrawal",
    "interest": "interest",
    "zinsen": "interest",
    "interest charge": "interest_charge",
    "zinsbelastung": "interest_charge",
    "dividend": "dividend",
    "dividende": "dividend",
    "fees": "fees",
    "gebühren": "fees",
    "fees refund": "fees_refund",
    "gebührenerstattung": "fees_refund",
    "taxes": "taxes",
    "steuern": "taxes",
    "tax refund": "tax_refund",
    "steuerrückerstattung": "tax_refund",
}
_DATE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$"
)
_ACCOUNT_CURRENCY = re.compile(r"\(([A-Za-z]{3})\)\s*$")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9.\-_/:^=]+")


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx, decimal_comma=ctx.dialect.decimal_comma)
    for row in table.rows(ragged=True):
        yield from _row(_PPRow(row))


class _PPRow:
    """A row addressed by PP's field names (whatever the header's language)."""

    def __init__(self, row: Row) -> None:
        self.row = row

    def text(self, name: str) -> str:
        return self.row.text(*FIELDS[name])

    def value(self, name: str) -> str | None:
        return self.row.value(*FIELDS[name])

    def number(self, name: str) -> Decimal | None:
        return self.row.number(*FIELDS[name])

    def fail(self, name: str | None, reason: str) -> None:
        self.row.fail(None if name is None else FIELDS[name], reason)

    def column(self, name: str) -> str:
        return self.row.column(*FIELDS[name])


def pp_when(text: str, clock: str | None = None) -> When:
    """A PP date (``yyyy-MM-dd`` or ``dd.MM.yyyy``, with or without a time; ``clock``
    is a separate time cell) in Europe/Berlin; midnight is a day without a time."""
    raw = text.strip()
    match = _DATE.match(raw)
    if match is None:
        raise InvalidInput(
            f"not a date: {raw!r} (expected yyyy-MM-dd or dd.MM.yyyy, optionally with HH:mm:ss)"
        )
    on = day(match[1], "dmy" if "." in match[1] else "ymd")
    written = match[2] or (clock.strip() if clock else "")
    if not written or re.fullmatch(r"0?0:00(:00)?", written):
        return on_day(on)
    return moment(f"{on.isoformat()} {written}", tz=ZONE)


def _row(r: _PPRow) -> Iterator[ParsedTransaction]:
    row = r.row
    raw_type = r.text("type")
    kind = _TYPES.get(re.sub(r"\s+", " ", raw_type.lower()))
    if kind is None:
        r.fail(
            "type",
            f"unknown Portfolio Performance transaction type {raw_type!r}"
            if raw_type
            else "the transaction type is empty",
        )
        return
    when = _when(r)
    value = r.number("value")
    fees = r.number("fees") or ZERO
    taxes = r.number("taxes") or ZERO
    shares = r.number("shares")
    quote = r.number("quote")
    gross = r.number("gross")
    if not row.ok or when is None:
        return
    if value is None and not (kind in ("buy", "sell") and quote is not None):
        r.fail("value", "the value (amount booked) is empty")
        return
    cash_account = r.value("cash_account")
    currency = r.value("currency") or _account_currency(cash_account)
    symbol, name = _security(r)
    note = r.value("note")
    description = note or name
    base: dict[str, Any] = {"currency": currency}
    if kind in ("buy", "sell", "delivery_in", "delivery_out") or (
        kind in ("transfer_in", "transfer_out") and symbol is not None
    ):
        if symbol is None or not shares:
            r.fail("shares" if symbol else "name", f"a {raw_type} needs a security and shares")
            return
        account = r.value("securities_account") or cash_account
        yield from _securities(
            r, kind, when, symbol, shares, value, quote, fees, taxes, account, description, base
        )
        return
    assert value is not None
    if kind in ("transfer_in", "transfer_out"):
        yield from _cash_transfer(r, kind, when, value, gross, cash_account, description, base)
        return
    if kind in ("fees_refund", "tax_refund"):
        what = "fee refund" if kind == "fees_refund" else "tax refund"
        row.to_resolve(
            f"{what} of {value} {currency or ''}".rstrip()
            + f" on {when.on.isoformat()}: the ledger has no refund entry, so it is not "
            "recorded; record it yourself (a deposit of the refunded cash, or correct the "
            "original fee or tax)"
        )
        return
    if kind in ("dividend", "interest"):
        if kind == "dividend" and symbol is None:
            r.fail("name", "a dividend needs the security")
            return
        main = row.entry(
            T.DIVIDEND if kind == "dividend" else T.INTEREST,
            when,
            symbol=symbol if kind == "dividend" else None,
            fallback_type=AssetType.STOCK,
            amount=value + fees + taxes,
            fees=fees if kind == "dividend" else None,
            account=cash_account,
            description=description,
            leg=kind if taxes or (fees and kind == "interest") else "",
            column=FIELDS["value"],
            **base,
        )
        if main is not None:
            yield main
        if fees and kind == "interest":
            fee = row.entry(
                T.FEE,
                when,
                amount=fees,
                account=cash_account,
                description=f"fees on {raw_type}",
                leg="fee",
                column=FIELDS["fees"],
                **base,
            )
            if fee is not None:
                yield fee
        if taxes:
            yield from _tax(r, when, taxes, cash_account, f"taxes on {raw_type}", base)
        return
    plain = {
        "deposit": T.DEPOSIT,
        "withdrawal": T.WITHDRAWAL,
        "fees": T.FEE,
        "taxes": T.TAX,
        "interest_charge": T.INTEREST,
    }[kind]
    if (fees or taxes) and kind not in ("fees", "taxes"):
        row.to_resolve(
            f"{raw_type} of {value} on {when.on.isoformat()} also lists fees {fees} and "
            f"taxes {taxes}: only the {raw_type.lower()} is recorded; add them yourself if "
            "they were charged separately"
        )
    entry = row.entry(
        plain,
        when,
        amount=-abs(value) if kind == "interest_charge" else value,
        account=cash_account,
        description=description,
        column=FIELDS["value"],
        **base,
    )
    if entry is not None:
        yield entry


def _when(r: _PPRow) -> When | None:
    clock = r.value("time")
    found = r.row.parsed(FIELDS["date"], lambda text: pp_when(text, clock))
    if found is None:
        if r.row.ok:
            r.fail("date", "date is empty")
        return None
    if found.on > r.row.table.ctx.today + timedelta(days=1):
        r.fail("date", f"{found.on.isoformat()} is in the future")
        return None
    return found


def _security(r: _PPRow) -> tuple[str | None, str | None]:
    """The symbol (ticker, ISIN, WKN, else the name made a ticker) and the name."""
    name = r.value("name")
    for field in ("ticker", "isin", "wkn"):
        found = r.value(field)
        if found:
            return found, name
    if name:
        slug = _NAME_CHARS.sub("-", name.strip()).strip("-.:/^=_")[:40].rstrip("-")
        return slug or None, name
    return None, None


def _account_currency(account: str | None) -> str | None:
    """The currency PP writes after a cash account's name: ``broker-A (EUR)``."""
    match = _ACCOUNT_CURRENCY.search(account or "")
    return match[1].upper() if match else None


def _securities(
    r: _PPRow,
    kind: str,
    when: When,
    symbol: str,
    shares: Decimal,
    value: Decimal | None,
    quote: Decimal | None,
    fees: Decimal,
    taxes: Decimal,
    account: str | None,
    description: str | None,
    base: dict[str, Any],
) -> Iterator[ParsedTransaction]:
    row = r.row
    quantity = abs(shares)
    common: dict[str, Any] = {
        "symbol": symbol,
        "fallback_type": AssetType.STOCK,
        "quantity": quantity,
        "account": account,
        "description": description,
        "column": FIELDS["value"],
        **base,
    }
    if kind in ("buy", "sell"):
        price = quote
        if price is None and value is not None:
            gross = abs(value) - fees - taxes if kind == "buy" else abs(value) + fees + taxes
            if gross < 0:
                r.fail("value", f"the value {value} is less than its fees and taxes")
                return
            price = derived(gross / quantity)
        entry = row.entry(
            T.BUY if kind == "buy" else T.SELL,
            when,
            price=price,
            fees=fees,
            leg=kind if taxes else "",
            **common,
        )
        if entry is not None:
            yield entry
        if taxes:
            yield from _tax(r, when, taxes, account, f"taxes on the {kind} of {symbol}", base)
        return
    # deliveries and transfers of securities move units, not cash
    if fees or taxes:
        row.to_resolve(
            f"{kind.replace('_', ' ')} of {quantity} {symbol} lists fees {fees} and taxes "
            f"{taxes}: not recorded (a delivery moves no cash); add them yourself if paid"
        )
    price = derived(abs(value) / quantity) if value is not None else None
    if kind in ("delivery_in", "delivery_out"):
        entry = row.entry(
            T.TRANSFER_IN if kind == "delivery_in" else T.TRANSFER_OUT,
            when,
            price=price,
            **common,
        )
        if entry is not None:
            yield entry
        return
    target = r.value("transfer_to") or r.value("offset_account")
    link = _link(when, symbol, quantity, account, target)
    legs = [(T.TRANSFER_OUT, account), (T.TRANSFER_IN, target)]
    if kind == "transfer_in":
        legs = [(T.TRANSFER_IN, account), (T.TRANSFER_OUT, target)]
    for leg, (direction, leg_account) in enumerate(legs):
        if leg == 1 and target is None:
            break
        entry = row.entry(
            direction,
            when,
            price=price,
            link=link if target else None,
            leg=direction.value if target else "",
            **{**common, "account": leg_account},
        )
        if entry is not None:
            yield entry


def _cash_transfer(
    r: _PPRow,
    kind: str,
    when: When,
    value: Decimal,
    gross: Decimal | None,
    cash_account: str | None,
    description: str | None,
    base: dict[str, Any],
) -> Iterator[ParsedTransaction]:
    """A transfer between two cash accounts: two linked legs, the other side in its own
    currency (the gross amount) when it differs."""
    row = r.row
    offset = r.value("offset_account")
    other_currency = r.value("gross_currency") or _account_currency(offset) or base["currency"]
    other_amount = gross if gross is not None else value
    if gross is None and other_currency != base["currency"]:
        r.fail("gross", f"a transfer to {other_currency} needs the gross amount in it")
        return
    mine = T.TRANSFER_OUT if kind == "transfer_out" else T.TRANSFER_IN
    theirs = T.TRANSFER_IN if kind == "transfer_out" else T.TRANSFER_OUT
    link = _link(when, None, value, cash_account, offset) if offset else None
    entry = row.entry(
        mine,
        when,
        amount=abs(value),
        account=cash_account,
        description=description,
        link=link,
        leg=mine.value if offset else "",
        column=FIELDS["value"],
        **base,
    )
    if entry is not None:
        yield entry
    if offset is None:
        return
    other = row.entry(
        theirs,
        when,
        amount=abs(other_amount),
        currency=other_currency,
        account=offset,
        description=description,
        link=link,
        leg=theirs.value,
        column=FIELDS["gross"] if gross is not None else FIELDS["value"],
    )
    if other is not None:
        yield other


def _tax(
    r: _PPRow,
    when: When,
    taxes: Decimal,
    account: str | None,
    description: str,
    base: dict[str, Any],
) -> Iterator[ParsedTransaction]:
    entry = r.row.entry(
        T.TAX,
        when,
        amount=taxes,
        account=account,
        description=description,
        leg="tax",
        column=FIELDS["taxes"],
        **base,
    )
    if entry is not None:
        yield entry


def _link(
    when: When, symbol: str | None, amount: Decimal, source: str | None, target: str | None
) -> str:
    """The same for both legs of one transfer, and stable across re-exports."""
    return f"pp:{when.at.isoformat()}:{symbol or ''}:{amount.normalize()}:{source}>{target}"


def _signatures() -> tuple[Signature, ...]:
    found = [
        # PP's own export
        sig("Date", "Type", "Security", "Shares", "Quote", "Amount", "Net Transaction Value"),
        # import wizard, account transactions
        sig("Date", "Type", "Value", "Cash Account"),
        sig("Date", "Type", "Value", "Transaction Currency"),
        sig("Datum", "Typ", "Wert", "Buchungswährung"),
        sig("Datum", "Typ", "Wert", "Bruttobetrag"),
    ]
    # import wizard, portfolio transactions: shares and one way to name the security
    for security in ("Security Name", "ISIN", "WKN", "Ticker Symbol"):
        found.append(sig("Date", "Type", "Value", "Shares", security))
    for security in ("Wertpapiername", "ISIN", "WKN", "Ticker-Symbol"):
        found.append(sig("Datum", "Typ", "Wert", "Stück", security))
    return tuple(found)


FORMATS = (
    Format(
        name="portfolio-performance",
        title="Portfolio Performance CSV (export, or import-wizard layout)",
        kind="csv",
        columns=(
            "Date",
            "Time",
            "Type",
            "Value",
            "Transaction Currency",
            "Gross Amount",
            "Currency Gross Amount",
            "Exchange Rate",
            "Fees",
            "Taxes",
            "Shares",
            "ISIN",
            "WKN",
            "Ticker Symbol",
            "Security Name",
            "Note",
            "Cash Account",
            "Offset Account",
            "Securities Account",
            "Transfer to",
            "Security",
            "Quote",
            "Amount",
            "Net Transaction Value",
            "Source",
            "Datum",
            "Uhrzeit",
            "Typ",
            "Wert",
            "Buchungswährung",
            "Bruttobetrag",
            "Währung Bruttobetrag",
            "Wechselkurs",
            "Gebühren",
            "Steuern",
            "Stück",
            "Ticker-Symbol",
            "Wertpapiername",
            "Notiz",
        ),
        signatures=_signatures(),
        csv_parser=parse,
        time_zone=ZONE,
        notes="decimal comma in ';' files; local times as Europe/Berlin; refunds to resolve",
    ),
)
