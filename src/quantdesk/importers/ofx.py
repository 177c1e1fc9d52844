"""ofx import format (in progress)."""

from __future__ import annotations

from quantdesk.importers.format import Format

FORMATS: tuple[Format, ...] = ()
