"""Ghostfolio's activity import files: the JSON export/import document and the CSV
import table.

JSON: ``{"meta", "accounts", "assetProfiles", "platforms", "tags", "activities",
"user"}``; each activity has ``type`` (BUY, SELL, DIVIDEND, FEE, INTEREST, LIABILITY and
the former ITEM), ``quantity``, ``unitPrice``, ``fee``, ``currency``, ``dataSource``,
``symbol``, ``date`` (ISO-8601), ``accountId``, ``comment`` and, from a real instance,
``id``. A record's "line" is the 1-based index of the activity in ``activities``.

CSV: ``Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note`` with Ghostfolio's
column aliases and its date formats (``dd-MM-yyyy``, ``dd/MM/yyyy``, ``dd.MM.yyyy``,
``yyyy-MM-dd``, ``yyyy/MM/dd``, ``yyyy.MM.dd``, ``yyyyMMdd``; two-digit years refused).

Mapping (Ghostfolio's own semantics):

- BUY/SELL: ``quantity`` units at ``unitPrice`` plus ``fee``.
- DIVIDEND: ``quantity`` is the shares held and ``unitPrice`` the dividend per share, so
  the income is quantity x unitPrice (the quantity is not passed on: in the ledger a
  dividend with a quantity is a reinvestment).
- FEE: the amount is ``fee`` (Ghostfolio zeroes quantity and unitPrice), else
  quantity x unitPrice; INTEREST: quantity x unitPrice (a fee on it is its own entry).
- LIABILITY (a debt, not a holding) is left to resolve; ITEM (removed upstream: a
  valuable such as a car) is a buy of a manual asset.
- An activity dated after today is a Ghostfolio *draft* (a planned order, not
  executed): it is skipped and reported.
- ``dataSource`` COINGECKO is crypto, MANUAL a manual asset (type ``other``), anything
  else an equity unless the symbol is a crypto pair in its own currency (Ghostfolio
  stores Yahoo's ``BTC-USD`` as ``BTCUSD``): then it is the crypto ``BTC`` in USD.
- A manual asset's symbol is its name made a ticker (``Penthouse Apartment`` ->
  ``PENTHOUSE-APARTMENT``), so the JSON export (whose symbol is a UUID) and the CSV (the
  name) give the same instrument; a nameless one keeps its UUID (36 characters fit).
- Account balances (``accounts[].balances``) are snapshots, not entries: skipped.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import Issues, Notices, ParsedTransaction
from quantdesk.importers.cells import moment, number, on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table, build_entry

TYPES = ("BUY", "SELL", "DIVIDEND", "FEE", "INTEREST", "LIABILITY", "ITEM")
_SYMBOL_CHARS = re.compile(r"[^A-Za-z0-9.\-_/:^=]+")
_VALID_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/:^=]{0,39}$")
_DATE = re.compile(
    r"^(?:(?P<d1>\d{1,2})(?P<s1>[-/.])(?P<m1>\d{1,2})(?P=s1)(?P<y1>\d{4})"
    r"|(?P<y2>\d{4})(?P<s2>[-/.])(?P<m2>\d{1,2})(?P=s2)(?P<d2>\d{1,2})"
    r"|(?P<y3>\d{4})(?P<m3>\d{2})(?P<d3>\d{2}))$"
)
_DATE_HINT = (
    "dd-MM-yyyy, dd/MM/yyyy, dd.MM.yyyy, yyyy-MM-dd, yyyy/MM/dd, yyyy.MM.dd or yyyyMMdd; "
    "two-digit years are refused"
)
#: Nesting deeper than this is no Ghostfolio export (it nests four levels).
MAX_DEPTH = 64


@dataclass(slots=True)
class Activity:
    """One Ghostfolio activity, from either file kind, with its fields parsed."""

    line: int
    type: str
    when: When
    symbol: str | None
    data_source: str
    currency: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    fee: Decimal
    account: str | None
    comment: str | None
    name: str | None
    external_id: str | None
    #: The field names of this file kind, for issues.
    fields: Mapping[str, str]


# shared mapping -------------------------------------------------------------------------
def ghostfolio_day(text: str) -> When:
    """A date in one of Ghostfolio's import formats, or an ISO-8601 date and time; a date
    at midnight UTC (how Ghostfolio stores a day) has no time of day."""
    raw = text.strip()
    if len(raw) > 10 and "T" in raw:
        found = moment(raw)
        if found.at.hour == found.at.minute == found.at.second == found.at.microsecond == 0:
            return on_day(found.at.date())
        return found
    match = _DATE.match(raw)
    if match is None:
        raise InvalidInput(f"not a date: {raw!r} (expected {_DATE_HINT})")
    parts = match.groupdict()
    for n in "123":
        if parts[f"y{n}"]:
            year, month, dom = int(parts[f"y{n}"]), int(parts[f"m{n}"]), int(parts[f"d{n}"])
    try:
        return on_day(date(year, month, dom))
    except ValueError:
        raise InvalidInput(f"not a date: {raw!r} (expected {_DATE_HINT})") from None


def _manual_symbol(symbol: str | None, name: str | None) -> str | None:
    """A manual asset's ticker: its name made one, else its own symbol (a UUID)."""
    for text in (name, symbol):
        if not text:
            continue
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        slug = _SYMBOL_CHARS.sub("-", folded.strip()).strip("-.:/^=_")[:40].rstrip("-")
        if slug and _VALID_SYMBOL.match(slug):
            return slug
    return symbol


