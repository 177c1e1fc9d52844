"""One user's target allocation and rebalancing options (store side of services/suggest.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, insert, select

from quantdesk.domain.rebalance import TargetOptions
from quantdesk.store.tables import target_options, targets


class TargetsRepository:
    """The targets of one user, on the connection (and transaction) of a unit of work."""

    def __init__(self, conn: Connection, user_id: int) -> None:
        self.conn = conn
        self.user_id = user_id

    def weights(self) -> dict[str, Decimal]:
        """Target weight by key (asset class or symbol), in key order; empty when none."""
        rows = self.conn.execute(
            select(targets.c.key, targets.c.weight)
            .where(targets.c.user_id == self.user_id)
            .order_by(targets.c.key)
        )
        return dict(rows.tuples().all())

    def options(self) -> TargetOptions | None:
        """The stored options, or None when the user never set targets."""
        c = target_options.c
        row = self.conn.execute(
            select(c.band, c.min_trade, c.cash_flow, c.concentration_limit, c.var_budget).where(
                c.user_id == self.user_id
            )
        ).first()
        return None if row is None else TargetOptions(**row._asdict())

    def replace(self, weights: dict[str, Decimal], options: TargetOptions, now: datetime) -> None:
        """Replace the whole allocation and its options (one transaction: all or nothing)."""
        self.conn.execute(delete(targets).where(targets.c.user_id == self.user_id))
        self.conn.execute(delete(target_options).where(target_options.c.user_id == self.user_id))
        if weights:
            self.conn.execute(
                insert(targets),
                [{"user_id": self.user_id, "key": k, "weight": w} for k, w in weights.items()],
            )
        self.conn.execute(
            insert(target_options).values(user_id=self.user_id, updated_at=now, **asdict(options))
        )
