"""One database transaction per use case, scoped to one user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine

from quantdesk.store.repositories import LedgerRepository, get_or_create_user


class SqlUnitOfWork:
    """Opens a connection and transaction; commits on success unless told not to."""

    def __init__(
        self,
        engine: Engine,
        user: str,
        clock: Callable[[], datetime],
        *,
        market: str | None = None,
    ) -> None:
        self.engine = engine
        self.user = user
        self.clock = clock
        self.market = market

    @contextmanager
    def __call__(self, *, commit: bool = True) -> Iterator[LedgerRepository]:
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                user_id = get_or_create_user(conn, self.user, self.clock())
                yield LedgerRepository(conn, user_id, market=self.market)
            except BaseException:
                transaction.rollback()
                raise
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
