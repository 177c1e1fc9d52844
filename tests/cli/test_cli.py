"""The `quantdesk` command as a user runs it: exit codes, messages, and the JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from quantdesk.cli.app import app

SNAPSHOT = (
    "symbol,quantity,asset_type,cost_basis,purchase_date\n"
    "AAPL,10,stock,150,2023-01-10\nBTC,0.5,crypto,30000,2023-06-01\n"
)
TRADES = (
    "date,type,symbol,quantity,price,fees,amount\n"
    "2024-06-03,sell,AAPL,4,190,1,\n"
    "2024-06-10,dividend,AAPL,,,,2.40\n"
)
PRICES = "date,symbol,close\n2024-11-01,AAPL,200\n2024-11-01,BTC,60000\n"


class Quantdesk:
    """Runs the CLI against one database, as `quantdesk --db URL ...`."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(app, ["--db", self.url, *args], catch_exceptions=False)
        if ok:
            assert 0 == result.exit_code, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def file(self, name: str, content: str) -> str:
        path = self.tmp / name
        path.write_text(content)
        return str(path)


@pytest.fixture
def qd(engine: Engine, tmp_path: Path) -> Quantdesk:
    return Quantdesk(engine.url.render_as_string(hide_password=False), tmp_path)


def test_accounts_add_and_list(qd: Quantdesk) -> None:
    qd("accounts", "add", "Fidelity", "--kind", "brokerage", "--institution", "Fidelity")
    qd("accounts", "add", "Ledger", "--kind", "wallet", "--currency", "eur")
    qd("accounts", "add", "HSA", "--kind", "brokerage", "--tax-advantaged")
    qd("accounts", "add", "Roth", "--kind", "retirement")
    assert [
        {
            "name": "Fidelity",
            "kind": "brokerage",
            "institution": "Fidelity",
            "currency": "USD",
            "taxable": True,
        },
        {
            "name": "HSA",
            "kind": "brokerage",
            "institution": None,
            "currency": "USD",
            "taxable": False,
        },
        {
            "name": "Ledger",
            "kind": "wallet",
            "institution": None,
            "currency": "EUR",
            "taxable": True,
        },
        {
            "name": "Roth",
            "kind": "retirement",
            "institution": None,
            "currency": "USD",
            "taxable": False,
        },
    ] == [{k: v for k, v in a.items() if k != "id"} for a in qd.json("accounts", "list")]
    assert "tax-advantaged" in qd("accounts", "list").stdout


def test_bad_account_kind_and_duplicate_name_are_clear_errors(qd: Quantdesk) -> None:
    bad = qd("accounts", "add", "X", "--kind", "piggybank", ok=False)
    assert 1 == bad.exit_code and "unknown account kind" in bad.stderr
    qd("accounts", "add", "X", "--kind", "manual")
    again = qd("accounts", "add", "X", "--kind", "manual", ok=False)
    assert 1 == again.exit_code and "already exists" in again.stderr