def _instrument(act: Activity) -> tuple[str | None, AssetType | None, AssetType | None]:
    """Symbol, asset type and fallback type of the activity's asset."""
    source = act.data_source.upper()
    if source == "MANUAL":
        return _manual_symbol(act.symbol, act.name), AssetType.OTHER, None
    if source == "COINGECKO":
        return act.symbol, AssetType.CRYPTO, None
    symbol, currency = (act.symbol or "").upper(), (act.currency or "").upper()
    if currency and len(currency) == 3:
        for suffix in (currency, "-" + currency):
            base = symbol[: -len(suffix)]
            if symbol.endswith(suffix) and 2 <= len(base) <= 10 and base.isalnum():
                return base, AssetType.CRYPTO, None
    return act.symbol, None, AssetType.STOCK


def activity_entries(
    act: Activity, issues: Issues, notices: Notices, today: date
) -> Iterator[ParsedTransaction]:
    """The ledger entries of one activity (skips and to-resolve notices included)."""
    kind = act.type.upper()
    f = act.fields
    if kind not in TYPES:
        issues.add(
            act.line,
            f["type"],
            f"unknown Ghostfolio activity type {act.type!r} (one of {', '.join(TYPES)})",
        )
        return
    if act.when.on > today + timedelta(days=1):
        notices.skip(
            act.line,
            "dated in the future: a Ghostfolio draft (a planned activity, not executed)",
        )
        return
    label = act.name or act.symbol
    text = act.comment or label
    common: dict[str, Any] = {
        "currency": act.currency,
        "account": act.account,
        "external_id": act.external_id,
    }
    if kind == "LIABILITY":
        value = _product(act)
        notices.resolve(
            act.line,
            None,
            f"liability {label!r} of {value} {act.currency or ''}".rstrip()
            + ": a debt, not a holding; the ledger does not track debts, so it is not "
            "recorded",
        )
        return
    if kind in ("BUY", "SELL", "DIVIDEND") and act.data_source.upper() == "COINGECKO":
        notices.resolve(
            act.line,
            None,
            f"{act.symbol!r} is Ghostfolio's CoinGecko coin id, recorded as the crypto "
            f"{(act.symbol or '').upper()}: rename it to the coin's ticker (bitcoin -> BTC) "
            "if you hold it elsewhere under its ticker",
        )
    if kind in ("BUY", "SELL", "ITEM"):
        symbol, asset_type, fallback = _instrument(act)
        if kind == "ITEM":
            symbol, asset_type, fallback = (
                _manual_symbol(act.symbol, act.name),
                AssetType.OTHER,
                None,
            )
        quantity = act.quantity
        if kind == "ITEM" and not quantity:
            quantity = Decimal(1)  # Ghostfolio records an item as one unit at its value
        entry = build_entry(
            issues,
            act.line,
            T.SELL if kind == "SELL" else T.BUY,
            act.when,
            symbol=symbol,
            asset_type=asset_type,
            fallback_type=fallback,
            quantity=quantity,
            price=act.unit_price,
            fees=act.fee,
            description=text,
            column=f["quantity"] if not quantity else f["unit_price"],
            **common,
        )
        if entry is not None:
            yield entry
        return
    if kind == "DIVIDEND":
        symbol, asset_type, fallback = _instrument(act)
        amount = _product(act)
        if amount is None or amount == 0:
            issues.add(
                act.line,
                f["unit_price"],
                "a dividend needs the shares (quantity) and the dividend per share (unitPrice)",
            )
            return
        entry = build_entry(
            issues,
            act.line,
            T.DIVIDEND,
            act.when,
            symbol=symbol,
            asset_type=asset_type,
            fallback_type=fallback,
            amount=amount,
            fees=act.fee,
            description=act.comment,
            column=f["unit_price"],
            **common,
        )
        if entry is not None:
            yield entry
        return
    if kind == "FEE":
        amount = act.fee if act.fee else _product(act)
        if not amount:
            issues.add(act.line, f["fee"], "a fee activity needs a fee (or unitPrice) above 0")
            return
        entry = build_entry(
            issues, act.line, T.FEE, act.when, amount=amount, description=text, **common
        )
        if entry is not None:
            yield entry
        return
    # INTEREST
    amount = _product(act)
    if amount is None:
        issues.add(act.line, f["unit_price"], "interest needs a quantity and a unitPrice")
        return
    legs = bool(act.fee)
    entry = build_entry(
        issues,
        act.line,
        T.INTEREST,
        act.when,
        amount=amount,
        description=text,
        leg="interest" if legs else "",
        column=f["unit_price"],
        **common,
    )
    if entry is not None:
        yield entry
    if legs:
        fee = build_entry(
            issues,
            act.line,
            T.FEE,
            act.when,
            amount=act.fee,
            description=f"fee on interest: {text}" if text else "fee on interest",
            leg="fee",
            **common,
        )
        if fee is not None:
            yield fee


