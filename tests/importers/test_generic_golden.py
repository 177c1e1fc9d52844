"""Golden files: each generic-format case parses to exactly its `.expected.json`.

`pytest --update-golden` rewrites the expected files; review the diff before committing.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from quantdesk.domain.money import to_text
from quantdesk.importers.base import Issues
from quantdesk.importers.csvio import normalize_header, open_csv
from quantdesk.importers.generic import HOLDINGS, detect, parse_holdings, parse_trades

GOLDEN = Path(__file__).parent.parent / "golden" / "importers" / "generic"
TODAY = date(2026, 11, 24)


def _value(value: object) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "as_tuple"):
        return to_text(value)  # type: ignore[arg-type]
    return str(value)


def _parse(path: Path) -> dict[str, Any]:
    dialect, records = open_csv(io.BytesIO(path.read_bytes()))
    header = normalize_header(next(records)[1])
    spec = detect(header)
    issues = Issues()
    if spec is HOLDINGS:
        rows = [
            {name: _value(getattr(row, name)) for name in row._fields}
            for row in parse_holdings(records, header, dialect, today=TODAY, issues=issues)
        ]
    else:
        rows = [
            {
                "line": parsed.line,
                "account": parsed.account,
                "symbol": parsed.symbol,
                "asset_type": _value(parsed.asset_type),
                "currency": parsed.currency,
                **{
                    name: _value(getattr(parsed.transaction, name))
                    for name in parsed.transaction._fields
                    if name not in ("account", "instrument", "currency", "fingerprint", "id")
                },
            }
            for parsed in parse_trades(records, header, dialect, today=TODAY, issues=issues)
        ]
    return {"format": spec.name, "issues": [i.describe() for i in issues.items], "rows": rows}


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("*.csv")))
def test_generic_file_parses_to_its_golden_rows(case: str, update_golden: bool) -> None:
    actual = _parse(GOLDEN / case)
    expected_path = (GOLDEN / case).with_suffix(".expected.json")
    if update_golden:
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert json.loads(expected_path.read_text()) == actual
