"""What the crypto exchanges' importers share: which codes are cash, and which asset
a coin-for-coin trade is valued in."""

from __future__ import annotations

from quantdesk.domain.instruments import AssetType

CRYPTO = AssetType.CRYPTO

#: ISO 4217 currencies the exchanges quote in or pay out: cash; every other asset is a coin.
FIAT = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "AZN",
        "BDT",
        "BGN",
        "BHD",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CZK",
        "DKK",
        "EGP",
        "EUR",
        "GBP",
        "GEL",
        "GHS",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "JPY",
        "KES",
        "KRW",
        "KWD",
        "KZT",
        "MAD",
        "MXN",
        "MYR",
        "NGN",
        "NOK",
        "NZD",
        "PEN",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "UAH",
        "UGX",
        "USD",
        "UZS",
        "VES",
        "VND",
        "ZAR",
    ]
)
#: Quote assets, best first: a coin-for-coin trade is valued in its better-ranked side
#: (fiat ranks first of all).
QUOTES = tuple(
    tuple(rank.split())
    for rank in (
        "USDT USDC BUSD FDUSD TUSD USDP PAX DAI USDS PYUSD EURC EURI AEUR",
        "BTC",
        "ETH",
        "BNB",
        "XRP TRX DOGE DOT SOL ADA PAXG VAI BIDR IDRT BVND",
    )
)
QUOTE_RANK: dict[str, int] = dict.fromkeys(FIAT, 0)
for _rank, _codes in enumerate(QUOTES, start=1):
    QUOTE_RANK.update(dict.fromkeys(_codes, _rank))
_UNRANKED = len(QUOTES) + 1


def is_fiat(code: str) -> bool:
    return code in FIAT


def quote_of(given: str, received: str) -> str:
    """The asset a trade of ``given`` for ``received`` is valued in: the better-ranked
    of the two, else the one given up."""
    if QUOTE_RANK.get(received, _UNRANKED) < QUOTE_RANK.get(given, _UNRANKED):
        return received
    return given
