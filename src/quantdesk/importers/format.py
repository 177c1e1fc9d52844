"""What an import format is: its name, the columns that identify it, and its parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import header_key
from quantdesk.importers.table import ParseContext, Records

#: A CSV format's parser: the header row's cells, the records after it, the context.
CsvParser = Callable[[list[str], Records, ParseContext], Iterator[ParsedTransaction]]
#: A document format's parser (OFX, XML, JSON): the whole file's bytes.
DocumentParser = Callable[[bytes, ParseContext], Iterator[ParsedTransaction]]
Kind = Literal["csv", "ofx", "xml", "json"]


@dataclass(frozen=True, slots=True)
class Signature:
    """Header columns that identify one layout (one export vintage) of a format."""

    columns: tuple[str, ...]
    keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(header_key(c) for c in self.columns))

    def missing(self, header: frozenset[str]) -> list[str]:
        return [c for c in self.columns if header_key(c) not in header]


@dataclass(frozen=True, slots=True)
class Format:
    """One import format.

    CSV formats are recognized by their header row (found after any preamble): the
    header must hold every column of one of ``signatures``; among formats that match,
    the most specific (most columns) wins. Document formats are recognized by
    ``sniff`` on the file's first bytes.
    """

    name: str
    title: str
    kind: Kind
    #: The columns (or, for documents, the records) the format reads, as exported.
    columns: tuple[str, ...]
    signatures: tuple[Signature, ...] = ()
    csv_parser: CsvParser | None = None
    document_parser: DocumentParser | None = None
    sniff: Callable[[bytes], bool] | None = None
    #: The time zone of times without an offset in the export.
    time_zone: str = "UTC"
    notes: str = ""
    #: quantdesk's own formats, parsed by :mod:`quantdesk.importers.generic`.
    generic: bool = False
    #: Header columns that rule this format out (a ``type`` column makes a file of
    #: symbols and quantities a trades file, not a holdings snapshot).
    excludes: frozenset[str] = frozenset()


def sig(*columns: str) -> Signature:
    return Signature(columns)
