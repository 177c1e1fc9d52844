"""What every connection's session shares: its failures in plain words, and what one
read of a stream gives (its records, and where the next read starts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantdesk.domain.errors import ProviderUnavailable


class ConnectorError(ProviderUnavailable):
    """Why the exchange or aggregator did not answer, in plain words, and what kind of
    failure it was: ``bad-key``, ``permission``, ``rate-limit``, ``revoked``,
    ``unreachable`` or ``exchange`` (a 503 problem where a request meets it)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Batch:
    """What one read of a stream found, and where the stream's next read starts (a JSON
    value the connection keeps: an instant in ms for most streams)."""

    records: list[dict[str, Any]]
    resume: Any


def stamp(record: Mapping[str, Any]) -> int:
    return int(record.get("timestamp") or 0)


def resume_point(records: list[dict[str, Any]], reached: int | None) -> int | None:
    """Where a stream read up to ``reached`` (ms) starts next: there, or at its earliest
    record still pending (a deposit not yet credited), which the next sync must see
    again to record it once it completes; what is recorded already is known by its id."""
    pending = [stamp(r) for r in records if r.get("status") == "pending"]
    return min(pending) if pending else reached
