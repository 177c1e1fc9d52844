"""The demo portfolio: three accounts with a snapshot and a year of trades, priced by the
simulated market.

The demo's ledger uses the simulated market for good (``prices market``): its quotes and
closes are made locally from a seed, stored labelled ``simulated`` and shown as such.
They are illustrative, not market data, and no other ledger ever sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources import files

from quantdesk.domain.accounts import Account, AccountKind
from quantdesk.domain.errors import Conflict, QuantdeskError
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.ports import CloseSink, MarketData, UnitOfWork
from quantdesk.services.prices import choose_market, refresh_prices
from quantdesk.services.settings import DEFAULT_BENCHMARK

ACCOUNTS = (
    ("Fidelity", "brokerage", "Fidelity", "fidelity-holdings.csv", "fidelity-trades.csv"),
    ("Vanguard IRA", "retirement", "Vanguard", "vanguard-holdings.csv", None),
    ("Coinbase", "exchange", "Coinbase", None, "coinbase-trades.csv"),
)


def load_demo(
    uow: UnitOfWork,
    *,
    clock: Callable[[], datetime],
    market: MarketData,
    closes: CloseSink,
) -> str:
    """Create the demo accounts, import their files and price them with the simulated
    ``market`` (closes stored in ``closes``); running it again adds nothing."""
    data = files(__name__)
    added = 0
    with uow() as store:
        demo = {name: (kind, institution) for name, kind, institution, _, _ in ACCOUNTS}
        others = [
            a.name
            for a in store.list_accounts()
            if demo.get(a.name) != (a.kind.value, a.institution) or a.currency != "USD"
        ]
        if others:
            raise Conflict(
                f"this ledger already has accounts of its own ({', '.join(others)}): the demo "
                "loads only into a ledger of its own; use --db with a new file or --user demo"
            )
        for name, kind, institution, _, _ in ACCOUNTS:
            if store.find_account(name) is None:
                store.add_account(Account(name, AccountKind(kind), "USD", institution), clock())
    for name, _, _, holdings, trades in ACCOUNTS:
        for filename in (holdings, trades):
            if filename is None:
                continue
            with data.joinpath(filename).open("rb") as stream:
                report = import_stream(
                    uow, stream, filename, ImportOptions(account=name), clock=clock
                )
            if not report.ok:
                problems = "; ".join(i.describe() for i in report.issues)
                raise QuantdeskError(f"demo file {filename} did not import: {problems}")
            added += report.added
    choose_market(uow, "simulated")
    priced = refresh_prices(uow, market, clock=clock, simulated=closes, benchmark=DEFAULT_BENCHMARK)
    if priced.errors:
        problems = "; ".join(f"{s}: {e}" for s, e in sorted(priced.errors.items()))
        raise QuantdeskError(f"the simulated market could not price the demo: {problems}")
    return (
        f"Demo portfolio loaded: {len(ACCOUNTS)} accounts, {added} new transactions, "
        f"{sum(priced.closes.values())} daily closes of {len(priced.symbols)} instruments "
        "from the simulated market (illustrative prices, not market data)."
    )
