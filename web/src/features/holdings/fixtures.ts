/** A holding as GET /holdings answers, for the unit tests. */
import type { HoldingOut } from "../../api/types";

export function holding(over: Partial<HoldingOut> = {}): HoldingOut {
  return {
    id: "1-2",
    account_id: 1,
    account: "Fidelity",
    instrument_id: 2,
    symbol: "AAPL",
    asset_type: "stock",
    quantity: "10",
    currency: "USD",
    cost_basis: "1000",
    average_cost: "100",
    unknown_basis_quantity: "0",
    price: "150",
    price_as_of: "2026-12-04",
    price_source: "simulated",
    market_value: "1500",
    unrealized_gain: "500",
    lots: 1,
    version: "v1",
    editable: true,
    price_missing: false,
    ...over,
  };
}
