"""Resolving the names in an imported row: its account and its instrument."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from quantdesk.domain.accounts import Account
from quantdesk.domain.instruments import GIVEN_TYPES, AssetType, Instrument, InstrumentKey
from quantdesk.importers.base import Issues
from quantdesk.services.ports import LedgerStore


class AccountResolver:
    """The account of each row: its own ``account`` column, else the import's account.

    Names are looked up once; an unknown name is an issue on every row that uses it,
    unless ``fall_back`` is set (a broker export naming its own account numbers): then
    the row goes to the import's account and ``fallbacks`` records the mapping.
    """

    def __init__(
        self,
        store: LedgerStore,
        default: Account | None,
        issues: Issues,
        *,
        fall_back: bool = False,
    ) -> None:
        self.store, self.default, self.issues = store, default, issues
        self.fall_back = fall_back
        self.found: dict[str, Account | None] = {}
        self.fallbacks: dict[str, str] = {}
        if default is not None:
            self.found[default.name] = default
        self._known: str | None = None

    def __call__(self, name: str | None, line: int) -> Account | None:
        if name is None:
            if self.default is None:
                self.issues.add(
                    line, "account", "no account: give --account or fill the account column"
                )
            return self.default
        if name not in self.found:
            self.found[name] = self.store.find_account(name)
        account = self.found[name]
        if account is None and self.fall_back and self.default is not None:
            self.fallbacks[name] = self.default.name
            return self.default
        if account is None:
            if self._known is None:
                self._known = ", ".join(a.name for a in self.store.list_accounts()) or "none yet"
            self.issues.add(
                line,
                "account",
                f"no account named '{name}' (accounts: {self._known}); create it with "
                f"`quantdesk accounts add '{name}' --kind KIND`"
                + (" or give --account" if self.fall_back else ""),
            )
        return account

    def used(self) -> dict[str, Account]:
        """The accounts rows resolved to, by name."""
        return {name: a for name, a in self.found.items() if a is not None}


class InstrumentResolver:
    """Symbol (and asset type, when the row gives one) to instrument, created on demand.

    An unknown symbol with no asset type is an error for its row; a symbol that several
    asset types share needs the asset type to choose.
    """

    def __init__(self, store: LedgerStore, now: datetime) -> None:
        self.store, self.now = store, now
        self.known: dict[str, list[Instrument]] = {}
        self.ids: dict[InstrumentKey, int] = {}

    def prefetch(self, symbols: Iterable[str]) -> None:
        wanted = {s for s in symbols if s not in self.known}
        found = self.store.instruments_by_symbol(wanted)
        for symbol in wanted:
            self.known[symbol] = found.get(symbol, [])
            for instrument in self.known[symbol]:
                if instrument.id is not None:
                    self.ids[instrument.key] = instrument.id

    def resolve(
        self,
        symbol: str,
        asset_type: AssetType | None,
        currency: str,
        issues: Issues,
        line: int,
        fallback: AssetType | None = None,
    ) -> Instrument | None:
        """The instrument a row names, created (in ``currency``) when new; an instrument
        of unknown type takes the asset type the row gives. ``fallback`` is the type a
        new symbol gets when the row gives none (a broker's equity is a stock)."""
        candidates = self.known.get(symbol, [])
        typed = [c for c in candidates if c.asset_type is not AssetType.UNKNOWN]
        if (
            asset_type is None
            and fallback is not None
            and (not typed or (len(typed) > 1 and any(c.asset_type is fallback for c in typed)))
        ):
            asset_type = fallback
        if asset_type is None:
            if not typed:
                types = ", ".join(GIVEN_TYPES)
                issues.add(
                    line,
                    "symbol",
                    f"unknown symbol {symbol}: add an asset_type column with its type ({types})",
                )
                return None
            if len(typed) > 1:
                types = " and ".join(c.asset_type.value for c in typed)
                issues.add(line, "asset_type", f"{symbol} is both {types}: give its asset_type")
                return None
            return typed[0]
        for candidate in typed:
            if candidate.asset_type is asset_type:
                return candidate
        untyped = next((c for c in candidates if c.asset_type is AssetType.UNKNOWN), None)
        if untyped is not None and untyped.id is not None:
            self.store.classify_instrument(untyped.id, asset_type)
            instrument = Instrument(symbol, asset_type, untyped.currency, untyped.name, untyped.id)
            candidates.remove(untyped)
        else:
            created = self.store.ensure_instruments(
                [Instrument(symbol, asset_type, currency)], self.now
            )
            instrument = Instrument(
                symbol, asset_type, currency, id=created[InstrumentKey(symbol, asset_type)]
            )
        self.known.setdefault(symbol, []).append(instrument)
        if instrument.id is not None:
            self.ids[instrument.key] = instrument.id
        return instrument
