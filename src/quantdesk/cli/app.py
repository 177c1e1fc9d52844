"""``quantdesk``: the command line. Parses, calls one service, renders (Rich or JSON)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from quantdesk import bootstrap
from quantdesk.demo import load_demo
from quantdesk.domain.errors import InsufficientLots, QuantdeskError
from quantdesk.domain.lots import CostMethod, Term
from quantdesk.domain.money import money_text, normalized, parse_decimal, to_text
from quantdesk.domain.positions import position_warnings, totals_by_currency
from quantdesk.domain.transactions import LotPick, Transaction
from quantdesk.importers import registry
from quantdesk.market.http import upstream_calls
from quantdesk.services import portfolio, prices
from quantdesk.services import views as render
from quantdesk.services.import_file import ImportOptions, import_file
from quantdesk.services.import_report import ImportReport
from quantdesk.services.ports import UnitOfWork

if TYPE_CHECKING:
    from quantdesk.services import analytics

# The analytics commands import numpy and scipy (about 1 s) inside their bodies: the
# other commands do not pay for them at start-up.

out = Console()
err = Console(stderr=True)


class _Group(TyperGroup):
    """The root command group: a domain error becomes one clear message and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InsufficientLots as error:
            for shortfall in error.shortfalls:
                err.print(
                    f"[bold red]error:[/] {shortfall.describe()}", highlight=False, soft_wrap=True
                )
            raise typer.Exit(1) from None
        except QuantdeskError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except DBAPIError as error:  # the database refused or is unreachable: nothing was changed
            reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            err.print(
                f"[bold red]error:[/] the database failed ({reason}); nothing was changed",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    help="quantdesk: one ledger for every account and asset.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
accounts_app = typer.Typer(help="Create and list accounts.", no_args_is_help=True)
transactions_app = typer.Typer(help="List and edit ledger entries.", no_args_is_help=True)
prices_app = typer.Typer(
    help="Market prices (quotes and daily closes) and your own price history.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(
    help="Users who sign in to the API and web dashboard.", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(users_app, name="users")
app.add_typer(transactions_app, name="transactions")
app.add_typer(prices_app, name="prices")
app.add_typer(db_app, name="db")


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine-readable output (docs/cli-json.md).")
]
MethodOpt = Annotated[
    CostMethod, typer.Option("--method", help="Cost basis method.", case_sensitive=False)
]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a", help="Only this account.")]


@dataclass
class Context:
    db: str
    user: str
    market_choice: str | None = None
    offline: bool = False

    @cached_property
    def engine(self) -> Engine:
        return bootstrap.open_database(self.db)

    @cached_property
    def uow(self) -> UnitOfWork:
        return bootstrap.unit_of_work(self.engine, self.user, market=self.market_choice)

    @cached_property
    def market(self) -> bootstrap.MarketWiring:
        """The price cache of this ledger's market (``--market`` or the stored one)."""
        chosen = self.market_choice or prices.user_market(self.uow)
        return bootstrap.market_data(self.engine, market=chosen, offline=self.offline)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (default: $QUANTDESK_DATABASE_URL, else a SQLite file)."
        ),
    ] = None,
    user: Annotated[str, typer.Option("--user", help="Act as this user.")] = bootstrap.DEFAULT_USER,
    market: Annotated[
        str | None,
        typer.Option(
            "--market",
            help="live or simulated (default: the ledger's own, see `prices market`).",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="No network access at all (also QUANTDESK_OFFLINE=1)."),
    ] = False,
) -> None:
    if not user.strip() or len(user) > 100:
        _fail("--user takes a name of 1 to 100 characters", 2)
    if market is not None and market not in prices.MARKETS:
        _fail(f"--market takes live or simulated, got {market!r}", 2)
    ctx.obj = Context(
        db or bootstrap.default_database_url(),
        user.strip(),
        market,
        bootstrap.offline_requested(offline),
    )
    ctx.call_on_close(ctx.obj.close)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _entry_cells(t: Transaction) -> list[str]:
    """A ledger entry as table cells, in :data:`ENTRY_COLUMNS` order."""
    return [
        str(t.id),
        t.traded_on.isoformat(),
        t.account,
        t.type.value,
        t.instrument.symbol if t.instrument else "",
        _qty(t.quantity),
        _qty(t.price),
        _qty(t.fees) if t.fees else "",
        _qty(t.amount),
        t.origin.value,
    ]


ENTRY_COLUMNS = (
    "Id",
    "Date",
    "Account",
    "Type",
    "Symbol",
    "Quantity",
    "Price",
    "Fees",
    "Amount",
    "Origin",
)


def _number(text: str, option: str) -> Decimal:
    try:
        return parse_decimal(text)
    except QuantdeskError:
        _fail(f"{option} takes a number, got {text!r}", 2)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} takes a date as YYYY-MM-DD, got {text!r}", 2)


def _money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "[yellow]unknown[/]"
    return f"{value:,.{places}f}"


def _qty(value: Decimal | None) -> str:
    return "" if value is None else format(normalized(value), "f")