def test_import_positions_lots_and_gains_json(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    imported = qd.json("import", qd.file("h.csv", SNAPSHOT), "--account", "Broker")
    assert ("generic-holdings", 2, True) == (
        imported["format"],
        imported["added"],
        imported["stored"],
    )
    qd("import", qd.file("t.csv", TRADES), "--account", "Broker")
    qd("prices", "import", qd.file("p.csv", PRICES))

    positions = qd.json("positions", "--as-of", "2024-12-31")
    aapl = next(p for p in positions["positions"] if p["symbol"] == "AAPL")
    assert {
        "account": "Broker",
        "quantity": "6",
        "cost_basis": "900",
        "average_cost": "150",
        "price": "200",
        "price_as_of": "2024-11-01",
        "market_value": "1200",
        "unrealized_gain": "300",
        "unknown_basis_quantity": "0",
    } == {
        k: aapl[k]
        for k in (
            "account",
            "quantity",
            "cost_basis",
            "average_cost",
            "price",
            "price_as_of",
            "market_value",
            "unrealized_gain",
            "unknown_basis_quantity",
        )
    }
    assert {
        "USD": {"market_value": "31200", "cost_basis": "15900", "unrealized_gain": "15300"}
    } == positions["totals"]

    lots = qd.json("lots", "AAPL")["lots"]
    assert [("6", "150", "2023-01-10", True)] == [
        (lot["quantity"], lot["cost_per_unit"], lot["acquired_on"], lot["basis_known"])
        for lot in lots
    ]
    gains = qd.json("gains", "--year", "2024")
    assert {
        "USD": {"short_term": "0", "long_term": "159", "total": "159", "unknown_basis_disposals": 0}
    } == gains["realized"]
    assert {"dividend:USD": "2.4"} == gains["income"]
    assert "long" == gains["disposals"][0]["term"]


def test_positions_without_a_price_say_so_instead_of_zero(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    qd("import", qd.file("h.csv", SNAPSHOT), "--account", "Broker")
    data = qd.json("positions", "--consolidated")
    assert {None} == {p["market_value"] for p in data["positions"]}
    assert any("no price" in w for w in data["warnings"])
    assert data["totals"]["USD"]["market_value"] is None
    assert "no price" in qd("positions").stdout


def test_failed_import_exits_nonzero_lists_rows_and_stores_nothing(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    path = qd.file(
        "bad.csv",
        "symbol,type,quantity,price,date\nAAPL,buy,x,1,2024-01-02\nAAPL,buy,1,1,2099-01-01\n",
    )
    result = qd("import", path, "--account", "Broker", ok=False)
    assert 1 == result.exit_code
    assert "line 2, column 'quantity'" in result.stderr and "line 3, column 'date'" in result.stderr
    data = json.loads(qd("import", path, "--account", "Broker", "--json", ok=False).stdout)
    assert (2, False) == (data["issue_count"], data["stored"])
    assert [] == qd.json("transactions", "list")


def test_sale_beyond_history_and_the_way_out(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    path = qd.file(
        "t.csv", "symbol,type,quantity,price,date,asset_type\nAAPL,sell,5,100,2024-01-02,stock\n"
    )
    refused = qd("import", path, "--account", "Broker", ok=False)
    assert "short by 5" in refused.stderr and "--allow-unknown-basis" in refused.stderr
    qd("import", path, "--account", "Broker", "--allow-unknown-basis")
    (lot_free,) = [t for t in qd.json("transactions", "list") if t["origin"] == "unknown_basis"]
    gains = qd.json("gains")
    assert (
        1,
        {"USD": {"short_term": "0", "long_term": "0", "total": "0", "unknown_basis_disposals": 1}},
    ) == (gains["unknown_basis_disposals"], gains["realized"])
    qd(
        "transactions",
        "set-basis",
        str(lot_free["id"]),
        "--price",
        "80",
        "--acquired-on",
        "2020-01-02",
    )
    assert {
        "USD": {"short_term": "0", "long_term": "100", "total": "100", "unknown_basis_disposals": 0}
    } == qd.json("gains")["realized"]


def test_specific_lots_from_the_command_line(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    content = (
        "date,type,symbol,quantity,price,asset_type\n"
        "2024-01-02,buy,AAPL,10,100,stock\n2024-02-01,buy,AAPL,10,300,stock\n"
        "2024-03-01,sell,AAPL,5,200,stock\n"
    )
    qd("import", qd.file("t.csv", content), "--account", "Broker")
    lot_ids = [lot["lot_id"] for lot in qd.json("lots", "AAPL")["lots"]]
    sale = qd.json("transactions", "list")[-1]
    qd("transactions", "set-lots", str(sale["id"]), "--lot", f"{lot_ids[1]}=5")
    gains = qd.json("gains", "--method", "specific")["realized"]["USD"]["total"]
    assert "-500" == gains
    bad = qd("transactions", "set-lots", str(sale["id"]), "--lot", "nonsense", ok=False)
    assert 2 == bad.exit_code and "LOT_ID=UNITS" in bad.stderr


def test_reimport_reports_duplicates(qd: Quantdesk) -> None:
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    path = qd.file("h.csv", SNAPSHOT)
    qd("import", path, "--account", "Broker")
    second = qd("import", path, "--account", "Broker")
    assert "already imported" in second.stdout


def test_formats_lists_columns(qd: Quantdesk) -> None:
    names = {f["name"]: f for f in json.loads(qd("formats", "--json").stdout)}
    assert [["symbol", "type", "quantity", "price", "date"]] == names["generic-trades"]["layouts"]
    assert "cost_basis" in names["generic-holdings"]["columns"]
    assert "Trans Code" in names["robinhood"]["columns"]
    table = qd("formats").stdout
    assert "robinhood" in table and "generic-trades" in table


def test_users_are_separate(qd: Quantdesk) -> None:
    qd("accounts", "add", "Mine", "--kind", "brokerage")
    other = qd.runner.invoke(app, ["--db", qd.url, "--user", "bob", "accounts", "list", "--json"])
    assert [] == json.loads(other.stdout)


def test_demo_loads_and_is_idempotent(qd: Quantdesk) -> None:
    first = qd("demo")
    assert "Demo portfolio loaded" in first.stdout and "Positions" in first.stdout
    count = len(qd.json("transactions", "list", "--limit", "0"))
    qd("demo")
    assert count == len(qd.json("transactions", "list", "--limit", "0"))
    positions = qd.json("positions", "--consolidated")
    assert {"simulated", "cash"} == {p["price_source"] for p in positions["positions"]}
    assert [] == list(positions["warnings"])


def test_demo_prices_stay_out_of_a_live_ledger(qd: Quantdesk) -> None:
    """Simulated closes priced the demo user; another user of the same database sees none."""
    qd("--user", "demo", "demo")
    qd("accounts", "add", "Mine", "--kind", "brokerage")
    qd(
        "import",
        str(Path(__file__).parents[1] / "golden/importers/generic/holdings-basic.csv"),
        "--account",
        "Mine",
    )
    mine = qd.json("positions")
    assert all(p["price_source"] in (None, "cash") for p in mine["positions"])
    assert "live" in qd("prices", "market").stdout
    assert "simulated" in qd("--user", "demo", "prices", "market").stdout


def test_an_unreachable_database_is_one_clear_line() -> None:
    """A server that refuses connections gives a message and exit 1, not a traceback."""
    result = CliRunner().invoke(
        app, ["--db", "postgresql://nobody@127.0.0.1:1/none", "accounts", "list"]
    )
    assert 1 == result.exit_code
    assert "the database failed" in result.stderr and "Traceback" not in result.stderr


def test_each_users_own_closes_are_private(qd: Quantdesk) -> None:
    """Alice's close for AAPL never values Bob's holdings."""

    def as_user(user: str, *args: str) -> Any:
        result = qd.runner.invoke(
            app, ["--db", qd.url, "--user", user, *args], catch_exceptions=False
        )
        assert 0 == result.exit_code, result.output
        return result

    for user, close in (("bob", "150"), ("alice", "1")):
        as_user(user, "accounts", "add", "B", "--kind", "brokerage")
        as_user(
            user,
            "import",
            qd.file(f"{user}.csv", "symbol,quantity,asset_type\nAAPL,10,stock\n"),
            "--account",
            "B",
        )
        as_user(
            user,
            "prices",
            "import",
            qd.file(f"{user}-p.csv", f"date,symbol,close\n2024-11-01,AAPL,{close}\n"),
        )
    bob = json.loads(as_user("bob", "positions", "--json").stdout)
    assert ["1500"] == [p["market_value"] for p in bob["positions"]]


def test_the_demo_never_overdraws_an_account(qd: Quantdesk) -> None:
    qd("demo")
    cash = [p for p in qd.json("positions")["positions"] if p["asset_type"] == "cash"]
    assert cash and all(not p["quantity"].startswith("-") for p in cash)


def test_the_demo_never_writes_into_a_real_ledger(qd: Quantdesk) -> None:
    qd("accounts", "add", "Coinbase", "--kind", "exchange", "--currency", "EUR")
    refused = qd("demo", ok=False)
    assert 1 == refused.exit_code and "ledger of its own" in refused.stderr
    assert [] == qd.json("transactions", "list")


def test_a_price_in_another_currency_is_explained(qd: Quantdesk) -> None:
    qd("accounts", "add", "Depot", "--kind", "brokerage", "--currency", "EUR")
    qd(
        "import",
        qd.file("h.csv", "symbol,quantity,asset_type\nSAP,10,stock\n"),
        "--account",
        "Depot",
    )
    qd("prices", "import", qd.file("p.csv", "date,symbol,close,currency\n2026-11-20,SAP,220,USD\n"))
    data = qd.json("positions")
    assert [None] == [p["market_value"] for p in data["positions"]]
    assert any("price is in USD but it is held in EUR" in w for w in data["warnings"])


@pytest.mark.parametrize(
    "args",
    [
        ["--user", "", "accounts", "list"],
        ["transactions", "list", "--limit", "-1"],
        ["transactions", "set-basis", "1", "--price", "abc", "--acquired-on", "2020-01-01"],
        ["positions", "--as-of", "yesterday"],
    ],
)
def test_malformed_options_are_usage_errors(qd: Quantdesk, args: list[str]) -> None:
    result = qd(*args, ok=False)
    assert 2 == result.exit_code and "Traceback" not in result.output


def test_account_names_differing_only_in_case_are_one_name(qd: Quantdesk) -> None:
    qd("accounts", "add", "Fidelity", "--kind", "brokerage")
    again = qd("accounts", "add", "fidelity", "--kind", "brokerage", ok=False)
    assert 1 == again.exit_code and "'Fidelity' already exists" in again.stderr


def test_positions_total_the_base_currency_with_stored_rates(qd: Quantdesk) -> None:
    """A EUR holding counts in the USD total at the stored EURUSD rate."""
    qd("accounts", "add", "Depot", "--kind", "brokerage", "--currency", "EUR")
    qd(
        "import",
        qd.file("h.csv", "symbol,quantity,asset_type,cost_basis\nSAP,10,stock,150\n"),
        "--account",
        "Depot",
    )
    qd(
        "prices",
        "import",
        qd.file("p.csv", "date,symbol,close,asset_type\n2026-11-20,SAP,200,stock\n"),
    )
    before = qd.json("positions")
    assert (None, ["EUR"]) == (
        before["total_in_base"]["market_value"],
        before["total_in_base"]["missing_rates"],
    )
    qd(
        "prices",
        "import",
        qd.file("fx.csv", "date,symbol,close,asset_type\n2026-11-20,EURUSD,1.1,cash\n"),
    )
    after = qd.json("positions")["total_in_base"]
    assert ("2200", {"EUR": "1.1"}) == (after["market_value"], after["rates"])


ROBINHOOD = (
    '"Activity Date","Process Date","Settle Date","Instrument","Description","Trans Code",'
    '"Quantity","Price","Amount"\n'
    '"6/1/2021","6/1/2021","6/1/2021","SOFI","SoFi Technologies\nCUSIP: 83406F102","SXCH",'
    '"210","",""\n'
    '"5/3/2021","5/3/2021","5/5/2021","IPOE","Social Capital","Buy","210","$20.00",'
    '"($4,200.00)"\n'
    '"5/1/2021","5/1/2021","5/1/2021","","ACH Deposit","ACH","","","$5,000.00"\n'
)


def test_import_of_a_broker_export_names_the_format_and_what_is_left_to_resolve(
    qd: Quantdesk,
) -> None:
    """No --format: the CLI says it read a Robinhood export and that the symbol exchange
    was not applied (the user resolves it), and stores the buy and the deposit."""
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    result = qd("import", qd.file("robinhood.csv", ROBINHOOD), "--account", "Broker")
    assert "Detected format: robinhood, confidence 100%" in result.stderr
    assert "1 row(s) to resolve yourself" in result.stdout
    assert "line 2: symbol exchange or merger (SXCH) of 210 SOFI" in result.stdout
    assert "Added 2 transactions" in result.stdout
    as_json = qd.json("import", qd.file("robinhood.csv", ROBINHOOD), "--account", "Broker")
    assert (0, 2, 1) == (
        as_json["added"],
        as_json["duplicates"],
        as_json["to_resolve_count"],
    )


def test_import_of_a_windows_1252_file_says_the_encoding(qd: Quantdesk) -> None:
    """A file saved by Excel on Windows (a € in a description) imports and the CLI says
    it was read as Windows-1252."""
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    path = qd.tmp / "cp1252.csv"
    path.write_bytes(
        "date,type,symbol,quantity,price,asset_type,description\n"
        "2024-06-03,buy,AAPL,4,190,stock,bought for 760 €\n".encode("cp1252")
    )
    result = qd("import", str(path), "--account", "Broker")
    assert "read as Windows-1252" in result.stderr
    assert "Added 1 transactions" in result.stdout
