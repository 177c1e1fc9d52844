"""Every import format, and how a file is matched to one.

Documents (OFX/QFX, IBKR Flex XML, Ghostfolio JSON) are recognized by their first
bytes; CSV files by their header row, looked for among the first lines so that a
preamble (Coinbase's disclaimer, Schwab's title line, Fidelity's blank lines) is
skipped. A file that matches nothing, or two formats equally, is a clear error naming
the closest formats and the columns that did not match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from quantdesk.domain.errors import InvalidInput
from quantdesk.importers import (
    binance,
    coinbase,
    degiro,
    etrade,
    fidelity,
    generic_formats,
    ghostfolio,
    ibkr,
    kraken,
    ofx,
    portfolio_performance,
    robinhood,
    schwab,
    trading212,
    vanguard,
)
from quantdesk.importers.cells import header_key
from quantdesk.importers.format import Format, Signature
from quantdesk.importers.table import Records

FORMATS: tuple[Format, ...] = (
    *generic_formats.FORMATS,
    *robinhood.FORMATS,
    *fidelity.FORMATS,
    *vanguard.FORMATS,
    *schwab.FORMATS,
    *etrade.FORMATS,
    *ibkr.FORMATS,
    *coinbase.FORMATS,
    *binance.FORMATS,
    *kraken.FORMATS,
    *trading212.FORMATS,
    *degiro.FORMATS,
    *ofx.FORMATS,
    *ghostfolio.FORMATS,
    *portfolio_performance.FORMATS,
)
#: How many lines a header may sit below the top of a file (preambles are short).
HEADER_SEARCH = 40

_BINARY = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a spreadsheet or zip archive (XLSX/ODS/ZIP)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 spreadsheet (XLS)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
)


def names() -> list[str]:
    return [f.name for f in FORMATS]


def by_name(name: str) -> Format:
    for f in FORMATS:
        if f.name == name:
            return f
    raise InvalidInput(f"unknown format {name!r} (one of auto, {', '.join(names())})")


def refuse_binary(head: bytes) -> None:
    """A clear error for the files people upload by mistake instead of a CSV export."""
    for magic, what in _BINARY:
        if head.startswith(magic):
            raise InvalidInput(
                f"the file is {what}, not a CSV/OFX/JSON/XML export; download the "
                "broker's CSV (or OFX/QFX) export and import that"
            )


def sniff_document(head: bytes) -> Format | None:
    """The document format the file's first bytes announce, if any."""
    for f in FORMATS:
        if f.sniff is not None and f.sniff(head):
            return f
    return None


@dataclass(frozen=True, slots=True)
class Detected:
    """The format of a CSV file, the header row that showed it, and how sure we are:
    the share of the header's columns the format reads (1.0: it knows every one)."""

    format: Format
    layout: Signature
    line: int
    header: list[str]
    confidence: float
    #: Lines before the header (a preamble), reported as skipped, and their cells.
    preamble: list[int]
    preamble_cells: tuple[list[str], ...] = ()


def detect_csv(records: Records, forced: Format | None = None) -> Detected:
    """Read records until a header row matches a format (``forced``, when given)."""
    candidates = [f for f in FORMATS if f.kind == "csv"]
    seen: list[tuple[int, list[str]]] = []
    best: dict[str, tuple[float, int, Signature, int]] = {}
    other: tuple[str, int] | None = None
    for line, cells in _first(records):
        keys = frozenset(k for k in (header_key(c) for c in cells) if k)
        full: list[tuple[Format, Signature]] = []
        for f in candidates:
            if f.excludes & keys:
                continue
            for signature in f.signatures:
                found = len(signature.keys & keys)
                if found == len(signature.keys):
                    full.append((f, signature))
                ratio = found / len(signature.keys)
                if ratio > best.get(f.name, (0.0, 0, signature, 0))[0]:
                    best[f.name] = (ratio, found, signature, line)
        if forced is not None:
            mine = [(f, s) for f, s in full if f is forced]
            if not mine and full and other is None:
                other = (max(full, key=lambda m: len(m[1].keys))[0].name, line)
            full = mine
        if full:
            return _detected(full, line, cells, keys, seen)
        seen.append((line, cells))
    if forced is not None and other is not None:
        raise InvalidInput(
            f"the file's header (line {other[1]}) is that of {other[0]}, not {forced.name}: "
            f"import it as {other[0]} (or leave --format out)"
        )
    if forced is not None:
        best = {name: found for name, found in best.items() if name == forced.name}
    raise InvalidInput(_unmatched(seen, best, forced))


def _detected(
    full: list[tuple[Format, Signature]],
    line: int,
    cells: list[str],
    keys: frozenset[str],
    preamble: list[tuple[int, list[str]]],
) -> Detected:
    size = max(len(s.keys) for _, s in full)
    top = {f.name: (f, s) for f, s in full if len(s.keys) == size}
    if len(top) > 1:
        raise InvalidInput(
            f"line {line}: the header matches {' and '.join(sorted(top))} equally; "
            "choose one with --format"
        )
    chosen, layout = next(iter(top.values()))
    known = {header_key(c) for c in chosen.columns}.union(*(s.keys for s in chosen.signatures))
    confidence = round(len(keys & known) / max(len(keys), 1), 2)
    return Detected(
        chosen,
        layout,
        line,
        cells,
        confidence,
        [n for n, _ in preamble],
        tuple(c for _, c in preamble),
    )


def _first(records: Records) -> Iterator[tuple[int, list[str]]]:
    for count, record in enumerate(records):
        if count >= HEADER_SEARCH:
            return
        yield record


def _unmatched(
    seen: list[tuple[int, list[str]]],
    best: dict[str, tuple[float, int, Signature, int]],
    forced: Format | None,
) -> str:
    first = next(iter(seen), None)
    shown = ", ".join(c.strip() for c in first[1][:8]) if first else "nothing"
    ranked = sorted(best.items(), key=lambda item: -item[1][0])[:3]
    closest = "; ".join(
        f"{name} (line {line} has {found} of its {len(sig.keys)} columns; missing "
        f"{', '.join(repr(c) for c in sig.missing(_keys(seen, line)))})"
        for name, (ratio, found, sig, line) in ranked
        if ratio > 0
    )
    if forced is not None:
        return (
            f"not a {forced.name} file: no header row in the first {HEADER_SEARCH} lines has "
            f"its columns ({', '.join(forced.signatures[0].columns)})"
            + (f"; closest: {closest}" if closest else "")
            + " — leave --format out to detect the format"
        )
    return (
        f"unrecognized file: no header row matches a known format (the first line reads: "
        f"{shown})"
        + (f"; closest formats: {closest}" if closest else "")
        + "; `quantdesk formats` lists the formats and their columns"
    )


def _keys(seen: list[tuple[int, list[str]]], line: int) -> frozenset[str]:
    for number, cells in seen:
        if number == line:
            return frozenset(header_key(c) for c in cells)
    return frozenset()
