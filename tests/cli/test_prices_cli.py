"""`quantdesk prices ...` end to end: real adapters against a local upstream, offline, simulated."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from quantdesk.cli.app import app
from tests.market.conftest import REDIS_URL_VARIABLE
from tests.market.upstream import Reply, Upstream

TRADES = """date,type,symbol,quantity,price,fees,asset_type
2026-11-02,buy,AAPL,10,200,0,stock
2026-11-03,buy,BTC,0.5,90000,0,crypto
"""


def _now() -> int:
    """Now, when a reply is built: the quotes' times and the charts' days are taken at
    the same moment (a time taken at import made them disagree across midnight)."""
    return int(datetime.now(UTC).timestamp())


def _chart(days: int = 5) -> dict[str, Any]:
    start = datetime.now(UTC).replace(hour=14, minute=30, second=0, microsecond=0)
    stamps = [int((start - timedelta(days=d)).timestamp()) for d in range(days, 0, -1)]
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": "AAPL",
                        "exchangeTimezoneName": "America/New_York",
                        "priceHint": 2,
                    },
                    "timestamp": stamps,
                    "indicators": {"quote": [{"close": [230.5 + d for d in range(days)]}]},
                }
            ],
            "error": None,
        }
    }


def _coin_chart(days: int = 5) -> dict[str, Any]:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    points = [
        [int((midnight - timedelta(days=d)).timestamp() * 1000), 90000.25 + d]
        for d in range(days, -1, -1)
    ]
    return {"prices": points, "market_caps": [], "total_volumes": []}


@pytest.fixture
def market(monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    """Yahoo's and CoinGecko's APIs on 127.0.0.1, reached through the configured base URLs."""
    with Upstream() as upstream:
        _serve(upstream, monkeypatch)
        yield upstream


def _serve(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    upstream.route("/v1/test/getcrumb", Reply(raw="crumb-1"))
    upstream.route("/v7/finance/quote", Reply(aapl_quote()))
    upstream.route("/v8/finance/chart/AAPL", Reply(_chart()))
    upstream.route(
        "/api/v3/coins/list", Reply([{"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"}])
    )
    upstream.route(
        "/api/v3/simple/price",
        Reply({"bitcoin": {"usd": 91234.56, "last_updated_at": _now() - 30}}),
    )
    upstream.route("/api/v3/coins/bitcoin/market_chart/range", Reply(_coin_chart()))
    monkeypatch.setenv("QUANTDESK_YAHOO_BASE_URL", upstream.url)
    monkeypatch.setenv("QUANTDESK_COINGECKO_BASE_URL", f"{upstream.url}/api/v3")
    monkeypatch.delenv("QUANTDESK_OFFLINE", raising=False)
    monkeypatch.delenv("QUANTDESK_REDIS_URL", raising=False)


class Cli:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'q.db'}"
        self.tmp = tmp
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, ["--db", self.url, *args], catch_exceptions=False)
        assert code == result.exit_code, result.output
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)

    def ledger(self) -> None:
        trades = self.tmp / "trades.csv"
        trades.write_text(TRADES)
        self("accounts", "add", "Broker", "--kind", "brokerage")
        self("import", str(trades), "--account", "Broker")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_refresh_prices_the_ledger_through_the_configured_providers(
    cli: Cli, market: Upstream
) -> None:
    """Stocks go to Yahoo and coins to CoinGecko at their base URLs; positions use them."""
    cli.ledger()
    report = cli.json("prices", "refresh")
    assert {"AAPL": ("231.5", "yahoo"), "BTC": ("91234.56", "coingecko")} == {
        s: (q["price"], q["source"]) for s, q in report["quotes"].items()
    }
    assert {} == report["errors"]
    assert report["closes"]["AAPL"] > 0 and report["closes"]["BTC"] > 0
    positions = {p["symbol"]: p for p in cli.json("positions")["positions"]}
    assert ("2315", "yahoo") == (
        positions["AAPL"]["market_value"],
        positions["AAPL"]["price_source"],
    )


def test_second_refresh_within_the_ttl_calls_nothing_upstream(cli: Cli, market: Upstream) -> None:
    """A new process within the TTL finds fresh quotes and stored closes: no upstream call."""
    cli.ledger()
    first = cli.json("prices", "refresh")
    before = len(market.calls())
    again = cli.json("prices", "refresh")
    assert before == len(market.calls())
    assert {"AAPL", "BTC"} == set(again["quotes"])
    assert {"yahoo": 0, "coingecko": 0, "alphavantage": 0} == again["upstream_calls"]
    assert first["upstream_calls"]["yahoo"] >= 2  # crumb, one quote batch, one chart
    assert before == sum(first["upstream_calls"].values())


def test_offline_refresh_fetches_nothing_and_succeeds(
    cli: Cli, market: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--offline and QUANTDESK_OFFLINE=1 reach no provider and exit 0."""
    cli.ledger()
    assert "Offline" in cli("--offline", "prices", "refresh").stdout
    monkeypatch.setenv("QUANTDESK_OFFLINE", "1")
    assert cli.json("prices", "refresh")["offline"] is True
    assert 1 == cli("prices", "show", "AAPL", code=1).exit_code  # nothing stored yet
    assert [] == market.calls()


