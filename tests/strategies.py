"""Hypothesis strategies for ledger entries (Decimals built from integers, never floats)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from quantdesk.domain.lots import CostMethod

#: Up to 1,000,000 units with 4 decimals.
quantities = st.integers(min_value=1, max_value=10_000_000_000).map(lambda n: Decimal(n) / 10_000)
#: Prices from 0.0001 to 100,000 with 4 decimals.
prices = st.integers(min_value=1, max_value=1_000_000_000).map(lambda n: Decimal(n) / 10_000)
fees = st.integers(min_value=0, max_value=2_000).map(lambda n: Decimal(n) / 100)
#: A share of a position: 1/4, 1/2, 3/4 or all of it.
fractions = st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal(1)])
split_ratios = st.sampled_from([Decimal(2), Decimal(3), Decimal("0.5"), Decimal(4)])
methods = st.sampled_from(list(CostMethod))
accounts = st.sampled_from(["Taxable", "IRA"])
symbols = st.sampled_from(["AAA", "BBB"])
days = st.integers(min_value=0, max_value=3 * 365)
