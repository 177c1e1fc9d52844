"""One database transaction per use case, scoped to one user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine

from quantdesk.store.auth import AuthRepository
from quantdesk.store.repositories import LedgerRepository, RequestMemo, get_or_create_user


@contextmanager
def _transaction(engine: Engine, *, commit: bool) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        except BaseException:
            transaction.rollback()
            raise
        if commit:
            transaction.commit()
        else:
            transaction.rollback()


class SqlUnitOfWork:
    """Opens a connection and transaction for the user named ``user`` (created on first
    use: the CLI's users are local names); commits on success unless told not to."""

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
        with _transaction(self.engine, commit=commit) as conn:
            user_id = get_or_create_user(conn, self.user, self.clock())
            yield LedgerRepository(conn, user_id, market=self.market)


class UserUnitOfWork:
    """A unit of work for an authenticated user, by id (the API's): never creates one."""

    def __init__(
        self,
        engine: Engine,
        user_id: int,
        *,
        stored_market: str | None = None,
        memo: RequestMemo | None = None,
    ) -> None:
        self.engine = engine
        self.user_id = user_id
        #: The user's stored market when already known (read with the caller's token):
        #: not read again in each transaction.
        self.stored_market = stored_market
        #: What the transactions of one request share (see ``LedgerRepository.memo``).
        self.memo = memo

    @contextmanager
    def __call__(self, *, commit: bool = True) -> Iterator[LedgerRepository]:
        with _transaction(self.engine, commit=commit) as conn:
            yield LedgerRepository(
                conn, self.user_id, stored_market=self.stored_market, memo=self.memo
            )


class ReadingUnitOfWork:
    """A user's reads on a connection the caller holds open for many users in turn (a
    nightly share: not a connection checked out, pinged and reset for each of them).
    Reads only: what the caller computes it stores itself. A failure rolls the
    connection back, so the next user's reads start clean."""

    def __init__(self, conn: Connection, user_id: int, *, stored_market: str | None) -> None:
        self.conn = conn
        self.user_id = user_id
        self.stored_market = stored_market

    @contextmanager
    def __call__(self, *, commit: bool = True) -> Iterator[LedgerRepository]:
        if commit:
            raise RuntimeError("a reading unit of work writes nothing")
        try:
            yield LedgerRepository(self.conn, self.user_id, stored_market=self.stored_market)
        except BaseException:
            self.conn.rollback()
            raise


class AuthUnitOfWork:
    """A unit of work over credentials (who is this request?)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self, *, commit: bool = True) -> Iterator[AuthRepository]:
        with _transaction(self.engine, commit=commit) as conn:
            yield AuthRepository(conn)