# accounts ---------------------------------------------------------------------------------
@accounts_app.command("add")
def accounts_add(
    ctx: typer.Context,
    name: str,
    kind: Annotated[str, typer.Option(help="brokerage, exchange, wallet, retirement or manual")],
    institution: Annotated[str | None, typer.Option(help="Robinhood, Coinbase, ...")] = None,
    currency: Annotated[str, typer.Option(help="The account's currency.")] = "USD",
    taxable: Annotated[
        bool | None,
        typer.Option(
            "--taxable/--tax-advantaged",
            help="Default: by kind (retirement is tax-advantaged, any other taxable).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an account."""
    account = portfolio.add_account(
        _ctx(ctx).uow,
        name,
        kind=kind,
        institution=institution,
        currency=currency,
        clock=bootstrap.utc_now,
        taxable=taxable,
    )
    if as_json:
        _print_json(render.account_json(account))
    else:
        out.print(
            f"Added account [bold]{account.name}[/] ({account.kind.value}, {account.currency})."
        )


@accounts_app.command("list")
def accounts_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List your accounts."""
    accounts = portfolio.list_accounts(_ctx(ctx).uow)
    if as_json:
        _print_json([render.account_json(a) for a in accounts])
        return
    table = Table("Name", "Kind", "Institution", "Currency", "Taxes", title="Accounts")
    for a in accounts:
        taxes = "taxable" if a.is_taxable else "tax-advantaged"
        table.add_row(a.name, a.kind.value, a.institution or "", a.currency, taxes)
    out.print(table if accounts else "No accounts yet: `quantdesk accounts add NAME --kind KIND`.")


# import -----------------------------------------------------------------------------------
@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    account: AccountOpt = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="auto (detect), or a name from `quantdesk formats`."),
    ] = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and preview; store nothing.")
    ] = False,
    allow_unknown_basis: Annotated[
        bool,
        typer.Option(
            "--allow-unknown-basis",
            help="Record sales beyond the history as openings of unknown cost basis.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a broker or exchange export, a holdings snapshot or a trades file; the
    format is detected. All rows or none; never duplicates."""
    options = ImportOptions(account, fmt, dry_run, allow_unknown_basis)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json,
    )
    with progress:
        task = progress.add_task(f"Importing {file.name}", total=file.stat().st_size)
        report = import_file(
            _ctx(ctx).uow,
            file,
            options,
            clock=bootstrap.utc_now,
            on_bytes=lambda n: progress.advance(task, n),
        )
    if report.ok and report.added and not options.dry_run:
        from quantdesk import jobs  # noqa: PLC0415 - only to queue the recompute

        with _ctx(ctx).uow(commit=False) as store:
            jobs.after_change(_ctx(ctx).user, store.ledger_revision())
    if as_json:
        _print_json(render.import_json(report))
        if not report.ok:
            raise typer.Exit(1)
        return
    _print_detection(report)
    if not report.ok:
        err.print(
            f"[bold red]{file.name}: {report.issue_count} problem(s); nothing was imported.[/]"
        )
        for issue in report.issues:
            err.print(f"  {issue.describe()}", highlight=False, soft_wrap=True)
        if report.issue_count > len(report.issues):
            err.print(f"  ... and {report.issue_count - len(report.issues)} more")
        raise typer.Exit(1)
    if report.already_imported:
        out.print(
            f"{file.name}: this exact snapshot was already imported on "
            f"{report.already_imported:%Y-%m-%d %H:%M} UTC; nothing added."
        )
        return
    verb = "Would add" if dry_run else "Added"
    out.print(
        f"{file.name} ({report.format}): {report.rows} rows; {verb} {report.added} transactions"
        f"{f' ({report.adjustments} adjustments)' if report.adjustments else ''}; "
        f"{report.duplicates} already in the ledger"
        f"{_from_other_source(report)}."
    )
    if report.openings_removed:
        out.print(
            f"{report.openings_removed} opening(s) of unknown cost basis removed: this file's "
            "history covers the units they stood in for."
        )
    for opening in report.completed_openings_removed:
        out.print(
            f"[yellow]! The opening you completed ({opening.quantity} {opening.instrument} in "
            f"'{opening.account}' at {opening.price} per unit, acquired {opening.acquired_on}) "
            "was replaced by the imported history.[/]"
        )
    for s, opening_id in zip(report.unknown_basis, report.opening_ids, strict=True):
        verb = "Would record" if dry_run else f"Recorded (transaction {opening_id})"
        out.print(
            f"[yellow]{verb} {s.missing} {s.symbol} in '{s.account}' as an opening of unknown "
            f"cost basis before {s.on}; complete it with `quantdesk transactions set-basis "
            f"{opening_id if not dry_run else 'ID'} --price P --acquired-on D`.[/]"
        )
    _print_notices(report)
    if dry_run and report.preview:
        table = Table(*ENTRY_COLUMNS[1:], title="Preview")
        for t in report.preview:
            table.add_row(*_entry_cells(t)[1:])
        out.print(table)


def _from_other_source(report: ImportReport) -> str:
    """How many of the duplicates the account's connection synced (no id in common)."""
    if not report.other_source_lines:
        return ""
    return f" ({len(report.other_source_lines)} of them synced by the account's connection)"


def _print_detection(report: ImportReport) -> None:
    """Which format was detected, how sure, and in which encoding the file was read."""
    sure = f", confidence {report.confidence:.0%}" if report.confidence is not None else ""
    encoding = ""
    if report.encoding and report.encoding not in ("utf-8", "utf-8-sig"):
        names = {"cp1252": "Windows-1252", "utf-16": "UTF-16"}
        encoding = f"; read as {names.get(report.encoding, report.encoding)} (not UTF-8)"
    err.print(f"Detected format: {report.format}{sure}{encoding}", highlight=False)


def _print_notices(report: ImportReport) -> None:
    """Rows skipped on purpose, rows left for the user to resolve, remapped accounts."""
    notices = report.notices
    for reason, lines in notices.skipped.items():
        shown = ", ".join(str(n) for n in lines[:8]) + (", ..." if len(lines) > 8 else "")
        out.print(f"Skipped {len(lines)} row(s): {reason} (line {shown})", highlight=False)
    if notices.to_resolve_total:
        out.print(
            f"[yellow]{notices.to_resolve_total} row(s) to resolve yourself "
            "(not applied; quantdesk does not guess these):[/]"
        )
        for item in notices.to_resolve:
            out.print(f"  [yellow]{item.describe()}[/]", highlight=False, soft_wrap=True)
    for broker_account, account in report.account_fallbacks.items():
        out.print(
            f"Rows of the export's account '{broker_account}' went to '{account}' (no account "
            f"of that name; create one to keep them apart).",
            highlight=False,
        )


@app.command("formats")
def formats_command(as_json: JsonOpt = False) -> None:
    """List the file formats `quantdesk import` detects, with the columns each reads."""
    if as_json:
        _print_json(render.formats_json())
        return
    table = Table("Format", "What", "Columns (or records)", title="Import formats")
    for f in registry.FORMATS:
        table.add_row(f.name, f.title, ", ".join(f.columns))
    out.print(table)


# positions, lots, gains ---------------------------------------------------------------------
@app.command("positions")
def positions_command(
    ctx: typer.Context,
    account: AccountOpt = None,
    consolidated: Annotated[
        bool, typer.Option("--consolidated", help="One row per asset across accounts.")
    ] = False,
    method: MethodOpt = CostMethod.FIFO,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Value as of this day (YYYY-MM-DD).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Positions per account (or consolidated) with cost basis and unrealized gain."""
    day = _day(as_of, "--as-of") if as_of else bootstrap.utc_now().date()
    rows, base = portfolio.valued_positions(
        _ctx(ctx).uow,
        account=account,
        consolidated=consolidated,
        method=method,
        as_of=day,
        base=prices.BASE_CURRENCY,
    )
    warnings = position_warnings(rows)
    totals = totals_by_currency(rows)
    if base.missing_rates:
        warnings.append(
            f"no exchange rate into {base.currency} for {', '.join(base.missing_rates)}: "
            "the total in the base currency is unknown (`quantdesk prices refresh` fetches it)"
        )
    if as_json:
        _print_json(
            {
                "as_of": day.isoformat(),
                "method": method.value,
                "consolidated": consolidated,
                "positions": [render.position_json(p) for p in rows],
                "totals": {
                    currency: {
                        "market_value": money_text(t.market_value),
                        "cost_basis": money_text(t.cost_basis),
                        "unrealized_gain": money_text(t.unrealized_gain),
                    }
                    for currency, t in totals.items()
                },
                "total_in_base": {
                    "currency": base.currency,
                    "market_value": money_text(base.market_value),
                    "rates": {c: to_text(r) for c, r in base.rates.items()},
                    "missing_rates": base.missing_rates,
                },
                "warnings": warnings,
            }
        )
        return
    if not rows:
        out.print("No positions. Import a file with `quantdesk import FILE --account NAME`.")
        return
    table = Table(
        *([] if consolidated else ["Account"]),
        "Symbol",
        "Type",
        "Quantity",
        "Avg cost",
        "Cost basis",
        "Price",
        "Value",
        "Unrealized",
        "Ccy",
        title=f"Positions as of {day} ({method.value})",
    )
    for p in rows:
        cash = p.instrument.asset_type == "cash"  # a balance: no cost, price or gain to show
        price = "[yellow]no price[/]" if p.quote is None else _money(p.quote.price, 4)
        table.add_row(
            *([] if consolidated else [p.account or ""]),
            p.instrument.symbol,
            p.instrument.asset_type.value,
            _money(p.quantity) if cash else _qty(p.quantity),
            "" if cash else _money(p.average_cost, 4),
            "" if cash else _money(p.cost_basis),
            "" if cash else price,
            _money(p.market_value),
            "" if cash else _money(p.unrealized_gain),
            p.currency,
        )
    out.print(table)
    sources = sorted(
        {(p.quote.source, p.quote.as_of) for p in rows if p.quote and p.quote.source != "cash"}
    )
    if sources:
        described = ", ".join(f"{source} close of {day}" for source, day in sources[:4])
        more = f" and {len(sources) - 4} more" if len(sources) > 4 else ""
        note = (
            " ('demo' closes are illustrative, not market data)"
            if any(s == "demo" for s, _ in sources)
            else ""
        )
        out.print(f"Prices: {described}{more}{note}")
    for currency, t in totals.items():
        out.print(
            f"Total {currency}: value {_money(t.market_value)}, cost basis "
            f"{_money(t.cost_basis)}, unrealized {_money(t.unrealized_gain)}"
        )
    if len(totals) > 1 or base.currency not in totals:
        rates = ", ".join(f"{c} at {r}" for c, r in base.rates.items())
        out.print(
            f"Total in {base.currency}: value {_money(base.market_value)}"
            + (f" ({rates})" if rates else "")
        )
    for warning in warnings:
        out.print(f"[yellow]! {warning}[/]")


@app.command("lots")
def lots_command(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Argument(help="Only this symbol.")] = None,
    account: AccountOpt = None,
    method: MethodOpt = CostMethod.FIFO,
    as_json: JsonOpt = False,
) -> None:
    """Open tax lots: units, cost basis and acquisition date."""
    lots = portfolio.open_lots(_ctx(ctx).uow, symbol=symbol, account=account, method=method)
    if as_json:
        _print_json({"method": method.value, "lots": [render.lot_json(lot) for lot in lots]})
        return
    table = Table(
        "Lot",
        "Account",
        "Symbol",
        "Quantity",
        "Cost/unit",
        "Cost basis",
        "Acquired",
        "Origin",
        title=f"Open lots ({method.value})",
    )
    for lot in lots:
        table.add_row(
            str(lot.lot_id),
            lot.account,
            lot.instrument.symbol,
            _qty(lot.quantity),
            _money(lot.cost_per_unit, 4),
            _money(lot.cost_basis),
            lot.acquired_on.isoformat() if lot.acquired_on else "[yellow]unknown[/]",
            lot.origin.value,
        )
    out.print(table if lots else "No open lots.")


@app.command("gains")
def gains_command(
    ctx: typer.Context,
    year: Annotated[
        int | None, typer.Option(help="Only disposals and income in this year.")
    ] = None,
    method: MethodOpt = CostMethod.FIFO,
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Realized gains (short and long term) and income."""
    report = portfolio.realized_gains(_ctx(ctx).uow, year=year, method=method, account=account)
    if as_json:
        _print_json(render.gains_json(report))
        return
    table = Table(
        "Sold",
        "Account",
        "Symbol",
        "Quantity",
        "Acquired",
        "Proceeds",
        "Cost basis",
        "Gain",
        "Term",
        title=f"Realized gains{f' {year}' if year else ''} ({method.value})",
    )
    for d in report.disposals:
        table.add_row(
            d.disposed_on.isoformat(),
            d.account,
            d.instrument.symbol,
            _qty(d.quantity),
            d.acquired_on.isoformat() if d.acquired_on else "[yellow]unknown[/]",
            _money(d.proceeds),
            _money(d.cost_basis),
            _money(d.gain),
            d.term.value,
        )
    out.print(table if report.disposals else "No realized gains in this period.")
    for currency in report.currencies:
        out.print(
            f"{currency}: short term {_money(report.total(currency, Term.SHORT))}, long term "
            f"{_money(report.total(currency, Term.LONG))}, total {_money(report.total(currency))}"
        )
    if report.unknown_basis:
        out.print(
            f"[yellow]! {len(report.unknown_basis)} disposal(s) have an unknown cost basis: "
            "their gain is not in the totals.[/]"
        )
    for key, amount in report.income_total().items():
        kind, currency = key.split(":")
        out.print(f"Income ({kind}): {_money(amount)} {currency}")


# transactions ---------------------------------------------------------------------------------
@transactions_app.command("list")
def transactions_list(
    ctx: typer.Context,
    account: AccountOpt = None,
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Most recent N (0 for all).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The ledger, oldest first."""
    rows = portfolio.list_transactions(_ctx(ctx).uow, account=account, symbol=symbol, limit=limit)
    if as_json:
        _print_json([render.transaction_json(t) for t in rows])
        return
    table = Table(*ENTRY_COLUMNS, title="Transactions")
    for t in rows:
        table.add_row(*_entry_cells(t))
    out.print(table if rows else "No transactions.")


@transactions_app.command("delete")
def transactions_delete(ctx: typer.Context, transaction_id: int) -> None:
    """Delete an entry (refused if a later sale would then exceed the units held)."""
    portfolio.delete_transaction(_ctx(ctx).uow, transaction_id)
    out.print(f"Deleted transaction {transaction_id}.")


@transactions_app.command("set-basis")
def transactions_set_basis(
    ctx: typer.Context,
    transaction_id: int,
    price: Annotated[str, typer.Option(help="Cost basis per unit.")],
    acquired_on: Annotated[str, typer.Option(help="Acquisition date (YYYY-MM-DD).")],
) -> None:
    """Complete an opening of unknown cost basis (see `quantdesk lots`)."""
    entry = portfolio.complete_basis(
        _ctx(ctx).uow,
        transaction_id,
        price_per_unit=_number(price, "--price"),
        acquired_on=_day(acquired_on, "--acquired-on"),
    )
    out.print(
        f"Transaction {transaction_id}: cost basis {entry.price} per unit, "
        f"acquired {entry.acquired_on}."
    )


@transactions_app.command("set-lots")
def transactions_set_lots(
    ctx: typer.Context,
    transaction_id: int,
    lot: Annotated[
        list[str], typer.Option("--lot", help="LOT_ID=UNITS, once per lot (ids: `quantdesk lots`).")
    ],
) -> None:
    """Specific identification: choose the lots a sale takes (then `gains --method specific`)."""
    picks = []
    for text in lot:
        lot_id, _, units = text.partition("=")
        if not lot_id.strip().isdigit() or not units:
            _fail(f"--lot takes LOT_ID=UNITS, got {text!r}", 2)
        picks.append(LotPick(int(lot_id), _number(units, "--lot")))
    portfolio.identify_lots(_ctx(ctx).uow, transaction_id, picks)
    chosen = ", ".join(f"{p.quantity} from lot {p.lot_id}" for p in picks)
    out.print(f"Transaction {transaction_id} takes {chosen} under `--method specific`.")


# prices, db ---------------------------------------------------------------------------------
@prices_app.command("import")
def prices_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Store your own daily closes: date,symbol,close[,currency][,asset_type]."""
    count = portfolio.import_prices(_ctx(ctx).uow, file, clock=bootstrap.utc_now)
    out.print(f"Stored {count} closes from {file.name}.")


@prices_app.command("refresh")
def prices_refresh(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Fetch quotes and daily closes of every instrument in your ledger."""
    context = _ctx(ctx)
    wiring = context.market
    sink = wiring.simulated_closes
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
        disable=as_json,
        transient=True,
    )
    with progress:
        task = progress.add_task("Refreshing prices", total=None)

        def step(symbol: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"History {symbol}")

        before = {p: upstream_calls(p) for p in prices.PROVIDERS}
        report = prices.refresh_prices(
            context.uow,
            None if wiring.offline else wiring.cache,
            clock=bootstrap.utc_now,
            simulated=sink,
            progress=step,
        )
        calls = {p: int(upstream_calls(p) - before[p]) for p in prices.PROVIDERS}
    if as_json:
        _print_json({**render.refresh_json(report), "upstream_calls": calls})
        return
    if report.offline:
        out.print("Offline: nothing fetched (stored prices are used as they are).")
        return
    if not report.symbols and not report.untyped:
        out.print("No instruments in your ledger yet: nothing to refresh.")
        return
    label = (
        " [magenta](simulated market: not real prices)[/]" if report.market == "simulated" else ""
    )
    table = Table("Symbol", "Price", "Ccy", "As of", "Source", "Closes", title=f"Prices{label}")
    for symbol in report.symbols:
        quote = report.quotes.get(symbol)
        if quote is None:
            table.add_row(
                symbol, "[yellow]no price[/]", "", "", "", str(report.closes.get(symbol, ""))
            )
            continue
        source = quote.source + (" [yellow](stale)[/]" if quote.stale else "")
        table.add_row(
            symbol,
            _money(quote.price, 4),
            quote.currency,
            quote.as_of.strftime("%Y-%m-%d %H:%M UTC"),
            source,
            str(report.closes.get(symbol, "")),
        )
    out.print(table)
    made = ", ".join(f"{p} {n}" for p, n in calls.items() if n) or "none (all fresh or stored)"
    out.print(f"Upstream calls: {made}.", highlight=False)
    for symbol, quote in sorted(report.quotes.items()):
        if quote.note and quote.source != "simulated":
            out.print(f"note: {symbol}: {quote.note}", highlight=False, soft_wrap=True)
    for symbol, reason in sorted(report.errors.items()):
        err.print(f"[yellow]warning:[/] {symbol}: {reason}", highlight=False, soft_wrap=True)
    for symbol in report.untyped:
        err.print(
            f"[yellow]warning:[/] {symbol} has no asset type yet (only your own closes "
            "name it): an entry that types it lets providers price it",
            highlight=False,
            soft_wrap=True,
        )


@prices_app.command("show")
def prices_show(
    ctx: typer.Context,
    symbol: str,
    asset_type: Annotated[
        str | None, typer.Option("--type", help="Asset type, for a symbol not in your ledger.")
    ] = None,
    days: Annotated[int, typer.Option(help="How many days of closes.", min=1, max=3650)] = 30,
    as_json: JsonOpt = False,
) -> None:
    """The latest quote and recent daily closes of one symbol."""
    context = _ctx(ctx)
    view = prices.show_prices(
        context.uow,
        context.market.cache,
        symbol,
        clock=bootstrap.utc_now,
        days=days,
        asset_type=asset_type,
    )
    nothing = view.quote is None and not (view.history and view.history.bars)
    if as_json:
        _print_json(render.price_view_json(view))
        if nothing:
            raise typer.Exit(1)
        return
    if view.quote is not None:
        q = view.quote
        flag = " [yellow](stale: every provider failed)[/]" if q.stale else ""
        out.print(
            f"{view.symbol.symbol} {_money(q.price, 4)} {q.currency} as of "
            f"{q.as_of.strftime('%Y-%m-%d %H:%M UTC')} from {q.source}{flag}",
            highlight=False,
        )
        if q.note:
            out.print(f"  {q.note}", highlight=False)
    else:
        err.print(f"[yellow]no quote:[/] {view.error}", highlight=False, soft_wrap=True)
    if view.history is not None and view.history.bars:
        table = Table("Day", "Close", title=f"Daily closes ({view.history.source})")
        for bar in view.history.bars:
            table.add_row(bar.day.isoformat(), _money(bar.close, 4))
        out.print(table)
    elif view.history_error:
        err.print(f"[yellow]no history:[/] {view.history_error}", highlight=False, soft_wrap=True)
    if nothing:
        raise typer.Exit(1)


@prices_app.command("set-id")
def prices_set_id(
    ctx: typer.Context,
    symbol: str,
    provider: Annotated[str, typer.Argument(help="yahoo, coingecko or alphavantage")],
    provider_id: Annotated[
        str | None, typer.Argument(help="The provider's id; omit to clear it.")
    ] = None,
) -> None:
    """Fix the id a provider knows a symbol by (a CoinGecko id for a shared ticker)."""
    instrument = prices.set_provider_id(_ctx(ctx).uow, symbol, provider, provider_id)
    ids = ", ".join(f"{k}={v}" for k, v in instrument.provider_ids) or "none"
    out.print(f"{instrument.symbol}: provider ids {ids}.", highlight=False)


@prices_app.command("market")
def prices_market(
    ctx: typer.Context,
    market: Annotated[str | None, typer.Argument(help="live or simulated")] = None,
) -> None:
    """Show or set where this ledger's market prices come from (live or simulated)."""
    uow = _ctx(ctx).uow
    if market is not None:
        prices.choose_market(uow, market)
    out.print(f"This ledger uses the {prices.user_market(uow)} market.")


# analytics --------------------------------------------------------------------------------
def _analytics_options(
    start: str | None,
    end: str | None,
    period: str | None,
    benchmark: str,
    risk_free: float,
    confidence: str,
    horizon: int,
    calendar: str,
    account: str | None,
    asset_class: str | None = None,
) -> analytics.Options:
    from quantdesk.services import analytics  # noqa: PLC0415

    try:
        confidences = tuple(float(c) for c in confidence.split(",") if c.strip())
    except ValueError:
        _fail(f"--confidence takes fractions such as 0.95,0.99, got {confidence!r}", 2)
    if calendar not in ("auto", "trading", "daily"):
        _fail(f"--calendar takes auto, trading or daily, got {calendar!r}", 2)
    return analytics.Options(
        start=_day(start, "--start") if start else None,
        end=_day(end, "--end") if end else None,
        period=period,
        benchmark=benchmark,
        risk_free=risk_free,
        confidences=confidences,
        horizon=horizon,
        calendar=calendar,  # type: ignore[arg-type]
        account=account,
        asset_class=asset_class,
    )


StartOpt = Annotated[str | None, typer.Option("--start", help="First day (YYYY-MM-DD).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last day (default today).")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="1M, 3M, YTD, 1Y, 3Y, 5Y or ALL.")]
BenchmarkOpt = Annotated[str, typer.Option("--benchmark", help="Benchmark symbol.")]
RiskFreeOpt = Annotated[float, typer.Option("--risk-free", help="Annual risk-free rate.")]
ConfidenceOpt = Annotated[str, typer.Option("--confidence", help="VaR confidences.")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="VaR horizon in days.")]
CalendarOpt = Annotated[
    str, typer.Option("--calendar", help="auto (daily if any coin), trading or daily.")
]
AssetClassOpt = Annotated[
    str | None,
    typer.Option("--asset-class", help="Only this asset class (stock, etf, fund, crypto...)."),
]


def _pct(value: float | None, places: int = 2) -> str:
    return "[yellow]n/a[/]" if value is None else f"{value * 100:,.{places}f}%"


def _ratio(value: float | None) -> str:
    return "[yellow]n/a[/]" if value is None else f"{value:,.2f}"


@app.command("analytics")
def analytics_command(
    ctx: typer.Context,
    start: StartOpt = None,
    end: EndOpt = None,
    period: PeriodOpt = None,
    benchmark: BenchmarkOpt = "SPY",
    risk_free: RiskFreeOpt = 0.04,
    confidence: ConfidenceOpt = "0.95,0.99",
    horizon: HorizonOpt = 1,
    calendar: CalendarOpt = "auto",
    account: AccountOpt = None,
    asset_class: AssetClassOpt = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="The flows and sub-periods behind the returns.")
    ] = False,
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", help="SYMBOL=+N or SYMBOL=-N units, not saved (repeat)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Returns (simple, time- and money-weighted) and the risk metric set."""
    context = _ctx(ctx)
    options = _analytics_options(
        start,
        end,
        period,
        benchmark,
        risk_free,
        confidence,
        horizon,
        calendar,
        account,
        asset_class,
    )
    from quantdesk.services import analytics, analytics_view, materialize  # noqa: PLC0415

    market = None if context.market.offline else context.market.cache
    changes = _what_if_changes(what_if or [])
    result = None
    if changes:  # hypothetical: computed fresh, never stored
        report = analytics.analyze(context.uow, market, options, clock=bootstrap.utc_now)
        data = analytics_view.analytics_json(report, explain=explain)
        result = analytics.WhatIfEngine(report).evaluate(changes)
    else:
        data = materialize.materialized_analytics(
            context.uow, market, options, clock=bootstrap.utc_now, explain=explain
        ).payload
    if as_json:
        if result is not None:
            data["what_if"] = {
                "quantities": {s: [a, b] for s, (a, b) in result.quantities.items()},
                "current": analytics_view.metric_set_json(result.current),
                "hypothetical": analytics_view.metric_set_json(result.hypothetical),
            }
        _print_json(data)
        return
    _print_analytics(data)
    if result is not None:
        _print_what_if(result)


def _what_if_changes(items: list[str]) -> dict[str, float]:
    changes: dict[str, float] = {}
    for item in items:
        symbol, _, amount = item.partition("=")
        try:
            changes[symbol.strip().upper()] = changes.get(symbol.strip().upper(), 0.0) + float(
                amount
            )
        except ValueError:
            _fail(f"--what-if takes SYMBOL=+N or SYMBOL=-N, got {item!r}", 2)
    return changes


def _print_analytics(data: dict[str, Any]) -> None:
    """The analytics table, from the JSON contract (the same numbers, stored or fresh)."""
    scope = (
        " ".join(
            x
            for x in (
                f"{data['asset_class']} sleeve" if data.get("asset_class") else "",
                f"account '{data['account']}'" if data.get("account") else "",
            )
            if x
        )
        or "portfolio"
    )
    table = Table(
        "Metric",
        "Value",
        "How",
        title=f"Analytics of the {scope}, {data['start']} to {data['end']}",
    )
    value = data["total_value"]
    table.add_row(
        "Value", _money(None if value is None else Decimal(value)), "units at the last close, USD"
    )
    table.add_row("Simple return", _pct(data["simple_return"]), "gain / (start value + inflows)")
    table.add_row("Time-weighted (TWR)", _pct(data["twr"]), "daily returns net of flows, chained")
    table.add_row("TWR annualized", _pct(data["twr_annualized"]), f"A = {data['annualization']}")
    table.add_row("Money-weighted (MWR)", _pct(data["mwr"]), "XIRR of start, flows, end")
    table.add_row("Volatility", _pct(data["volatility"]), "std of daily returns x sqrt(A)")
    table.add_row("Sharpe", _ratio(data["sharpe"]), f"risk-free {data['risk_free']:g}")
    table.add_row("Sortino", _ratio(data["sortino"]), "downside deviation, all days")
    table.add_row("Calmar", _ratio(data["calmar"]), "annual return / |max drawdown|")
    table.add_row("Beta", _ratio(data["beta"]), f"vs {data['benchmark']}")
    table.add_row("Alpha", _pct(data["alpha"]), "annualized, empyrical's definition")
    dd = data["max_drawdown"]
    table.add_row(
        "Max drawdown",
        _pct(None if dd is None else dd["value"]),
        ""
        if dd is None
        else f"peak {dd['peak']}, trough {dd['trough']}, recovered {dd['recovery'] or 'not yet'}",
    )
    for method, levels in data["var"].items():
        for level, figure in levels.items():
            cvar = data["cvar"][method][level]
            amount = "" if figure["amount"] is None else f" ({Decimal(figure['amount']):,.2f} USD)"
            table.add_row(
                f"VaR {level} {method.replace('_', '-')}",
                _pct(figure["fraction"]) + amount,
                f"CVaR {_pct(cvar['fraction'])}, {data['horizon']}-day",
            )
    table.add_row("Observations", str(data["observations"]), f"{data['calendar']} calendar")
    out.print(table)
    if data["contributions"]:
        parts = Table(
            "Symbol",
            "Weight",
            "Return contrib.",
            "Vol contrib.",
            "VaR contrib.",
            title="Contributions",
        )
        for c in data["contributions"]:
            parts.add_row(
                c["symbol"],
                _pct(c["weight"]),
                _pct(c["return_contribution"]),
                _pct(c["volatility_contribution"]),
                _pct(c["var_contribution"]),
            )
        out.print(parts)
    explained = data.get("explain")
    if explained:
        flows = Table("Day", "Net flow (USD)", title="Flows (counted at the end of their day)")
        for flow in explained["flows"]:
            flows.add_row(flow["day"], f"{Decimal(flow['amount']):,.2f}")
        out.print(flows)
        periods = Table(
            "From",
            "To",
            "Start value",
            "End value",
            "Flow at end",
            "Return",
            title="TWR sub-periods (chained)",
        )
        for p in explained["sub_periods"]:
            periods.add_row(
                p["start"],
                p["end"],
                f"{Decimal(p['start_value']):,.2f}",
                f"{Decimal(p['end_value']):,.2f}",
                f"{Decimal(p['flow_at_end']):,.2f}",
                _pct(p["return"]),
            )
        out.print(periods)
    for warning in data["warnings"]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _print_what_if(result: analytics.WhatIf) -> None:
    table = Table(
        "Metric",
        "Current",
        "What-if",
        title="What-if (not saved; holdings held through the period)",
    )
    rows = (
        ("TWR", result.current.twr, result.hypothetical.twr, _pct),
        ("Volatility", result.current.volatility, result.hypothetical.volatility, _pct),
        ("Sharpe", result.current.sharpe, result.hypothetical.sharpe, _ratio),
        ("Beta", result.current.beta, result.hypothetical.beta, _ratio),
    )
    for name, now, then, fmt in rows:
        table.add_row(name, fmt(now), fmt(then))
    for c in sorted(result.current.var.get("historical", {})):
        table.add_row(
            f"VaR {c:g} historical",
            _pct(result.current.var["historical"][c].fraction),
            _pct(result.hypothetical.var["historical"][c].fraction),
        )
    out.print(table)


@app.command("history")
def history_command(
    ctx: typer.Context,
    start: StartOpt = None,
    end: EndOpt = None,
    period: PeriodOpt = None,
    benchmark: BenchmarkOpt = "SPY",
    calendar: CalendarOpt = "auto",
    account: AccountOpt = None,
    asset_class: AssetClassOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The daily series: value, net flow, TWR return, cumulative return, drawdown."""
    from quantdesk.services import analytics, analytics_view  # noqa: PLC0415

    context = _ctx(ctx)
    options = _analytics_options(
        start, end, period, benchmark, 0.04, "0.95,0.99", 1, calendar, account, asset_class
    )
    report = analytics.analyze(
        context.uow,
        None if context.market.offline else context.market.cache,
        options,
        clock=bootstrap.utc_now,
    )
    rows = analytics.history_rows(report)
    if as_json:
        _print_json(analytics_view.history_json(rows))
        return
    table = Table(
        "Day",
        "Value",
        "Net flow",
        "Return",
        "Cumulative",
        "Drawdown",
        f"{report.benchmark}",
        title="Daily history (USD)",
    )
    for h in rows:
        table.add_row(
            h.day.isoformat(),
            f"{h.value:,.2f}",
            f"{h.flow:,.2f}" if h.flow else "",
            _pct(h.daily_return),
            _pct(h.cumulative_return),
            _pct(h.drawdown),
            _pct(h.benchmark_cumulative),
        )
    out.print(table)
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@app.command("report")
def report_command(
    ctx: typer.Context,
    html_file: Annotated[
        Path, typer.Option("--html", help="Write the HTML tear sheet to this file.")
    ],
    period: Annotated[
        str, typer.Option("--period", help="1M, 3M, 6M, YTD, 1Y, 3Y, 5Y or MAX.")
    ] = "1Y",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The last day (YYYY-MM-DD, default today).")
    ] = None,
    benchmark: BenchmarkOpt = "SPY",
) -> None:
    """Write the tear sheet (metrics, charts, holdings) as one HTML file that reads offline."""
    from quantdesk.services import report  # noqa: PLC0415 - numpy and plotly only here

    context = _ctx(ctx)
    sheet = report.build_tearsheet(
        context.uow,
        None if context.market.offline else context.market.cache,
        period=period,
        benchmark=benchmark,
        as_of=_day(as_of, "--as-of") if as_of else None,
        clock=bootstrap.utc_now,
    )
    try:
        html_file.write_text(sheet.html, encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {html_file}: {error.strerror or error}")
    out.print(
        f"Tear sheet as of {sheet.as_of.isoformat()} written to [bold]{html_file}[/].",
        highlight=False,
        soft_wrap=True,
    )
    for warning in sheet.analytics["warnings"]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database to this version's schema."""
    revision = bootstrap.upgrade_database(_ctx(ctx).db)
    out.print(f"Database at schema {revision}.")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user (created if new).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="QUANTDESK_PASSWORD",
            help="The new password (asked for when not given; or $QUANTDESK_PASSWORD).",
        ),
    ],
) -> None:
    """Give a user a password to sign in to the API with (their sessions and tokens end)."""
    from quantdesk.services import auth  # noqa: PLC0415 - argon2 only for this command
    from quantdesk.store.unit_of_work import AuthUnitOfWork  # noqa: PLC0415

    auth.set_password(AuthUnitOfWork(_ctx(ctx).engine), name, password, clock=bootstrap.utc_now)
    out.print(f"User [bold]{name.strip()}[/] can now sign in.")


