"""Robinhood account activity exports import with their meaning intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "fixture-small": "robinhood/robinhood_fixture_small.csv",
    "real-first200": "robinhood/robinhood_activity_real_first200.csv",
    "real-rare-codes": "robinhood/robinhood_activity_real_rare_codes_excerpt.csv",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_robinhood_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    imported = import_bytes(tmp_path, sample(CASES[case]).read_bytes())
    check_golden("robinhood", case, outcome(imported), update_golden)
