"""Streaming CSV reading: encoding and delimiter detection, line numbers, blank lines.

Files are read incrementally (never whole into memory). Handles a UTF-8 BOM, UTF-16
with BOM, Windows-1252 text, ``,`` ``;`` ``\\t`` and ``|`` delimiters, blank and
trailing lines; bytes that are not text are a clear error.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from quantdesk.domain.errors import InvalidInput

_PROBE = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
csv.field_size_limit(1 << 20)


@dataclass(frozen=True, slots=True)
class CsvDialect:
    encoding: str
    delimiter: str

    @property
    def decimal_comma(self) -> bool:
        """``;``-separated files come from locales that write ``12,5`` for 12.5."""
        return self.delimiter == ";"


def _encoding(head: bytes, *, whole: bool) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InvalidInput(
            f"the file is not text (binary byte 0x00 at offset {nul}); "
            "export it as CSV and upload that"
        )
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and not whole:
            return "utf-8"  # a character cut by the probe's end, not by the file's
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if controls:
        raise InvalidInput("the file is not text (control bytes found); export it as CSV")
    return "cp1252"


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class Readable(Protocol):
    """Anything with a binary ``read``: an open file, an upload, a :class:`ByteSource`."""

    def read(self, size: int = -1, /) -> bytes | None: ...


class ByteSource(io.RawIOBase):
    """Any binary file object as a raw stream, optionally seeing every byte read
    (the import service hashes files this way while they stream)."""

    def __init__(self, stream: Readable, on_read: Callable[[bytes], object] | None = None) -> None:
        super().__init__()
        self._stream = stream
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer)) or b""
        if self._on_read is not None:
            self._on_read(data)
        buffer[: len(data)] = data
        return len(data)


def open_csv(stream: Readable) -> tuple[CsvDialect, Iterator[tuple[int, list[str]]]]:
    """Detect the dialect and return it with an iterator of ``(line, cells)``.

    ``line`` is the physical line where the record starts (the header is line 1). Blank
    lines and lines of empty cells are skipped. A decoding error mid-file raises
    :class:`InvalidInput` naming the line.
    """
    # Our own buffer of the probe's size: one peek then sees the first 64 KiB, or the
    # whole file when it is shorter.
    buffered = io.BufferedReader(ByteSource(stream), buffer_size=_PROBE)
    head = buffered.peek(_PROBE)[:_PROBE]
    if not head.strip():
        raise InvalidInput("the file is empty")
    encoding = _encoding(head, whole=len(head) < _PROBE)
    text = io.TextIOWrapper(buffered, encoding=encoding, newline="", errors="strict")
    first = head.decode(encoding, errors="ignore").lstrip("\ufeff").splitlines()
    header_line = next((line for line in first if line.strip()), "")
    dialect = CsvDialect(encoding, _delimiter(header_line))
    return dialect, _records(text, dialect)


def _records(text: io.TextIOWrapper, dialect: CsvDialect) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from _read(text, dialect)
    finally:
        text.detach()  # the caller owns (and closes) the underlying byte stream


def _read(text: io.TextIOWrapper, dialect: CsvDialect) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(text, delimiter=dialect.delimiter)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise InvalidInput(
                f"line {reader.line_num + 1}: bytes that are not {dialect.encoding} text"
            ) from None
        except csv.Error as error:
            raise InvalidInput(f"line {reader.line_num}: malformed CSV ({error})") from None
        line, start = start, reader.line_num + 1
        if not cells or all(not cell.strip() for cell in cells):
            continue
        yield line, cells


def normalize_header(cells: list[str]) -> list[str]:
    """Header cells compared loosely: ``Cost Basis`` and ``cost_basis`` are one column."""
    return [
        cell.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_") for cell in cells
    ]
