"""Golden runs of real export samples: a sample in, its ledger entries, skipped and
to-resolve rows, and the resulting positions and cash out, compared with
``tests/golden/importers/<broker>/<case>.expected.json``.

The samples live outside the project (``../shared/formats``, see FORMATS.md there) and
are read where present; a test whose sample is missing skips and says which file.
`pytest --update-golden` rewrites the expectations; review the diff before committing.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from quantdesk.domain.lots import replay
from quantdesk.domain.money import to_text
from quantdesk.domain.transactions import Transaction
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.import_report import ImportReport
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import DEFAULT_USER, clock

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "formats"
GOLDEN = Path(__file__).parent.parent / "golden" / "importers"
ACCOUNT = "Broker"


def sample(relative: str) -> Path:
    """A sample export under ../shared/formats, or a skip naming the missing file."""
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"sample {path} is not on this machine (see ../shared/formats/FORMATS.md)")
    return path


@dataclass
class Imported:
    report: ImportReport
    ledger: list[Transaction]
    uow: SqlUnitOfWork


def import_bytes(
    tmp_path: Path,
    data: bytes,
    *,
    filename: str = "export.csv",
    currency: str = "USD",
    fmt: str = "auto",
    allow_unknown_basis: bool = True,
    engine: Engine | None = None,
) -> Imported:
    """Import ``data`` into a fresh SQLite ledger (or ``engine``'s) with the account
    ``Broker``."""
    uow = SqlUnitOfWork(engine or ledger_engine(tmp_path), DEFAULT_USER, clock)
    if not any(a.name == ACCOUNT for a in portfolio.list_accounts(uow)):
        portfolio.add_account(
            uow, ACCOUNT, kind="brokerage", institution=None, currency=currency, clock=clock
        )
    report = import_stream(
        uow,
        io.BytesIO(data),
        filename,
        ImportOptions(account=ACCOUNT, format=fmt, allow_unknown_basis=allow_unknown_basis),
        clock=clock,
    )
    with uow() as store:
        ledger = list(store.ledger())
    return Imported(report, ledger, uow)


def ledger_engine(tmp_path: Path) -> Engine:
    """A fresh, migrated SQLite ledger in ``tmp_path``."""
    engine = make_engine(f"sqlite:///{tmp_path / 'golden.db'}")
    migrate(engine)
    return engine


def _text(value: Decimal | None) -> str | None:
    return to_text(value) if value is not None else None


def entry_json(t: Transaction) -> dict[str, Any]:
    return {
        "line": t.source_line,
        "type": t.type.value,
        "at": t.traded_at.isoformat() if t.timed else t.traded_on.isoformat(),
        "symbol": t.instrument.symbol if t.instrument else None,
        "asset_type": t.instrument.asset_type.value if t.instrument else None,
        "quantity": _text(t.quantity),
        "price": _text(t.price),
        "fees": _text(t.fees) if t.fees else None,
        "amount": _text(t.amount),
        "currency": t.currency,
        "ratio": _text(t.split_ratio),
        "external_id": t.external_id,
        "linked": t.link is not None,
        "origin": t.origin.value,
    }


def outcome(imported: Imported) -> dict[str, Any]:
    """What a user sees of an import: format, counts, every issue, what was skipped and
    why, what is left to resolve, the entries, and the positions and cash they give."""
    report = imported.report
    state = replay(imported.ledger, collect_shortfalls=True)
    positions: dict[str, Decimal] = defaultdict(Decimal)
    for lot in state.open_lots():
        positions[f"{lot.instrument.symbol} ({lot.instrument.asset_type.value})"] += lot.quantity
    cash = {f"{currency}": amount for (_, currency), amount in state.cash.items() if amount}
    notices = report.notices
    return {
        "format": report.format,
        "confidence": report.confidence,
        "encoding": report.encoding,
        "rows": report.rows,
        "added": report.added,
        "issues": [i.describe() for i in report.issues],
        "skipped": dict(sorted(notices.skipped.items())),
        "to_resolve": [i.describe() for i in notices.to_resolve],
        "unknown_basis": [s.describe() for s in report.unknown_basis],
        "entries": [entry_json(t) for t in imported.ledger],
        "positions": {k: to_text(v) for k, v in sorted(positions.items()) if v},
        "cash": {k: to_text(v) for k, v in sorted(cash.items())},
    }


def check_golden(broker: str, case: str, actual: dict[str, Any], update: bool) -> None:
    """``actual`` equals the case's expected JSON (rewritten with --update-golden)."""
    path = GOLDEN / broker / f"{case}.expected.json"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n")
    if not path.exists():
        pytest.fail(f"no golden file {path}: run pytest --update-golden and review it")
    assert json.loads(path.read_text()) == actual


def reimported(tmp_path: Path, data: bytes, **options: Any) -> tuple[Imported, Imported]:
    """``data`` imported twice into one fresh ledger: the first import and the second."""
    engine = ledger_engine(tmp_path)
    return (
        import_bytes(tmp_path, data, engine=engine, **options),
        import_bytes(tmp_path, data, engine=engine, **options),
    )


def without_last_rows(text: str, row: str, count: int) -> str:
    """An older export: ``text`` without its last ``count`` lines matching ``row`` (a
    regular expression for a data row's start)."""
    lines = text.split("\n")
    rows = [i for i, line in enumerate(lines) if re.match(row, line)]
    dropped = set(rows[-count:])
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)