def _product(act: Activity) -> Decimal | None:
    if act.quantity is None or act.unit_price is None:
        return None
    return act.quantity * act.unit_price


# JSON -------------------------------------------------------------------------------------
_JSON_FIELDS = {
    "type": "type",
    "date": "date",
    "symbol": "symbol",
    "quantity": "quantity",
    "unit_price": "unitPrice",
    "fee": "fee",
    "currency": "currency",
}


def sniff_json(head: bytes) -> bool:
    """A JSON object that holds ``"activities"``, or that opens as Ghostfolio's export
    does (``meta`` with a ``version``, then ``accounts``) when a long ``assetProfiles``
    pushes ``activities`` past the bytes looked at."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"{"):
        return False
    export = b'"meta"' in head and b'"version"' in head and b'"accounts"' in head
    return b'"activities"' in head or export


def _depth(value: object, limit: int) -> int:
    """How deeply ``value`` nests (stopping past ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def load_json(data: bytes) -> dict[str, Any]:
    """The document as an object, or an InvalidInput saying where and why it is not."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"not a Ghostfolio JSON export: not UTF-8 text (byte {error.start})"
        ) from None
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidInput("not a Ghostfolio JSON export: the JSON nests too deeply") from None
    if not isinstance(document, dict):
        raise InvalidInput(
            "not a Ghostfolio JSON export: the document must be an object with 'activities'"
        )
    if _depth(document, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidInput(
            f"not a Ghostfolio JSON export: the JSON nests more than {MAX_DEPTH} levels"
        )
    if not isinstance(document.get("activities"), list):
        raise InvalidInput("not a Ghostfolio JSON export: 'activities' must be a list")
    for key in ("accounts", "assetProfiles"):
        if document.get(key) is not None and not isinstance(document[key], list):
            raise InvalidInput(f"not a Ghostfolio JSON export: {key!r} must be a list")
    return document


def parse_json(data: bytes, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    document = load_json(data)  # raised here, before any entry is read
    accounts = _accounts(document, ctx)
    profiles: dict[tuple[str, str], str] = {}
    for profile in document.get("assetProfiles") or []:
        if isinstance(profile, dict) and isinstance(profile.get("name"), str):
            key = (str(profile.get("dataSource") or ""), str(profile.get("symbol") or ""))
            profiles[key] = profile["name"]
    return _json_entries(document["activities"], accounts, profiles, ctx)


def _accounts(document: dict[str, Any], ctx: ParseContext) -> dict[str, str]:
    """Account names by id; balance snapshots are reported as skipped."""
    names: dict[str, str] = {}
    for position, account in enumerate(document.get("accounts") or []):
        if not isinstance(account, dict):
            raise InvalidInput(f"not a Ghostfolio JSON export: accounts[{position}] is no object")
        name = account.get("name")
        if isinstance(account.get("id"), str) and isinstance(name, str) and name.strip():
            names[account["id"]] = name.strip()
        balances = account.get("balances")
        if isinstance(balances, list) and balances:
            ctx.notices.skip(
                0,
                f"{len(balances)} balance snapshot(s) of account {name!r} "
                f"(accounts[{position}].balances): a balance is not a ledger entry; cash "
                "follows from the activities",
            )
    return names


def _json_entries(
    activities: list[Any],
    accounts: dict[str, str],
    profiles: dict[tuple[str, str], str],
    ctx: ParseContext,
) -> Iterator[ParsedTransaction]:
    for index, raw in enumerate(activities, start=1):
        act = _json_activity(index, raw, accounts, profiles, ctx.issues)
        if act is not None:
            yield from activity_entries(act, ctx.issues, ctx.notices, ctx.today)


def _json_activity(
    line: int,
    raw: object,
    accounts: dict[str, str],
    profiles: dict[tuple[str, str], str],
    issues: Issues,
) -> Activity | None:
    if not isinstance(raw, dict):
        issues.add(line, None, f"an activity must be an object, not {type(raw).__name__}")
        return None
    problems = len(issues.items)

    def text(key: str, required: bool = False) -> str | None:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                issues.add(line, key, f"{key} is missing")
            return None
        if not isinstance(value, str):
            issues.add(line, key, f"{key} must be text, not {type(value).__name__}")
            return None
        return value.strip()

    def amount(key: str) -> Decimal | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, str)):
            issues.add(line, key, f"{key} must be a number, not {type(value).__name__}")
            return None
        try:
            return number(str(value))
        except InvalidInput as error:
            issues.add(line, key, str(error))
            return None

    kind = text("type", required=True)
    day = text("date", required=True)
    when = None
    if day is not None:
        try:
            when = ghostfolio_day(day)
        except InvalidInput as error:
            issues.add(line, "date", str(error))
    symbol = text("symbol")
    source = text("dataSource") or ""
    quantity, unit_price, fee = amount("quantity"), amount("unitPrice"), amount("fee")
    currency = text("currency")
    comment = text("comment")
    account_id = text("accountId")
    external = raw.get("id")
    external_id = str(external) if isinstance(external, (str, Decimal)) else None
    if len(issues.items) > problems or kind is None or when is None:
        return None
    account = accounts.get(account_id, account_id) if account_id else None
    return Activity(
        line=line,
        type=kind,
        when=when,
        symbol=symbol,
        data_source=source,
        currency=currency,
        quantity=quantity,
        unit_price=unit_price,
        fee=fee or ZERO,
        account=account,
        comment=comment,
        name=profiles.get((source, symbol or "")),
        external_id=external_id,
        fields=_JSON_FIELDS,
    )


# CSV --------------------------------------------------------------------------------------
_DATE_KEYS = ("date", "tradedate")
_SYMBOL_KEYS = ("code", "symbol", "ticker")
_CURRENCY_KEYS = ("currency", "ccy", "currencyprimary")
_PRICE_KEYS = ("price", "unitprice", "tradeprice", "value")
_QUANTITY_KEYS = ("quantity", "qty", "shares", "units")
_TYPE_KEYS = ("action", "type", "buy_sell")
_FEE_KEYS = ("fee", "commission", "ibcommission")
_NOTE_KEYS = ("note", "comment")
_ACCOUNT_KEYS = ("account", "accountid")


def parse_csv(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows(ragged=True):
        act = _csv_activity(row)
        if act is not None and row.ok:
            yield from activity_entries(act, ctx.issues, ctx.notices, ctx.today)


def _csv_activity(row: Row) -> Activity | None:
    kind = row.text(*_TYPE_KEYS)
    if not kind:
        row.fail(_TYPE_KEYS, "the activity type is empty")
    when = row.parsed(_DATE_KEYS, ghostfolio_day)
    if when is None and row.ok:
        row.fail(_DATE_KEYS, "date is empty")
    quantity = row.number(*_QUANTITY_KEYS)
    unit_price = row.number(*_PRICE_KEYS)
    fee = row.number(*_FEE_KEYS)
    if not row.ok or when is None:
        return None
    symbol = row.value(*_SYMBOL_KEYS)
    return Activity(
        line=row.line,
        type=kind,
        when=when,
        symbol=symbol,
        data_source=row.text("datasource"),
        currency=row.value(*_CURRENCY_KEYS),
        quantity=quantity,
        unit_price=unit_price,
        fee=fee or ZERO,
        account=row.value(*_ACCOUNT_KEYS),
        comment=row.value(*_NOTE_KEYS),
        name=symbol,
        external_id=None,
        fields={
            "type": row.column(*_TYPE_KEYS),
            "date": row.column(*_DATE_KEYS),
            "symbol": row.column(*_SYMBOL_KEYS),
            "quantity": row.column(*_QUANTITY_KEYS),
            "unit_price": row.column(*_PRICE_KEYS),
            "fee": row.column(*_FEE_KEYS),
            "currency": row.column(*_CURRENCY_KEYS),
        },
    )


def _csv_signatures() -> tuple[Any, ...]:
    """Every header of Ghostfolio's aliases that names a Ghostfolio-only column
    (``Action``, ``Code`` or ``DataSource``), so that quantdesk's own
    ``symbol,type,quantity,price,date`` files never match it. IBKR's aliases
    (``TradePrice``, ``Buy/Sell``...) are read but not detected: IBKR files are IBKR's."""
    found = []
    for symbol in ("Code", "Symbol", "Ticker"):
        for currency in ("Currency", "Ccy"):
            for price in ("Price", "UnitPrice"):
                for quantity in ("Quantity", "Qty", "Shares", "Units"):
                    for kind in ("Action", "Type"):
                        for extra in ((), ("DataSource",)):
                            columns = ("Date", symbol, currency, price, quantity, kind, *extra)
                            if {"Action", "Code", "DataSource"} & set(columns):
                                found.append(sig(*columns))
    return tuple(found)


FORMATS = (
    Format(
        name="ghostfolio-json",
        title="Ghostfolio export / import (JSON)",
        kind="json",
        columns=("activities", "accounts", "assetProfiles"),
        document_parser=parse_json,
        sniff=sniff_json,
        notes="future activities are drafts (skipped); liabilities to resolve; "
        "account balances skipped",
    ),
    Format(
        name="ghostfolio-csv",
        title="Ghostfolio activity import (CSV)",
        kind="csv",
        columns=(
            "Date",
            "Code",
            "DataSource",
            "Currency",
            "Price",
            "Quantity",
            "Action",
            "Fee",
            "Note",
            # Ghostfolio's aliases
            "TradeDate",
            "Symbol",
            "Ticker",
            "Ccy",
            "CurrencyPrimary",
            "UnitPrice",
            "TradePrice",
            "Value",
            "Qty",
            "Shares",
            "Units",
            "Type",
            "Buy/Sell",
            "Commission",
            "IBCommission",
            "Comment",
            "Account",
            "AccountId",
        ),
        signatures=_csv_signatures(),
        csv_parser=parse_csv,
        notes="dates only; future activities are drafts (skipped); liabilities to resolve",
    ),
)
