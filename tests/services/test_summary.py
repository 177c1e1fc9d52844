"""The language model's summary of the suggestions: asked of an OpenAI-compatible server
on 127.0.0.1 over real HTTP, refused when the model cannot answer or writes a number the
engine did not give, and off unless the deployment configures it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.services.summary import (
    SummaryConfig,
    SummaryUnavailable,
    UnsupportedNumber,
    check_numbers,
    numbers_in_text,
    summarize,
)
from tests.llm_server import ChatServer, chat_server

KEY = "sk-test-7f3a9c-secret"
ANSWER: dict[str, Any] = {
    "as_of": "2026-12-06",
    "targets": {
        "weights": {"etf": "0.6", "bond": "0.4"},
        "band": "0.05",
        "min_trade": "50",
        "cash_flow": "0",
        "concentration_limit": "0.25",
        "var_budget": "0.03",
    },
    "now": {"volatility": 0.1523, "var": 1234.5, "var_fraction": 0.0151, "sharpe": 0.82},
    "rebalance": {
        "trades": [
            {
                "action": "sell",
                "account": "Taxable",
                "symbol": "VTI",
                "bucket": "etf",
                "units": "3.5",
                "value": "812.10",
                "price": "232.03",
                "realized_gain": "18.40",
                "lots": [],
                "rationale": "etf is 71% against a 60% target",
                "effect": {
                    "before": {"volatility": 0.1523, "var_fraction": 0.0151},
                    "after": {"volatility": 0.1431, "var_fraction": 0.0139},
                },
            },
            {
                "action": "buy",
                "account": "Taxable",
                "symbol": "BND",
                "bucket": "bond",
                "units": "11",
                "value": "806.30",
                "price": "73.30",
                "realized_gain": "0.00",
                "lots": [],
                "rationale": "bond is 29% against a 40% target",
                "effect": {"before": {}, "after": {}},
            },
        ],
        "dropped": [],
        "buckets": [
            {"bucket": "etf", "target": "0.6", "before": "0.712", "after": "0.6"},
            {"bucket": "bond", "target": "0.4", "before": "0.288", "after": "0.4"},
        ],
        "notes": [],
    },
    "harvest": {
        "candidates": [
            {
                "symbol": "ARKK",
                "account": "Taxable",
                "units": "10",
                "loss": "-499",
                "tax_saved": "184.63",
                "term": "short",
                "wash_sale": False,
                "buyback_window_closes": "2027-01-05",
                "replacements": [{"symbol": "QQQ", "correlation": "0.93"}],
            }
        ],
        "total_loss": "-499",
        "total_tax_saved": "184.63",
        "skipped": [],
    },
    "alerts": [
        {
            "kind": "concentration",
            "severity": "warning",
            "symbol": "AAPL",
            "value": "0.31",
            "limit": "0.25",
            "message": "AAPL is 31% of the portfolio, above the 25% limit",
        }
    ],
    "notes": [],
}
FAITHFUL = (
    "As of 2026-12-06 your stocks are over target. Sell 3.5 units of VTI for $812.10 and "
    "buy 11 units of BND for $806.30, bringing stocks back to 60% and bonds to 40%. "
    "Selling ARKK realizes a $499 loss that saves about $184.63 in tax; QQQ is a replacement "
    "you may buy back after January 5, 2027. AAPL is 31% of the portfolio, above the 25% "
    "limit. These 2 trades lower volatility from 15.2% to 14.3%."
)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with chat_server(FAITHFUL) as state:
        yield state


def config(chat: ChatServer, **options: Any) -> SummaryConfig:
    return SummaryConfig(base_url=chat.url, **options)


def test_the_request_is_an_openai_chat_completion_with_the_answer_as_json(
    chat: ChatServer,
) -> None:
    """One POST to {base_url}/chat/completions: the model, temperature 0, a system
    message forbidding invented numbers and the compact answer JSON as the user message."""
    summarize(ANSWER, config(chat, model="qwen2.5-7b-instruct"))
    [request] = chat.received
    assert "/v1/chat/completions" == request.path
    assert "qwen2.5-7b-instruct" == request.body["model"]
    assert 0 == request.body["temperature"]
    system, user = request.body["messages"]
    assert ("system", "user") == (system["role"], user["role"])
    assert "never compute, estimate or invent a number" in system["content"]
    assert "150 words" in system["content"]
    assert ANSWER == json.loads(user["content"])
    assert '"as_of":"2026-12-06"' in user["content"]  # compact


def test_the_api_key_is_sent_as_a_bearer_token_only_when_set(chat: ChatServer) -> None:
    """With a key the request carries `Authorization: Bearer <key>`; without, no header."""
    summarize(ANSWER, config(chat, api_key=KEY))
    summarize(ANSWER, config(chat))
    with_key, without = chat.received
    assert f"Bearer {KEY}" == with_key.headers["authorization"]
    assert "authorization" not in without.headers


def test_a_faithful_summary_is_returned_with_the_model_and_endpoint(chat: ChatServer) -> None:
    """Every number in the text is the engine's, so the text is shown as the model wrote it."""
    summary = summarize(ANSWER, config(chat))
    assert FAITHFUL == summary.text
    assert "qwen2.5-7b-instruct" == summary.model
    assert f"{chat.url}/chat/completions" == summary.endpoint


