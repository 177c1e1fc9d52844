"""One user's target allocations and rebalancing options (store side of services/suggest.py):
the portfolio's (``targets``, ``target_options``) and each account's own
(``account_targets``, ``account_target_options``), chosen by ``account_id`` (None: the
portfolio's)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Table, delete, insert, select

from quantdesk.domain.rebalance import TargetOptions
from quantdesk.store.tables import (
    account_target_options,
    account_targets,
    accounts,
    target_options,
    targets,
)


class TargetsRepository:
    """The targets of one user, on the connection (and transaction) of a unit of work."""

    def __init__(self, conn: Connection, user_id: int) -> None:
        self.conn = conn
        self.user_id = user_id

    def _where(self, table: Table, account_id: int | None) -> list[object]:
        found: list[object] = [table.c.user_id == self.user_id]
        if account_id is not None:
            found.append(table.c.account_id == account_id)
        return found

    def weights(self, account_id: int | None = None) -> dict[str, Decimal]:
        """Target weight by key (asset class or symbol), in key order; empty when none."""
        table = targets if account_id is None else account_targets
        rows = self.conn.execute(
            select(table.c.key, table.c.weight)
            .where(*self._where(table, account_id))  # type: ignore[arg-type]
            .order_by(table.c.key)
        )
        return dict(rows.tuples().all())

    def options(self, account_id: int | None = None) -> TargetOptions | None:
        """The stored options, or None when no targets were ever set for the scope."""
        if account_id is None:
            c = target_options.c
            row = self.conn.execute(
                select(c.band, c.min_trade, c.cash_flow, c.concentration_limit, c.var_budget).where(
                    c.user_id == self.user_id
                )
            ).first()
        else:
            a = account_target_options.c
            row = self.conn.execute(
                select(a.band, a.min_trade, a.cash_flow).where(
                    a.user_id == self.user_id, a.account_id == account_id
                )
            ).first()
        return None if row is None else TargetOptions(**row._asdict())

    def clear(self, account_id: int | None = None) -> None:
        """Remove the scope's targets and options."""
        if account_id is None:
            self.conn.execute(delete(targets).where(targets.c.user_id == self.user_id))
            self.conn.execute(
                delete(target_options).where(target_options.c.user_id == self.user_id)
            )
            return
        for table in (account_targets, account_target_options):
            self.conn.execute(
                delete(table).where(*self._where(table, account_id))  # type: ignore[arg-type]
            )

    def replace(
        self,
        weights: dict[str, Decimal],
        options: TargetOptions,
        now: datetime,
        account_id: int | None = None,
    ) -> None:
        """Replace the scope's whole allocation and its options (one transaction: all or
        nothing)."""
        self.clear(account_id)
        scope = {"user_id": self.user_id}
        if account_id is not None:
            scope["account_id"] = account_id
        if weights:
            self.conn.execute(
                insert(targets if account_id is None else account_targets),
                [{**scope, "key": k, "weight": w} for k, w in weights.items()],
            )
        if account_id is None:
            values = {
                "band": options.band,
                "min_trade": options.min_trade,
                "cash_flow": options.cash_flow,
                "concentration_limit": options.concentration_limit,
                "var_budget": options.var_budget,
            }
            self.conn.execute(insert(target_options).values(**scope, updated_at=now, **values))
        else:
            self.conn.execute(
                insert(account_target_options).values(
                    **scope,
                    band=options.band,
                    min_trade=options.min_trade,
                    cash_flow=options.cash_flow,
                    updated_at=now,
                )
            )

    def scoped_accounts(self) -> dict[int, str]:
        """The accounts with targets of their own: id -> name."""
        rows = self.conn.execute(
            select(accounts.c.id, accounts.c.name)
            .join(account_target_options, account_target_options.c.account_id == accounts.c.id)
            .where(account_target_options.c.user_id == self.user_id)
            .order_by(accounts.c.name)
        )
        return {int(i): str(n) for i, n in rows.tuples().all()}
