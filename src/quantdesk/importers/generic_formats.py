"""quantdesk's own formats as registry entries (parsed by :mod:`.generic`)."""

from __future__ import annotations

from quantdesk.importers.format import Format, Signature
from quantdesk.importers.generic import HOLDINGS, TRADES, FormatSpec


def _entry(spec: FormatSpec, title: str, excludes: frozenset[str] = frozenset()) -> Format:
    return Format(
        name=spec.name,
        title=title,
        kind="csv",
        columns=spec.required + spec.optional,
        signatures=(Signature(spec.required),),
        notes=spec.description,
        generic=True,
        excludes=excludes,
    )


FORMATS = (
    _entry(HOLDINGS, "quantdesk holdings snapshot", frozenset({"type"})),
    _entry(TRADES, "quantdesk trades and cash ledger"),
)