DEMO_USER = "demo"
#: How long uvicorn's supervisor waits for a worker to answer its health ping before it
#: kills and restarts it (uvicorn's default: 5 s). A worker busy under a burst answers
#: late but is not hung: killed, it dropped its requests in flight and started again
#: with cold caches, which made the burst worse (benchmarks/stack at 200 users: a
#: worker killed every ~30 s, p50 from tens of ms to seconds). A hung worker is still
#: replaced, a minute later.
WORKER_HEALTHCHECK_SECONDS = 60
DEMO_PASSWORD = "quantdesk-demo"  # noqa: S105 - the documented demo login, for a local demo


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"Load the demo portfolio for user '{DEMO_USER}' (password "
            f"'{DEMO_PASSWORD}') first.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API worker processes (stateless: they share the database, and Redis when "
            "QUANTDESK_REDIS_URL is set).",
        ),
    ] = 1,
) -> None:
    """Serve the REST API (and the web dashboard) with uvicorn."""
    import uvicorn  # noqa: PLC0415 - the server only for this command

    from quantdesk.api.app import create_app, started  # noqa: PLC0415
    from quantdesk.api.settings import ApiSettings  # noqa: PLC0415

    context = _ctx(ctx)
    if demo:
        from quantdesk.services import auth  # noqa: PLC0415
        from quantdesk.store.unit_of_work import AuthUnitOfWork  # noqa: PLC0415

        wiring = bootstrap.market_data(context.engine, market="simulated", offline=True)
        assert wiring.simulated_closes is not None
        out.print(
            load_demo(
                bootstrap.unit_of_work(context.engine, DEMO_USER),
                clock=bootstrap.utc_now,
                market=wiring.cache,
                closes=wiring.simulated_closes,
            )
        )
        auth.set_password(
            AuthUnitOfWork(context.engine), DEMO_USER, DEMO_PASSWORD, clock=bootstrap.utc_now
        )
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    out.print(f"quantdesk is serving at [bold]http://{shown}:{port}/[/]", highlight=False)
    out.print(f"API documentation: http://{shown}:{port}/docs", highlight=False)
    if demo:
        out.print(
            f"Demo login: user [bold]{DEMO_USER}[/], password [bold]{DEMO_PASSWORD}[/]",
            highlight=False,
        )
    if workers > 1:
        # each worker process builds its own app from the environment
        os.environ["QUANTDESK_DATABASE_URL"] = context.db
        if context.offline:
            os.environ["QUANTDESK_OFFLINE"] = "1"
        from quantdesk.store.database import fit_pool  # noqa: PLC0415

        pool = fit_pool(context.engine, workers)
        if pool is not None:
            os.environ["QUANTDESK_DB_POOL_SIZE"] = str(pool["pool_size"])
            os.environ["QUANTDESK_DB_MAX_OVERFLOW"] = str(pool["max_overflow"])
            out.print(
                f"{workers} workers, each with up to {pool['pool_size'] + pool['max_overflow']}"
                f" database connections (the server allows {pool['max_connections']})",
                highlight=False,
            )
        context.close()
        uvicorn.run(
            "quantdesk.api.app:from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=False,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
        return
    settings = ApiSettings.from_env(context.db, offline=context.offline)
    api = create_app(settings, engine=context.engine)
    started(api)
    uvicorn.run(api, host=host, port=port, log_level="info", proxy_headers=False)


@app.command("demo")
def demo_command(ctx: typer.Context) -> None:
    """Load the demo portfolio (three accounts, a year of trades) and show it."""
    context = _ctx(ctx)
    wiring = bootstrap.market_data(context.engine, market="simulated", offline=True)
    assert wiring.cache is not None and wiring.simulated_closes is not None
    summary = load_demo(
        context.uow,
        clock=bootstrap.utc_now,
        market=wiring.cache,
        closes=wiring.simulated_closes,
    )
    out.print(summary)
    positions_command(ctx, None, False, CostMethod.FIFO, None, False)
    gains_command(ctx, None, CostMethod.FIFO, None, False)


# The commands of their own modules register on `app` when imported (they use the helpers
# above, so they come last).
from quantdesk.cli import (  # noqa: E402
    backup_commands,
    connection_commands,
    job_commands,
    suggest_commands,
)

__all__ = [
    "app",
    "backup_commands",
    "connection_commands",
    "job_commands",
    "main",
    "suggest_commands",
]


def main() -> None:
    """Console entry point."""
    app()
