"""Per-user settings on every backend: defaults, validated changes, write-only keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from quantdesk.domain.errors import InvalidFields
from quantdesk.services import settings
from quantdesk.services.settings import KeyState, SettingsCache, UserSettings
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import clock


def test_a_new_user_has_the_default_settings(uow: SqlUnitOfWork) -> None:
    """Nothing chosen yet: USD, SPY, 4% a year and no provider key."""
    found = settings.read_settings(uow)
    assert UserSettings("USD", "SPY", Decimal("0.04"), None, None) == found
    assert KeyState(False, None) == found.key_state("alpha_vantage_key")


def test_changes_are_normalized_stored_and_read_back(uow: SqlUnitOfWork) -> None:
    """A lower-case currency and benchmark are upper-cased, the rate kept exact, and a
    later change of one setting leaves the others as they were."""
    changed = settings.update_settings(
        uow,
        {"base_currency": " eur ", "benchmark": "vt", "risk_free": "0.0325"},
        clock=clock,
    )
    assert ("EUR", "VT", Decimal("0.0325")) == (
        changed.base_currency,
        changed.benchmark,
        changed.risk_free,
    )
    settings.update_settings(uow, {"risk_free": Decimal("-0.01")}, clock=clock)
    found = settings.read_settings(uow)
    assert ("EUR", "VT", Decimal("-0.01")) == (
        found.base_currency,
        found.benchmark,
        found.risk_free,
    )


def test_a_null_puts_a_setting_back_to_its_default_and_clears_a_key(uow: SqlUnitOfWork) -> None:
    """None (or a blank) restores the default benchmark and removes a stored key."""
    settings.update_settings(
        uow, {"benchmark": "QQQ", "coingecko_key": "CG-abcdefgh1234"}, clock=clock
    )
    found = settings.update_settings(uow, {"benchmark": None, "coingecko_key": ""}, clock=clock)
    assert ("SPY", None) == (found.benchmark, found.coingecko_key)


def test_a_key_is_told_only_by_its_last_four_characters(uow: SqlUnitOfWork) -> None:
    """A stored key is reported as set, ending in its last 4 characters."""
    found = settings.update_settings(uow, {"alpha_vantage_key": " DEMOKEY98761234 "}, clock=clock)
    assert KeyState(True, "1234") == found.key_state("alpha_vantage_key")
    assert KeyState(False, None) == found.key_state("coingecko_key")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("base_currency", "XYZ", "ISO 4217"),
        ("base_currency", "euro", "ISO 4217"),
        ("benchmark", "S&P 500", "symbol"),
        ("risk_free", "0.8", "between -0.05 and 0.5"),
        ("risk_free", "-0.06", "between -0.05 and 0.5"),
        ("risk_free", "4%", "fraction per year"),
        ("risk_free", "NaN", "between"),
        ("alpha_vantage_key", "short", "8 to 200 characters"),
        ("coingecko_key", "has a space in it", "without spaces"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(
    uow: SqlUnitOfWork, field: str, value: str, says: str
) -> None:
    """Each out-of-range or malformed value is refused with its field and a reason."""
    with pytest.raises(InvalidFields) as refused:
        settings.update_settings(uow, {field: value}, clock=clock)
    [(named, reason)] = refused.value.fields
    assert field == named
    assert says in reason


def test_one_bad_value_refuses_the_whole_change(uow: SqlUnitOfWork) -> None:
    """Every bad field is named, and the good ones given with them are not saved."""
    with pytest.raises(InvalidFields) as refused:
        settings.update_settings(
            uow, {"benchmark": "VT", "risk_free": "2", "base_currency": "ABC"}, clock=clock
        )
    assert {"risk_free", "base_currency"} == {f for f, _ in refused.value.fields}
    assert "SPY" == settings.read_settings(uow).benchmark


def test_another_users_settings_are_untouched(engine: Engine, uow: SqlUnitOfWork) -> None:
    """One user's changes never show in another's settings."""
    other = SqlUnitOfWork(engine, "someone-else", clock)
    settings.update_settings(other, {"risk_free": "0.01"}, clock=clock)
    settings.update_settings(
        uow, {"benchmark": "VT", "alpha_vantage_key": "ABCDEFGH1234"}, clock=clock
    )
    theirs = settings.read_settings(other)
    assert ("SPY", Decimal("0.01"), None) == (
        theirs.benchmark,
        theirs.risk_free,
        theirs.alpha_vantage_key,
    )


def test_the_cache_serves_recent_settings_and_forgets_on_a_change() -> None:
    """Settings read within the TTL are served from memory; a forget() (a change made
    through this process) or the TTL passing makes the next request read them again."""
    now = [0.0]
    cache = SettingsCache(ttl=2.0, clock=lambda: now[0])
    reads: list[str] = []

    def read(benchmark: str) -> UserSettings:
        reads.append(benchmark)
        return UserSettings(benchmark=benchmark)

    assert "VT" == cache.load(7, lambda: read("VT")).benchmark
    assert "VT" == cache.load(7, lambda: read("QQQ")).benchmark  # from memory
    cache.forget(7)
    assert "QQQ" == cache.load(7, lambda: read("QQQ")).benchmark
    now[0] = 2.5
    assert "IWM" == cache.load(7, lambda: read("IWM")).benchmark
    assert ["VT", "QQQ", "IWM"] == reads


def test_a_read_overtaken_by_a_change_is_not_kept() -> None:
    """Settings read while a change is saved are answered once but not remembered, so
    the next request sees the change."""
    cache = SettingsCache(ttl=60.0)

    def stale_read() -> UserSettings:
        cache.forget(7)  # a PATCH committed while this read ran
        return UserSettings(benchmark="OLD")

    assert "OLD" == cache.load(7, stale_read).benchmark
    assert cache.get(7) is None