def test_a_summary_with_an_invented_number_is_refused_naming_it(chat: ChatServer) -> None:
    """ "Sell 12 shares" when 12 is nowhere in the answer: refused, naming 12 (a 422)."""
    chat.content = "Sell 12 shares of VTI for $812.10 to return stocks to 60%."
    with pytest.raises(UnsupportedNumber, match="'12'") as caught:
        summarize(ANSWER, config(chat))
    assert "12" == caught.value.number
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize(
    "text",
    ["Volatility is 15.23%.", "Volatility is 15.2%.", "Volatility is 15%.", "VaR is 1.51%."],
)
def test_percentages_rendered_from_fractions_pass(text: str) -> None:
    """0.1523 may be said as 15.23%, 15.2% or 15%; 0.0151 as 1.51%."""
    check_numbers(text, ANSWER)


@pytest.mark.parametrize(
    "text",
    [
        "Value at risk is $1,234.50.",
        "Value at risk is about $1,235.",
        "The loss is -$499.",
        "The loss is $499.",
        "Sharpe 0.8, correlation .93.",
        "Stocks are 71.2% of the portfolio; 1 alert and 2 trades.",
        "On Dec 6, the S&P 500 and your Q3 plans aside, see 6 December 2026.",
    ],
)
def test_renderings_of_engine_numbers_pass(text: str) -> None:
    """Thousands separators, currency signs, rounding to the written decimals, absolute
    values, list lengths as counts, dates of the answer; index names and Q3 are names."""
    check_numbers(text, ANSWER)


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("Volatility is 16%.", "16%"),
        ("The tax saved is -$184.63.", "-$184.63"),
        ("Value at risk is $1,240.", "$1,240"),
        ("There are 3 trades.", "3"),
        ("Buy back after 2027-01-06.", "2027-01-06"),
        ("Harvest in 2028.", "2028"),
        ("About $1.2k is at risk.", "$1.2k"),
        ("A 0.93 correlation and a 0.9% fee.", "0.9%"),
    ],
)
def test_numbers_not_from_the_engine_are_refused(text: str, offending: str) -> None:
    """A figure off by more than its rounding, a sign flipped, a count no list has, a date
    or year of no date in the answer: the first such is named."""
    with pytest.raises(UnsupportedNumber) as caught:
        check_numbers(text, ANSWER)
    assert offending == caught.value.number


def test_numbers_in_text_reads_signs_currencies_percentages_and_dates() -> None:
    """Each number once, as written, with its value; names with digits are skipped."""
    found = numbers_in_text(
        "Sell $1,234.56, a -$499 loss, 5.1% or 5 percent; Q3 S&P 500 2026-12-06"
    )
    assert ["$1,234.56", "-$499", "5.1%", "5 percent", "2026-12-06"] == [m.text for m in found]
    assert [Decimal("1234.56"), Decimal(-499), Decimal("5.1"), Decimal(5), None] == [
        m.value for m in found
    ]
    assert [False, False, True, True, False] == [m.percent for m in found]
    assert ((2026, 12, 6),) == found[-1].dates


