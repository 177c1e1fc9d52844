"""OFX and QFX (Quicken Web Connect) downloads, parsed with ofxtools.

One format for every broker that offers OFX: Fidelity, Vanguard (brokerage and 401(k)),
E*TRADE and others. SGML OFX 1.x and XML OFX 2.x are both read by ofxtools; this module
only maps its typed models to ledger entries.

Investment statements (``INVSTMTRS``): ``BUY*``/``SELL*`` are buys and sells (commission,
fees, load and transaction taxes as fees); ``REINVEST`` is a reinvested dividend (Vanguard
writes ``UNITPRICE 0.0`` there: the price is then TOTAL/UNITS); ``INCOME`` is a dividend
(DIV, capital gain distributions CGLONG/CGSHORT, MISC) or interest (INTEREST), with
``WITHHOLDING`` as a separate tax; ``INVEXPENSE`` is a fee, or a tax when its memo says
foreign tax or withholding; ``MARGININTEREST`` is negative interest; ``TRANSFER`` moves
units in or out; ``SPLIT`` is a split of NUMERATOR/DENOMINATOR; ``INVBANKTRAN`` is cash.
Journals between a broker's own sub-accounts (``JRNLSEC``/``JRNLFUND``) and options are
skipped and reported; a return of capital is recorded as a dividend and left to resolve.

Securities are named by the ``SECLIST`` ticker of their ``SECID`` (the CUSIP when the list
has no ticker) with the asset type of their SECINFO kind (stock, fund, bond, other).

Times: ofxtools gives aware UTC instants (a time without an offset is GMT, as the OFX
standard says); the trade date is the date written in the file, in the broker's offset.
A time of exactly midnight is how exports write a date without a time (Fidelity): such
entries have no time of day. ``FITID`` is each entry's external id; an entry's "line" is
its 1-based position among the file's transactions.

Bank statements (``STMTRS``) map to cash entries the same way as ``INVBANKTRAN``; credit
card statements are refused (they are not investment accounts).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from ofxtools.Parser import OFXTree

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format
from quantdesk.importers.table import ParseContext, build_entry

#: SECINFO kinds and the asset type they give (options are not tracked).
_SECURITY_TYPES = {
    "STOCKINFO": AssetType.STOCK,
    "MFINFO": AssetType.FUND,
    "DEBTINFO": AssetType.BOND,
    "OTHERINFO": AssetType.OTHER,
}
_BUYS = frozenset({"BUYSTOCK", "BUYMF", "BUYDEBT", "BUYOTHER"})
_SELLS = frozenset({"SELLSTOCK", "SELLMF", "SELLDEBT", "SELLOTHER"})
_OPTIONS = frozenset({"BUYOPT", "SELLOPT", "CLOSUREOPT"})
_STATEMENTS = frozenset({"INVSTMTRS", "STMTRS"})
#: Cash movements whose direction is the sign of TRNAMT.
_CASH_MOVES = frozenset(
    {
        "CREDIT",
        "DEBIT",
        "DEP",
        "DIRECTDEP",
        "DIRECTDEBIT",
        "ATM",
        "POS",
        "CHECK",
        "PAYMENT",
        "CASH",
        "REPEATPMT",
        "XFER",
    }
)
_TAX_MEMO = re.compile(r"foreign|w/h|withh|\btax", re.IGNORECASE)
_RAW_TIME = re.compile(
    r"^\s*(\d{8})(\d{6})?(?:\.\d+)?\s*(?:\[\s*([+-]?\d+(?:\.\d+)?)(?::[^\]]*)?\])?\s*$"
)
_OPTION_REASON = "option contract (options are not tracked)"


def sniff(head: bytes) -> bool:
    """An OFX 1.x header, an XML declaration followed by an OFX processing instruction or
    root, or an ``<OFX>`` root near the top."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"OFXHEADER"):
        return True
    top = text[:2048].upper()
    if text.startswith(b"<?xml") and (b"<?OFX" in top or b"<OFX>" in top):
        return True
    return b"<OFX>" in top


