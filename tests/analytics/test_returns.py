"""Time-weighted returns, their compounding, and XIRR (DESIGN.md §4)."""

from __future__ import annotations

from datetime import date, timedelta

import empyrical
import numpy as np
import pytest

from quantdesk.analytics.returns import (
    annualized_return,
    cumulative_returns,
    total_return,
    twr_returns,
    xirr,
)


def student_t_returns(seed: int = 11, n: int = 2500) -> np.ndarray:
    """Fat-tailed daily returns: 4 degrees of freedom, about 1% a day, a small drift."""
    return 0.0004 + 0.01 * np.random.default_rng(seed).standard_t(4, n)


def test_deposit_is_not_a_return() -> None:
    """A deposit that raises the value by exactly its amount is a 0 return that day."""
    values = np.array([100.0, 110.0, 220.0, 231.0])
    flows = np.array([0.0, 0.0, 110.0, 0.0])

    actual = twr_returns(values, flows)

    assert pytest.approx([0.1, 0.0, 0.05], rel=1e-12) == actual.tolist()


def test_total_return_compounds_the_daily_returns_around_a_deposit() -> None:
    """1.1 x 1.0 x 1.05 - 1: the deposit adds value but no return."""
    values = np.array([100.0, 110.0, 220.0, 231.0])
    flows = np.array([0.0, 0.0, 110.0, 0.0])

    assert pytest.approx(0.155, rel=1e-12) == total_return(twr_returns(values, flows))


def test_growth_beyond_the_deposit_is_a_return() -> None:
    """Value 110 -> 220 with a deposit of 100: 10 of growth on 110 is a 1/11 return."""
    values = np.array([100.0, 110.0, 220.0, 231.0])
    flows = np.array([0.0, 0.0, 100.0, 0.0])

    actual = twr_returns(values, flows)

    assert pytest.approx([0.1, 1 / 11, 0.05], rel=1e-12) == actual.tolist()
    assert pytest.approx(0.26, rel=1e-12) == total_return(actual)


def test_withdrawal_is_not_a_loss() -> None:
    """Value 200 -> 100 after withdrawing 100 is a 0 return (negative flow = money out)."""
    actual = twr_returns(np.array([200.0, 100.0]), np.array([0.0, -100.0]))

    assert [0.0] == actual.tolist()


def test_return_after_a_zero_value_is_nan_never_zero() -> None:
    """A day that follows a value of 0 (an empty portfolio) has no return: NaN, not 0."""
    values = np.array([100.0, 0.0, 50.0, 55.0])
    flows = np.array([0.0, -100.0, 50.0, 0.0])

    actual = twr_returns(values, flows)

    assert 0.0 == actual[0]
    assert np.isnan(actual[1])
    assert pytest.approx(0.1, rel=1e-12) == actual[2]


def test_return_next_to_a_negative_infinite_or_nan_value_is_nan() -> None:
    """Only finite values after a positive finite value give a return."""
    values = np.array([-5.0, 10.0, 11.0, np.inf, 10.0, np.nan, 10.0, 12.0])

    actual = twr_returns(values, np.zeros(8))

    assert [True, False, True, True, True, True, False] == np.isnan(actual).tolist()
    assert pytest.approx([0.1, 0.2], rel=1e-12) == actual[[1, 6]].tolist()


def test_fewer_than_two_values_give_no_returns() -> None:
    """One value has no day before it."""
    assert 0 == twr_returns(np.array([100.0]), np.array([0.0])).size


def test_values_and_flows_of_different_lengths_are_rejected() -> None:
    """A misaligned flow series is a programming error."""
    with pytest.raises(ValueError, match="one length"):
        twr_returns(np.array([1.0, 2.0]), np.array([0.0]))


def test_total_and_annualized_return_of_no_returns_are_none() -> None:
    """Nothing to compound: None, never 0."""
    empty = np.array([], dtype=np.float64)

    assert total_return(empty) is None
    assert annualized_return(empty, periods_per_year=252) is None


def test_a_nan_return_makes_the_total_none() -> None:
    """The caller cleans NaNs; a NaN left in is not silently skipped."""
    returns = np.array([0.01, np.nan, 0.02])

    assert total_return(returns) is None
    assert annualized_return(returns, periods_per_year=252) is None


def test_annualized_return_of_one_year_of_days_is_the_total() -> None:
    """n = A returns: (1 + total)^(A/n) - 1 is the total itself."""
    returns = np.full(252, 0.0002)

    expected = 1.0002**252 - 1
    assert pytest.approx(expected, rel=1e-12) == annualized_return(returns, periods_per_year=252)


def test_annualized_return_of_a_total_loss_is_minus_one() -> None:
    """A -100% day leaves nothing: -100% a year, whatever the other days."""
    returns = np.array([0.1, -1.0, 0.2])

    assert -1.0 == annualized_return(returns, periods_per_year=252)


@pytest.mark.parametrize("periods_per_year", [252, 365])
def test_annualized_return_agrees_with_empyrical(periods_per_year: int) -> None:
    """empyrical's annual_return is the same CAGR: (1 + cum)^(1 / (n / A)) - 1."""
    returns = student_t_returns()

    expected = empyrical.annual_return(returns, annualization=periods_per_year)
    actual = annualized_return(returns, periods_per_year=periods_per_year)

    assert pytest.approx(expected, rel=1e-9) == actual