def test_offline_show_serves_what_is_stored(
    cli: Cli, market: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, `prices show` gives the stored quote and closes and calls nothing."""
    cli.ledger()
    cli("prices", "refresh")
    before = len(market.calls())
    view = cli.json("--offline", "prices", "show", "AAPL", "--days", "60")
    assert before == len(market.calls())
    assert ("231.5", "yahoo") == (view["quote"]["price"], view["quote"]["source"])
    assert len(view["history"]["closes"]) > 0
    assert "yahoo" == view["history"]["source"]


def test_show_an_unknown_symbol_is_a_clear_failure(cli: Cli, market: Upstream) -> None:
    """A symbol no provider knows gives its reason and exit status 1, never a price of 0."""
    market.route("/v7/finance/quote", Reply({"quoteResponse": {"result": [], "error": None}}))
    market.route(
        "/v8/finance/chart/NOPE",
        Reply(
            {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data"}}},
            status=404,
        ),
    )
    view = cli.json("prices", "show", "NOPE", "--type", "stock", code=1)
    assert (None, None) == (view["quote"], view["history"])
    assert "unknown" in view["error"]


def test_provider_outage_is_reported_per_symbol(cli: Cli, market: Upstream) -> None:
    """With CoinGecko failing (HTTP 500 on every try), BTC is an error and AAPL is priced."""
    cli.ledger()
    market.route("/api/v3/simple/price", Reply({"error": "boom"}, status=500))
    market.route("/api/v3/coins/bitcoin/market_chart/range", Reply({"error": "boom"}, status=500))
    market.route("/v7/finance/quote", Reply(aapl_quote()))
    report = cli.json("prices", "refresh")
    assert ["AAPL"] == list(report["quotes"])
    assert "HTTP 500" in report["errors"]["BTC"]


def aapl_quote() -> dict[str, Any]:
    """Yahoo's quote answer with AAPL only (BTC is not asked of Yahoo while CoinGecko
    answers, and is missing from the answer when it is)."""
    return {
        "quoteResponse": {
            "result": [
                {
                    "symbol": "AAPL",
                    "regularMarketPrice": 231.5,
                    "currency": "USD",
                    "regularMarketTime": _now() - 60,
                }
            ],
            "error": None,
        }
    }


def test_simulated_market_is_labelled_and_stays_with_its_ledger(cli: Cli) -> None:
    """--market simulated prices the ledger with labelled made-up prices only for that run."""
    cli.ledger()
    report = cli.json("--market", "simulated", "prices", "refresh")
    assert {"simulated"} == {q["source"] for q in report["quotes"].values()}
    assert all(q["simulated"] for q in report["quotes"].values())
    simulated = cli.json("--market", "simulated", "positions")["positions"]
    assert {"simulated"} == {p["price_source"] for p in simulated}
    live = cli.json("--offline", "positions")["positions"]
    assert {None} == {p["price_source"] for p in live}


def test_show_in_the_simulated_market_needs_no_ledger(cli: Cli) -> None:
    """Any symbol of the simulated universe can be shown with its type."""
    view = cli.json("--market", "simulated", "prices", "show", "SPY", "--type", "etf")
    assert view["quote"]["simulated"] is True
    assert view["history"]["simulated"] is True
    assert len(view["history"]["closes"]) >= 15


def test_set_id_fixes_the_coingecko_id(cli: Cli, market: Upstream) -> None:
    """An explicit CoinGecko id is used instead of mapping the ticker."""
    cli.ledger()
    cli("prices", "set-id", "BTC", "coingecko", "wrapped-bitcoin")
    market.route("/api/v3/simple/price", Reply({"wrapped-bitcoin": {"usd": 91000.5}}))
    market.route("/api/v3/coins/wrapped-bitcoin/market_chart/range", Reply(_coin_chart()))
    report = cli.json("prices", "refresh")
    assert "91000.5" == report["quotes"]["BTC"]["price"]
    assert "wrapped-bitcoin" == market.calls("/api/v3/simple/price")[-1].params["ids"]


def test_processes_sharing_redis_share_quotes(
    tmp_path: Path, market: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deployments on one Redis: the second's refresh finds the first's fresh quotes."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        pytest.skip(f"{REDIS_URL_VARIABLE} is not set")
    prefix = f"quantdesk-test:{uuid.uuid4().hex}:"
    monkeypatch.setenv("QUANTDESK_REDIS_URL", url)
    monkeypatch.setenv("QUANTDESK_REDIS_PREFIX", prefix)
    first, second = Cli(tmp_path / "a"), Cli(tmp_path / "b")
    for cli in (first, second):
        cli.tmp.mkdir()
        cli.ledger()
    one = first.json("prices", "refresh")
    quote_calls = len(market.calls("/v7/finance/quote")) + len(market.calls("/api/v3/simple/price"))
    two = second.json("prices", "refresh")
    client = redis.Redis.from_url(url)
    client.delete(*client.scan_iter(match=prefix + "*"))
    client.close()  # the database still has the quotes: positions below read them there
    assert 2 == quote_calls
    assert quote_calls == len(market.calls("/v7/finance/quote")) + len(
        market.calls("/api/v3/simple/price")
    )
    assert one["quotes"] == two["quotes"]
    aapl = next(p for p in first.json("positions")["positions"] if p["symbol"] == "AAPL")
    assert ("231.5", "yahoo") == (aapl["price"], aapl["price_source"])  # written through
