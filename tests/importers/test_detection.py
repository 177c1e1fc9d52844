"""Every real sample export is recognized as its own format without being told, and a
file that matches nothing names the closest formats and what they miss."""

from __future__ import annotations

import io

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.importers import registry
from quantdesk.importers.csvio import open_csv
from tests.importers.broker_golden import sample

EXPECTED = {
    "binance/binance_auto_invest_dalirp2.csv": "binance-auto-invest",
    "binance/binance_transaction_history_rotki.csv": "binance-statement",
    "binance/binance_transaction_history_uabean.csv": "binance-statement",
    "coinbase/coinbase_pro_account_statement_rotki.csv": "coinbase-pro-account",
    "coinbase/coinbase_pro_fills_real.csv": "coinbase-pro-fills",
    "coinbase/coinbase_reward_income_2024_gfsk.csv": "coinbase",
    "coinbase/coinbase_transactions_2025_e2g.csv": "coinbase",
    "coinbase/coinbase_transactions_legacy_preamble_gfsk.csv": "coinbase",
    "degiro/degiro_account_en_fx_buy_gfsk.csv": "degiro-account",
    "degiro/degiro_account_nl_e2g.csv": "degiro-account",
    "degiro/degiro_transactions_de_wojI.csv": "degiro-transactions",
    "etrade/etrade_09092023.QFX": "ofx",
    "fidelity/fidelity.ofx": "ofx",
    "fidelity/fidelity_all_accounts_transactions.csv": "fidelity",
    "fidelity/fidelity_cma_History_for_Account.csv": "fidelity",
    "ghostfolio/ghostfolio_btcusd.csv": "ghostfolio-csv",
    "ghostfolio/ghostfolio_sample.csv": "ghostfolio-csv",
    "ghostfolio/ghostfolio_sample.json": "ghostfolio-json",
    "ibkr/ibkr_activity_statement_2023.csv": "ibkr-activity",
    "ibkr/ibkr_flex_dividends_e2g.csv": "ibkr-flex-csv",
    "ibkr/ibkr_flex_query.xml": "ibkr-flex-xml",
    "ibkr/ibkr_flex_trades_e2g.csv": "ibkr-flex-csv",
    "ibkr/ibkr_transaction_history_kapji.csv": "ibkr-transaction-history",
    "kraken/kraken_ledgers_2024_new_layout.csv": "kraken-ledgers",
    "kraken/kraken_ledgers_cointaxman.csv": "kraken-ledgers",
    "kraken/kraken_ledgers_staking_uabean.csv": "kraken-ledgers",
    "kraken/kraken_trades_cointaxman.csv": "kraken-trades",
    "portfolio-performance/pp_export_selected_transactions.csv": "portfolio-performance",
    "portfolio-performance/pp_import_account_transactions.csv": "portfolio-performance",
    "portfolio-performance/pp_import_portfolio_transactions.csv": "portfolio-performance",
    "robinhood/robinhood_activity_real_first200.csv": "robinhood",
    "robinhood/robinhood_activity_real_rare_codes_excerpt.csv": "robinhood",
    "robinhood/robinhood_fixture_small.csv": "robinhood",
    "schwab/schwab_brokerage_transactions_reds.csv": "schwab",
    "schwab/schwab_export_e2g.csv": "schwab",
    "trading212/trading212_2020_old_layout_kapji.csv": "trading212",
    "trading212/trading212_2026_new_layout_kapji.csv": "trading212",
    "trading212/trading212_export_e2g.csv": "trading212",
    "vanguard/vanguard_401k.qfx": "ofx",
    "vanguard/vanguard_OfxDownload_two_sections.csv": "vanguard",
    "vanguard/vanguard_brokerage.ofx": "ofx",
}


def _detect(data: bytes) -> tuple[str, float]:
    document = registry.sniff_document(data[: 64 * 1024])
    if document is not None:
        return document.name, 1.0
    _, records = open_csv(io.BytesIO(data))
    found = registry.detect_csv(records)
    return found.format.name, found.confidence


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_each_sample_export_is_detected_as_its_format(relative: str) -> None:
    """Header signatures (after any preamble) or a document's first bytes choose the
    format; the broker's own layouts score at least 3/4 of their columns known."""
    name, confidence = _detect(sample(relative).read_bytes())
    assert EXPECTED[relative] == name
    assert confidence >= 0.75


def test_every_format_has_a_unique_name_and_a_way_to_be_recognized() -> None:
    """`quantdesk formats` lists each name once, and each format can be detected."""
    names = registry.names()
    assert len(names) == len(set(names))
    for f in registry.FORMATS:
        assert f.signatures or f.sniff is not None, f.name


def test_a_header_close_to_a_format_names_it_and_its_missing_columns() -> None:
    """A Robinhood export with a renamed column is not guessed: the error names
    robinhood as the closest format and the column it lacks."""
    header = (
        '"Activity Date","Process Date","Settle Date","Instrument","Description",'
        '"Transaction Code","Quantity","Price","Amount"\n'
    )
    with pytest.raises(InvalidInput, match=r"closest formats: robinhood .*'Trans Code'"):
        _detect(
            header.encode() + b'"1/2/2024","1/2/2024","1/4/2024","AAPL","x","Buy","1","$1","($1)"\n'
        )