def test_total_return_agrees_with_empyrical() -> None:
    """Total return is empyrical's cum_returns_final."""
    returns = student_t_returns()

    expected = empyrical.cum_returns_final(returns)

    assert pytest.approx(expected, rel=1e-9) == total_return(returns)


def test_cumulative_returns_agree_with_empyrical() -> None:
    """Each cumulative return is empyrical's cum_returns, to 1e-9 relative."""
    returns = student_t_returns()

    expected = empyrical.cum_returns(returns)

    assert pytest.approx(expected.tolist(), rel=1e-9) == cumulative_returns(returns).tolist()


def test_cumulative_returns_propagate_a_nan() -> None:
    """A NaN return makes later cumulative returns NaN (empyrical counts it as 0)."""
    actual = cumulative_returns(np.array([0.1, np.nan, 0.1]))

    assert [False, True, True] == np.isnan(actual).tolist()


# --- XIRR -------------------------------------------------------------------------------


def test_xirr_of_a_ten_percent_gain_over_a_leap_year() -> None:
    """+10% over 366 days is (1.1)^(365/366) - 1 a year on ACT/365."""
    actual = xirr([date(2024, 1, 1), date(2025, 1, 1)], [-1000.0, 1100.0])

    assert pytest.approx(1.1 ** (365 / 366) - 1, rel=1e-12) == actual


def test_xirr_matches_the_excel_documentation_example() -> None:
    """Excel's XIRR help example: 0.373362535, which Excel iterates only to 0.000001%.

    The exact root is 0.3733625335...: it zeroes the NPV, Excel's figure is 4e-9 off.
    """
    days = [date(2008, 1, 1), date(2008, 3, 1), date(2008, 10, 30), date(2009, 2, 15)]
    days.append(date(2009, 4, 1))
    amounts = [-10000.0, 2750.0, 4250.0, 3250.0, 2750.0]

    actual = xirr(days, amounts)

    assert pytest.approx(0.373362535, rel=1e-8) == actual
    assert actual is not None
    years = np.array([(d - days[0]).days for d in days]) / 365.0
    assert pytest.approx(0.0, abs=1e-9) == float(np.sum(amounts / (1 + actual) ** years))


def test_xirr_of_a_loss() -> None:
    """Half the money back after 365 days is -50% a year."""
    actual = xirr([date(2023, 1, 1), date(2024, 1, 1)], [-1000.0, 500.0])

    assert pytest.approx(-0.5, rel=1e-12) == actual


def test_xirr_annualizes_a_one_day_gain() -> None:
    """+10% in one day compounds to 1.1^365 - 1 a year: the bracket reaches huge rates."""
    actual = xirr([date(2024, 3, 1), date(2024, 3, 2)], [-100.0, 110.0])

    assert pytest.approx(1.1**365 - 1, rel=1e-9) == actual


def test_xirr_does_not_depend_on_the_order_of_the_flows() -> None:
    """Flows are dated: listing them in another order changes nothing."""
    days = [date(2020, 1, 1), date(2020, 7, 1), date(2021, 6, 30)]
    amounts = [-1000.0, -500.0, 1700.0]

    expected = xirr(days, amounts)

    assert expected is not None
    assert pytest.approx(expected, rel=1e-12) == xirr(days[::-1], amounts[::-1])


def test_xirr_of_flows_that_net_to_zero_is_zero() -> None:
    """Getting exactly the money back is a 0 return, found exactly."""
    actual = xirr([date(2020, 1, 1), date(2022, 1, 1)], [-1000.0, 1000.0])

    assert 0.0 == actual


def test_xirr_with_two_rates_returns_the_one_closest_to_zero() -> None:
    """-100, +230, -132 a year apart has IRRs 10% and 20%: 10% is returned."""
    days = [date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1)]

    actual = xirr(days, [-100.0, 230.0, -132.0])

    assert pytest.approx(0.1, rel=1e-9) == actual


@pytest.mark.parametrize(
    ("amounts", "reason"),
    [
        ([-1000.0], "fewer than 2 amounts"),
        ([-1000.0, -100.0], "all invested"),
        ([1000.0, 100.0], "all received"),
        ([0.0, 0.0], "all zero"),
        ([-1000.0, float("nan")], "a NaN amount"),
    ],
)
def test_xirr_without_a_sign_change_is_none(amounts: list[float], reason: str) -> None:
    """No sign change in the flows, no rate: None, never 0."""
    days = [date(2024, 1, 1) + timedelta(days=100 * i) for i in range(len(amounts))]

    assert xirr(days, amounts) is None, reason


def test_xirr_without_a_root_is_none() -> None:
    """+100, -300, +250 a year apart: NPV = 100 - 300v + 250v^2 > 0 for every rate."""
    days = [date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1)]

    assert xirr(days, [100.0, -300.0, 250.0]) is None


def test_xirr_rejects_days_and_amounts_of_different_lengths() -> None:
    """A misaligned list is a programming error."""
    with pytest.raises(ValueError, match="amounts"):
        xirr([date(2024, 1, 1)], [-1.0, 2.0])


def test_xirr_finds_a_root_between_ten_and_a_hundred_fold_a_year() -> None:
    """A 19% gain in 25 days annualizes to about +1168%: the root is found, not None."""
    rate = xirr([date(2024, 1, 1), date(2024, 1, 26)], [-1000.0, 1190.0])
    assert rate is not None
    assert pytest.approx(1.19 ** (365 / 25) - 1, rel=1e-9) == rate