def test_a_server_error_is_unavailable_without_the_key(chat: ChatServer) -> None:
    """A 500 names the endpoint and status (and the server's message, key redacted)."""
    chat.status = 500
    chat.raw = json.dumps({"error": {"message": f"model crashed for key {KEY}"}})
    with pytest.raises(SummaryUnavailable) as caught:
        summarize(ANSWER, config(chat, api_key=KEY))
    message = str(caught.value)
    assert f"{chat.url}/chat/completions" in message
    assert "HTTP 500" in message
    assert KEY not in message


def test_a_timeout_is_unavailable_without_the_key(chat: ChatServer) -> None:
    """A server slower than the timeout: unavailable, saying it did not answer in time."""
    chat.delay = 5.0
    with pytest.raises(SummaryUnavailable, match=r"did not answer within 0\.2 s") as caught:
        summarize(ANSWER, config(chat, api_key=KEY, timeout=0.2))
    assert KEY not in str(caught.value)


def test_a_closed_port_is_unavailable_without_the_key() -> None:
    """Connection refused: unavailable, naming the endpoint that could not be reached."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = SummaryConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout=2)
    with pytest.raises(SummaryUnavailable, match="could not be reached") as caught:
        summarize(ANSWER, closed)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "raw", ["<html>Bad Gateway", json.dumps({"object": "chat.completion", "choices": []})]
)
def test_a_malformed_answer_is_unavailable_without_the_key(chat: ChatServer, raw: str) -> None:
    """A 200 whose body is not JSON, or JSON without a message: unavailable."""
    chat.raw = raw
    with pytest.raises(SummaryUnavailable, match="malformed") as caught:
        summarize(ANSWER, config(chat, api_key=KEY))
    assert KEY not in str(caught.value)


def test_a_given_client_is_used(chat: ChatServer) -> None:
    """The caller may pass its own httpx.Client (pooled connections); it is left open."""
    with httpx.Client() as client:
        summarize(ANSWER, config(chat), client=client)
        assert not client.is_closed
    assert 1 == len(chat.received)


def test_the_feature_is_off_unless_a_base_url_is_set() -> None:
    """No variable, or a blank one: None; otherwise the defaults fill the rest."""
    assert SummaryConfig.from_env({}) is None
    assert SummaryConfig.from_env({"QUANTDESK_LLM_BASE_URL": "  "}) is None
    found = SummaryConfig.from_env({"QUANTDESK_LLM_BASE_URL": "http://127.0.0.1:8080/v1/"})
    assert SummaryConfig("http://127.0.0.1:8080/v1") == found
    found = SummaryConfig.from_env(
        {
            "QUANTDESK_LLM_BASE_URL": "https://llm.internal/v1",
            "QUANTDESK_LLM_MODEL": "llama-3.1-8b",
            "QUANTDESK_LLM_API_KEY": KEY,
            "QUANTDESK_LLM_TIMEOUT": "12.5",
        }
    )
    assert SummaryConfig("https://llm.internal/v1", "llama-3.1-8b", KEY, 12.5) == found


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"QUANTDESK_LLM_BASE_URL": "ftp://127.0.0.1/v1"}, "QUANTDESK_LLM_BASE_URL"),
        ({"QUANTDESK_LLM_BASE_URL": "127.0.0.1:8080"}, "QUANTDESK_LLM_BASE_URL"),
        ({"QUANTDESK_LLM_BASE_URL": "http:///v1"}, "QUANTDESK_LLM_BASE_URL"),
        (
            {"QUANTDESK_LLM_BASE_URL": "http://127.0.0.1/v1", "QUANTDESK_LLM_TIMEOUT": "soon"},
            "QUANTDESK_LLM_TIMEOUT",
        ),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    """Only http(s) URLs with a host, and a positive timeout."""
    with pytest.raises(InvalidInput, match=variable):
        SummaryConfig.from_env(env)


def test_the_key_is_not_in_the_repr() -> None:
    """The configuration can be logged: its repr masks the key and any URL password."""
    shown = repr(SummaryConfig("http://user:pw@127.0.0.1:8080/v1", api_key=KEY))
    assert KEY not in shown
    assert "pw" not in shown
    assert "api_key='***'" in shown
