"""A worker's markets: built when it starts, and never building on the event loop's lock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from quantdesk import bootstrap
from quantdesk.api.app import create_app
from quantdesk.api.deps import Services
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.api.conftest import script, seed_portfolio


def _services(tmp_path: Path) -> Services:
    engine = make_engine(f"sqlite:///{tmp_path / 'wiring.db'}")
    migrate(engine)
    return Services(engine, ApiSettings(database_url=str(engine.url), offline=True))


def _builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every market built from now on, by name."""
    built: list[str] = []
    build = bootstrap.market_data

    def counted(*args: Any, **kwargs: Any) -> bootstrap.MarketWiring:
        built.append(kwargs["market"])
        return build(*args, **kwargs)

    monkeypatch.setattr(bootstrap, "market_data", counted)
    return built


def test_a_market_being_built_does_not_hold_up_the_caches_every_request_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live market takes a fifth of a second to build (its providers' HTTP clients).
    Every request takes the app's caches on the event loop; they must not wait for it."""
    services = _services(tmp_path)
    building, release = threading.Event(), threading.Event()
    build = bootstrap.market_data

    def slow(*args: Any, **kwargs: Any) -> bootstrap.MarketWiring:
        building.set()
        release.wait(5)
        return build(*args, **kwargs)

    monkeypatch.setattr(bootstrap, "market_data", slow)
    builder = threading.Thread(target=services.market, args=("live",))
    builder.start()
    try:
        assert building.wait(5)
        services.cache("analytics-answers", dict)
        still_building = builder.is_alive()
    finally:
        release.set()
        builder.join(10)
    assert still_building  # the cache was served while the market was being built
    assert services.market("live").market == "live"


def test_a_started_app_serves_prices_without_building_a_market(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``build_markets`` (a server starting) builds both markets once; a user's first
    holdings, priced, then build none."""
    services = _services(tmp_path)
    built = _builds(monkeypatch)
    services.build_markets()
    assert ["live", "simulated"] == built
    app = create_app(services.settings, engine=services.engine)
    app.state.services = services
    user = script(app, "ann")
    seed_portfolio(user)
    answer = user.get("/api/v1/holdings")
    assert 200 == answer.status_code
    assert "AAPL" in {row["symbol"] for row in answer.json()["holdings"]}
    assert ["live", "simulated"] == built
