"""The demo portfolio: three accounts with a snapshot, a year of trades and demo closes.

Its closes are stored with source ``demo`` and shown as such: they are illustrative, not
market data. (The simulated market of the market-data work replaces them.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources import files

from quantdesk.domain.accounts import Account, AccountKind
from quantdesk.domain.errors import Conflict, QuantdeskError
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import import_price_stream
from quantdesk.services.ports import UnitOfWork

ACCOUNTS = (
    ("Fidelity", "brokerage", "Fidelity", "fidelity-holdings.csv", "fidelity-trades.csv"),
    ("Vanguard IRA", "retirement", "Vanguard", "vanguard-holdings.csv", None),
    ("Coinbase", "exchange", "Coinbase", None, "coinbase-trades.csv"),
)


def load_demo(uow: UnitOfWork, *, clock: Callable[[], datetime]) -> str:
    """Create the demo accounts and import their files; running it again adds nothing."""
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
    with data.joinpath("prices.csv").open("rb") as stream:
        import_price_stream(uow, stream, clock=clock, source="demo")
    return (
        f"Demo portfolio loaded: {len(ACCOUNTS)} accounts, {added} new transactions "
        f"(prices marked 'demo' are illustrative closes, not market data)."
    )