def parse(data: bytes, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    """The file's entries; a file ofxtools cannot read is refused at once."""
    tree = OFXTree()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # private tags (INTU.BID) are expected noise
        try:
            tree.parse(io.BytesIO(data))
            document = tree.convert()
        except Exception as error:  # ofxtools raises ParseError, ValueError, KeyError...
            reason = str(error).strip() or type(error).__name__
            raise InvalidInput(
                f"not a readable OFX/QFX file: ofxtools reported: {reason}"
            ) from None
    root = tree.getroot()
    if root is None:
        raise InvalidInput("not a readable OFX/QFX file: no OFX element")
    statements = list(document.statements)
    if not statements:
        raise InvalidInput("the OFX file holds no statement (no INVSTMTRS or STMTRS)")
    for statement in statements:
        if type(statement).__name__ not in _STATEMENTS:
            raise InvalidInput(
                f"a credit card statement OFX ({type(statement).__name__}) is not an "
                "investment statement; import the brokerage account's OFX/QFX download"
            )
    securities = _securities(document)
    return _entries(statements, root, securities, ctx)


@dataclass(frozen=True, slots=True)
class _Security:
    symbol: str
    kind: str  # the SECINFO kind: STOCKINFO, MFINFO, DEBTINFO, OPTINFO, OTHERINFO
    name: str | None


def _securities(document: Any) -> dict[tuple[str, str], _Security]:
    found: dict[tuple[str, str], _Security] = {}
    for info in document.securities or ():
        secinfo = info.secinfo
        key = (secinfo.secid.uniqueidtype, secinfo.secid.uniqueid)
        ticker = (secinfo.ticker or "").strip()
        symbol = ticker or secinfo.secid.uniqueid.strip()
        found[key] = _Security(symbol, type(info).__name__, secinfo.secname)
    return found


def _entries(
    statements: list[Any],
    root: Element,
    securities: dict[tuple[str, str], _Security],
    ctx: ParseContext,
) -> Iterator[ParsedTransaction]:
    raw_statements: dict[str, list[Element]] = {tag: list(root.iter(tag)) for tag in _STATEMENTS}
    seen: dict[str, int] = {}
    line = 0
    for statement in statements:
        tag = type(statement).__name__
        raw = raw_statements[tag][seen.get(tag, 0)]
        seen[tag] = seen.get(tag, 0) + 1
        raw_times = _raw_times(raw, tag)
        mapper = _Mapper(
            ctx,
            securities,
            account=statement.account.acctid,
            curdef=statement.curdef,
        )
        for index, transaction in enumerate(statement.transactions or ()):
            line += 1
            mapper.line = line
            mapper.raw_time = raw_times[index] if index < len(raw_times) else None
            yield from mapper.map(transaction)


def _raw_times(statement: Element, tag: str) -> list[str | None]:
    """The date-time text of each transaction as written (ofxtools keeps only UTC)."""
    listing = statement.find("INVTRANLIST" if tag == "INVSTMTRS" else "BANKTRANLIST")
    if listing is None:
        return []
    times: list[str | None] = []
    for child in listing:
        if child.tag in ("DTSTART", "DTEND"):
            continue
        found = next(
            (e.text for e in child.iter() if e.tag in ("DTTRADE", "DTPOSTED") and e.text), None
        )
        times.append(found)
    return times


class _Mapper:
    """Maps one statement's transactions to entries."""

    def __init__(
        self,
        ctx: ParseContext,
        securities: dict[tuple[str, str], _Security],
        *,
        account: str | None,
        curdef: str | None,
    ) -> None:
        self.ctx, self.securities = ctx, securities
        self.account = account.strip() if account else None
        self.curdef = curdef
        self.line = 0
        self.raw_time: str | None = None

    # helpers -------------------------------------------------------------------------
    def when(self, moment: datetime | None) -> When | None:
        if moment is None:
            self.ctx.issues.add(self.line, "DTTRADE", "the transaction has no date")
            return None
        offset = Decimal(0)
        midnight = False
        match = _RAW_TIME.match(self.raw_time or "")
        if match is not None:
            offset = Decimal(match[3]) if match[3] else Decimal(0)
            midnight = match[2] is None or match[2] == "000000"
        local = moment + timedelta(hours=float(offset))
        if local.date() > self.ctx.today + timedelta(days=1):
            self.ctx.issues.add(
                self.line, "DTTRADE", f"{local.date().isoformat()} is in the future"
            )
            return None
        if midnight:
            return on_day(local.date())
        return When(moment.astimezone(UTC), local.date(), True)

    def currency(self, record: Any) -> str | None:
        """CURRENCY states the currency of the amounts; with ORIGCURRENCY they were
        already converted to the statement's CURDEF."""
        own = getattr(record, "currency", None)
        if own is not None and own.cursym:
            return str(own.cursym).strip()
        return self.curdef

    def security(self, secid: Any) -> _Security:
        key = (secid.uniqueidtype, secid.uniqueid)
        found = self.securities.get(key)
        if found is None:
            return _Security(secid.uniqueid.strip(), "", None)
        return found

    def entry(
        self, kind: T, when: When, record: Any, *, leg: str = "", **fields: Any
    ) -> ParsedTransaction | None:
        invtran = getattr(record, "invtran", None)
        fitid = invtran.fitid if invtran is not None else getattr(record, "fitid", None)
        memo = invtran.memo if invtran is not None else None
        fields.setdefault("description", memo)
        return build_entry(
            self.ctx.issues,
            self.line,
            kind,
            when,
            account=self.account,
            currency=self.currency(record),
            external_id=fitid,
            leg=leg,
            **fields,
        )

    def skip(self, reason: str) -> None:
        self.ctx.notices.skip(self.line, reason)

    # transactions ---------------------------------------------------------------------
    def map(self, transaction: Any) -> Iterator[ParsedTransaction]:
        tag = type(transaction).__name__
        if tag == "INVBANKTRAN":
            yield from self.cash(transaction.stmttrn)
            return
        if tag == "STMTTRN":
            yield from self.cash(transaction)
            return
        if tag in _OPTIONS:
            self.skip(_OPTION_REASON)
            return
        if tag in ("JRNLSEC", "JRNLFUND"):
            self.skip(
                "journal between the broker's own sub-accounts (cash, margin, short): "
                "no change to holdings or cash"
            )
            return
        if tag == "MARGININTEREST":
            when = self.when(transaction.invtran.dttrade)
            if when is not None:
                entry = self.entry(T.INTEREST, when, transaction, amount=-abs(transaction.total))
                if entry is not None:
                    yield entry
            return
        secid = getattr(transaction, "secid", None)
        if secid is None:
            self.ctx.notices.resolve(
                self.line, None, f"OFX transaction {tag} is not one quantdesk maps: not recorded"
            )
            return
        security = self.security(secid)
        if security.kind == "OPTINFO":
            self.skip(_OPTION_REASON)
            return
        when = self.when(transaction.invtran.dttrade)
        if when is None:
            return
        yield from self.security_entry(tag, transaction, security, when)

    def security_entry(
        self, tag: str, record: Any, security: _Security, when: When
    ) -> Iterator[ParsedTransaction]:
        asset_type = _SECURITY_TYPES.get(security.kind)
        instrument: dict[str, Any] = {
            "symbol": security.symbol,
            "asset_type": asset_type,
            "fallback_type": None if asset_type else AssetType.STOCK,
        }
        entry: ParsedTransaction | None
        if tag in _BUYS or tag in _SELLS:
            trade = record.invbuy if tag in _BUYS else record.invsell
            fees = sum(
                (
                    abs(value)
                    for value in (trade.commission, trade.fees, trade.load, trade.taxes)
                    if value
                ),
                Decimal(0),
            )
            entry = self.entry(
                T.BUY if tag in _BUYS else T.SELL,
                when,
                trade,
                quantity=trade.units,
                price=trade.unitprice,
                fees=fees,
                amount=trade.total,
                column="UNITS",
                **instrument,
            )
            if entry is not None:
                yield entry
            withholding = getattr(trade, "withholding", None)
            if withholding:
                yield from self.optional(
                    T.TAX, when, trade, amount=withholding, leg="withholding", **instrument
                )
        elif tag == "REINVEST":
            units, total = record.units, record.total
            price = record.unitprice
            if (not price) and units and total:
                price = abs(total) / abs(units)
            fees = sum(
                (abs(v) for v in (record.commission, record.fees, record.load, record.taxes) if v),
                Decimal(0),
            )
            entry = self.entry(
                T.DIVIDEND,
                when,
                record,
                quantity=abs(units) if units else None,
                price=price,
                fees=fees,
                amount=abs(total) if total is not None else None,
                column="UNITS",
                **instrument,
            )
            if entry is not None:
                yield entry
        elif tag == "INCOME":
            kind = T.INTEREST if record.incometype == "INTEREST" else T.DIVIDEND
            yield from self.optional(kind, when, record, amount=record.total, **instrument)
            if record.withholding:
                yield from self.optional(
                    T.TAX, when, record, amount=record.withholding, leg="withholding", **instrument
                )
        elif tag == "INVEXPENSE":
            memo = record.invtran.memo or ""
            kind = T.TAX if _TAX_MEMO.search(memo) else T.FEE
            yield from self.optional(kind, when, record, amount=record.total, **instrument)
        elif tag == "TRANSFER":
            units = record.units
            price = record.unitprice
            if not price and record.avgcostbasis and units:
                price = abs(record.avgcostbasis) / abs(units)
            if record.tferaction not in ("IN", "OUT") or not units:
                self.ctx.issues.add(
                    self.line, "TFERACTION", f"a transfer needs IN or OUT and units ({tag})"
                )
                return
            kind = T.TRANSFER_IN if record.tferaction == "IN" else T.TRANSFER_OUT
            yield from self.optional(
                kind, when, record, quantity=abs(units), price=price or None, **instrument
            )
        elif tag == "SPLIT":
            if not record.numerator or not record.denominator:
                self.ctx.issues.add(self.line, "NUMERATOR", "a split needs its ratio")
                return
            ratio = Decimal(record.numerator) / Decimal(record.denominator)
            yield from self.optional(T.SPLIT, when, record, split_ratio=ratio, **instrument)
        elif tag == "RETOFCAP":
            self.ctx.notices.resolve(
                self.line,
                None,
                f"return of capital of {record.total} on {security.symbol}: recorded as a "
                "dividend; it should lower the cost basis instead (adjust the lots' basis)",
            )
            yield from self.optional(T.DIVIDEND, when, record, amount=record.total, **instrument)
        else:
            self.ctx.notices.resolve(
                self.line,
                None,
                f"OFX transaction {tag} of {security.symbol} on {when.on.isoformat()} is not "
                "one quantdesk maps: not recorded; record it yourself",
            )

    def optional(
        self, kind: T, when: When, record: Any, *, leg: str = "", **fields: Any
    ) -> Iterator[ParsedTransaction]:
        entry = self.entry(kind, when, record, leg=leg, **fields)
        if entry is not None:
            yield entry

    def cash(self, stmttrn: Any) -> Iterator[ParsedTransaction]:
        """A bank transaction: TRNTYPE says what it is; TRNAMT's sign its direction."""
        when = self.when(stmttrn.dtposted)
        if when is None:
            return
        trntype = (stmttrn.trntype or "").strip().upper()
        amount: Decimal = stmttrn.trnamt
        text = " ".join(t for t in (stmttrn.name, stmttrn.memo) if t)
        upper = text.upper()
        description = stmttrn.name or stmttrn.memo
        kind: T
        if trntype == "INT":
            kind = T.INTEREST
        elif trntype == "DIV":
            kind = T.DIVIDEND
        elif trntype in ("FEE", "SRVCHG"):
            kind = T.FEE
        elif trntype == "HOLD":
            self.skip("a hold on funds (no money moved)")
            return
        elif "INTEREST" in upper and trntype in _CASH_MOVES | {"OTHER"}:
            kind = T.INTEREST  # Fidelity: DEP "INTEREST EARNED"
        elif "FEE" in upper.split() and amount < 0 and trntype in _CASH_MOVES | {"OTHER"}:
            kind = T.FEE  # Fidelity: OTHER "LATE SETTLEMENT FEE"
        elif trntype in _CASH_MOVES:
            if amount == 0:
                self.skip("cash transaction of zero")
                return
            kind = T.DEPOSIT if amount > 0 else T.WITHDRAWAL
        else:
            self.ctx.notices.resolve(
                self.line,
                None,
                f"cash transaction of type {trntype or 'none'} ({text or 'no text'}) of "
                f"{amount}: not recorded; record it as a deposit, withdrawal or fee yourself",
            )
            return
        entry = build_entry(
            self.ctx.issues,
            self.line,
            kind,
            when,
            amount=amount,
            account=self.account,
            currency=self.currency(stmttrn),
            external_id=stmttrn.fitid,
            description=description,
            column="TRNAMT",
        )
        if entry is not None:
            yield entry


FORMATS = (
    Format(
        name="ofx",
        title="OFX/QFX download (Fidelity, Vanguard, E*TRADE and other brokers)",
        kind="ofx",
        columns=(
            "BUYSTOCK",
            "BUYMF",
            "BUYDEBT",
            "BUYOTHER",
            "SELLSTOCK",
            "SELLMF",
            "SELLDEBT",
            "SELLOTHER",
            "REINVEST",
            "INCOME",
            "INVEXPENSE",
            "MARGININTEREST",
            "TRANSFER",
            "SPLIT",
            "RETOFCAP",
            "INVBANKTRAN",
            "STMTTRN",
            "JRNLSEC",
            "JRNLFUND",
        ),
        document_parser=parse,
        sniff=sniff,
        time_zone="UTC",
        notes="via ofxtools; options and journals skipped; return of capital to resolve",
    ),
)
