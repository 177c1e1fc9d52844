"""Binance's exports (CSV, all times UTC): the account statement ("Transaction History",
:mod:`.binance_statement`), and Auto-Invest, spot trade, deposit and withdrawal history
(:mod:`.binance_exports`)."""

from __future__ import annotations

from quantdesk.importers.binance_exports import (
    AUTO_INVEST_COLUMNS,
    DEPOSIT_COLUMNS,
    TRADES_COLUMNS,
    TRADES_MARKET_COLUMNS,
    WITHDRAWAL_COLUMNS,
    parse_auto_invest,
    parse_deposits,
    parse_trades,
    parse_withdrawals,
    split_pair,
)
from quantdesk.importers.binance_statement import STATEMENT_COLUMNS, parse_statement
from quantdesk.importers.format import Format, sig

__all__ = ["FORMATS", "split_pair"]

FORMATS = (
    Format(
        name="binance-statement",
        title="Binance Transaction History / account statement (CSV)",
        kind="csv",
        columns=STATEMENT_COLUMNS,
        signatures=(sig("UTC_Time", "Account", "Operation", "Coin", "Change"),),
        csv_parser=parse_statement,
        time_zone="UTC",
        notes="trades grouped by time and account and netted by coin; internal moves "
        "skipped; multi-coin groups left to resolve",
    ),
    Format(
        name="binance-auto-invest",
        title="Binance Auto-Invest history (CSV)",
        kind="csv",
        columns=AUTO_INVEST_COLUMNS,
        signatures=(sig(*AUTO_INVEST_COLUMNS),),
        csv_parser=parse_auto_invest,
        time_zone="UTC",
        notes="successful periods only",
    ),
    Format(
        name="binance-trades",
        title="Binance spot trade history (CSV)",
        kind="csv",
        columns=TRADES_COLUMNS,
        signatures=(sig(*TRADES_COLUMNS), sig(*TRADES_MARKET_COLUMNS)),
        csv_parser=parse_trades,
        time_zone="UTC",
        notes="pairs split by known quote assets",
    ),
    Format(
        name="binance-deposits",
        title="Binance deposit history (CSV)",
        kind="csv",
        columns=DEPOSIT_COLUMNS,
        signatures=(sig(*DEPOSIT_COLUMNS),),
        csv_parser=parse_deposits,
        time_zone="UTC",
        notes="completed deposits only",
    ),
    Format(
        name="binance-withdrawals",
        title="Binance withdrawal history (CSV)",
        kind="csv",
        columns=WITHDRAWAL_COLUMNS,
        signatures=(sig(*WITHDRAWAL_COLUMNS),),
        csv_parser=parse_withdrawals,
        time_zone="UTC",
        notes="completed withdrawals only; the network fee leaves with the amount",
    ),
)
