"""Holdings held through a period (buy and hold): the metric set of current or
hypothetical quantities over the same prices, for instant what-if (no I/O, no ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from quantdesk.analytics.metrics import MetricSet, metric_set
from quantdesk.analytics.var import AssetMoments, asset_moments

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Held:
    """For one set of held assets: the first day all are priced, their returns over the
    days all have one, and those returns' moments."""

    first: int
    assets: Floats
    moments: AssetMoments | None


@dataclass
class HoldingsModel:
    """Per-unit values of each asset per day (T x K, base currency, NaN where unpriced),
    a cash amount held alongside, and the benchmark's returns on the same days."""

    unit_values: Floats
    cash: float
    days: Sequence[date]
    periods_per_year: int
    benchmark_returns: Floats | None = None

    def __post_init__(self) -> None:
        raw = np.asarray(self.unit_values, dtype=np.float64)
        self._priced = np.isfinite(raw)
        self._filled = np.nan_to_num(raw, nan=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            #: NaN or inf where an asset has no price on either day (not yet listed).
            self._asset_returns = self._filled[1:] / self._filled[:-1] - 1
        #: What depends on which assets are held but not on how many: computed once per
        #: set of held assets and reused by every what-if of new quantities.
        self._held: dict[tuple[int, ...], _Held] = {}

    def _prepared(self, held: npt.NDArray[np.intp]) -> _Held:
        key = tuple(held.tolist())
        found = self._held.get(key)
        if found is None:
            # the period starts once every held asset has a price (before its first close
            # an asset is not worth 0: it cannot be valued), so the value path compares
            unpriced = np.flatnonzero(~self._priced[:, held].all(axis=1))
            chosen = self._asset_returns[:, held]
            common = chosen[np.isfinite(chosen).all(axis=1)]
            found = _Held(
                int(unpriced[-1]) + 1 if len(unpriced) else 0,
                common,
                asset_moments(common) if len(common) >= 2 else None,
            )
            self._held[key] = found
        return found

    def metrics(
        self,
        quantities: Floats,
        *,
        risk_free: float,
        confidences: Sequence[float] = (0.95, 0.99),
        horizon: int = 1,
        seed: int = 0,
        cash: float | None = None,
    ) -> MetricSet:
        """The metric set of holding ``quantities`` and the cash (the model's, or ``cash``)
        through the period."""
        q = np.asarray(quantities, dtype=np.float64)
        held = np.flatnonzero(q)
        prepared = self._prepared(held) if len(held) else None
        first = prepared.first if prepared is not None else 0
        values = self._filled[first:] @ q + (self.cash if cash is None else cash)
        days = list(self.days[first:])
        previous = values[:-1]
        valid = previous > 0
        returns = np.where(valid, values[1:] / np.where(valid, previous, 1.0) - 1, 0.0)
        last = float(values[-1]) if len(values) else 0.0
        bench = self.benchmark_returns
        if bench is not None and first:
            bench = np.asarray(bench, dtype=np.float64)[first:]
        assets = weights = None
        moments = None
        if prepared is not None and last > 0:
            assets, moments = prepared.assets, prepared.moments
            weights = self._filled[-1, held] * q[held] / last
        if len(days) < 2:
            return metric_set(
                np.zeros(0), [], start=self.days[-1], periods_per_year=self.periods_per_year,
                risk_free=risk_free,
            )  # fmt: skip
        result = metric_set(
            returns,
            days[1:],
            start=days[0],
            periods_per_year=self.periods_per_year,
            risk_free=risk_free,
            benchmark_returns=bench,
            asset_returns=assets,
            weights=weights,
            last_value=last,
            confidences=confidences,
            horizon=horizon,
            seed=seed,
            moments=moments,
        )
        if first:
            result.warnings.append(
                f"held through the period from {days[0]}, when every held asset first has a close"
            )
        return result
