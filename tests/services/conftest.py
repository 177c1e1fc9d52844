"""What the connection tests share: a vault for their credentials, and the units an
account holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quantdesk.services import portfolio
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault, new_key
from tests.conftest import clock


@pytest.fixture
def box() -> Vault:
    """A vault of its own key, for a test's connection credentials."""
    return Vault.from_keys(new_key())


def units_in(uow: SqlUnitOfWork, account: str) -> dict[str, Decimal]:
    """Each symbol's units in ``account`` today."""
    return {
        p.instrument.symbol: p.quantity
        for p in portfolio.current_positions(uow, account=account, as_of=clock().date())
    }
