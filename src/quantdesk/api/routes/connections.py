"""The caller's connected exchanges: add one (its read-only key, kept encrypted and never
returned), list them with their status, sync one now, replace its key, remove it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import Id
from quantdesk.connectors import plaid_client
from quantdesk.domain.errors import NotFound
from quantdesk.domain.money import to_text
from quantdesk.services import connection_sync, connections
from quantdesk.store import vault

router = APIRouter(prefix="/connections", tags=["connections"])


class CredentialsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=1, max_length=500)
    secret: str = Field(min_length=1, max_length=2000, description="Never returned or logged")
    password: str | None = Field(
        default=None, max_length=500, description="The passphrase some exchanges add"
    )


class ConnectionIn(CredentialsIn):
    provider: str = Field(
        min_length=1, max_length=40, description="A ccxt exchange id: kraken, binance, ..."
    )
    account: str = Field(
        min_length=1, max_length=100, description="The account it syncs into (made if new)"
    )


class ConnectionOut(BaseModel):
    id: int
    account: str
    provider: str
    status: str = Field(description="new, ok or error")
    error: str | None = Field(description="Why the last sync failed, in plain words")
    last_sync_at: datetime | None
    created_at: datetime
    synced_through: dict[str, int | None] = Field(
        description="Per stream (trades, deposits, withdrawals): where the next sync starts"
        " (ms since the epoch)"
    )


class Difference(BaseModel):
    exchange: str
    ledger: str


class SyncOut(BaseModel):
    connection: ConnectionOut
    added: dict[str, int]
    duplicates: dict[str, int]
    differences: dict[str, Difference] = Field(
        description="Assets whose units differ between the exchange and the account"
    )
    error: str | None
    error_kind: str | None = Field(
        description="bad-key, permission, rate-limit, revoked, unreachable or exchange"
    )
    notes: list[str] = Field(
        description="Records not recorded on purpose, and records to record yourself, with why"
    )


def _out(view: connections.ConnectionView) -> ConnectionOut:
    return ConnectionOut(**vars(view))


@router.get("")
def list_connections(caller: CallerDep) -> list[ConnectionOut]:
    return [_out(v) for v in connections.list_connections(caller.uow)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_connection(body: ConnectionIn, caller: CallerDep) -> ConnectionOut:
    made = connections.add_connection(
        caller.uow,
        vault.current(),
        provider=body.provider,
        account=body.account,
        api_key=body.api_key,
        secret=body.secret,
        password=body.password,
        clock=caller.services.clock,
    )
    return _out(made)


class LinkTokenOut(BaseModel):
    link_token: str = Field(description="For the browser's Plaid Link")


class PlaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_token: str = Field(min_length=1, max_length=500, description="What Plaid Link gave")
    account: str = Field(
        min_length=1, max_length=100, description="The account it syncs into (made if new)"
    )


def _plaid_set_up() -> None:
    if not plaid_client.configured():
        raise NotFound(
            "Plaid is not set up on this server (QUANTDESK_PLAID_CLIENT_ID and"
            " QUANTDESK_PLAID_SECRET)"
        )


@router.post("/plaid/link-token")
def plaid_link_token(caller: CallerDep) -> LinkTokenOut:
    """A Link token to open Plaid Link in the browser (404 when this server has no Plaid
    keys, 503 when Plaid cannot be reached)."""
    _plaid_set_up()
    return LinkTokenOut(link_token=plaid_client.link_token(f"quantdesk-user-{caller.user_id}"))


@router.post("/plaid", status_code=status.HTTP_201_CREATED)
def add_plaid_connection(body: PlaidIn, caller: CallerDep) -> ConnectionOut:
    """Keep the brokerage Plaid Link linked: its public token is exchanged for an access
    token, stored encrypted and never returned."""
    _plaid_set_up()
    made = connections.add_plaid_connection(
        caller.uow,
        vault.current(),
        public_token=body.public_token,
        account=body.account,
        clock=caller.services.clock,
    )
    return _out(made)


@router.post("/{connection_id}/sync")
def sync_connection(connection_id: Id, caller: CallerDep) -> SyncOut:
    """Read what is new on the exchange now. A failed sync is still 200: its ``error``
    says why, and the connection's status shows it until a sync succeeds."""
    done = connection_sync.sync_connection(
        caller.uow, vault.current(), connection_id, clock=caller.services.clock
    )
    differences: dict[str, Any] = {
        k: Difference(exchange=to_text(e), ledger=to_text(held))
        for k, (e, held) in done.differences.items()
    }
    return SyncOut(
        connection=_out(done.connection),
        added=done.added,
        duplicates=done.duplicates,
        differences=differences,
        error=done.error,
        error_kind=done.error_kind,
        notes=done.notes,
    )


@router.put("/{connection_id}/credentials")
def replace_credentials(connection_id: Id, body: CredentialsIn, caller: CallerDep) -> ConnectionOut:
    return _out(
        connections.rotate_credentials(
            caller.uow,
            vault.current(),
            connection_id,
            api_key=body.api_key,
            secret=body.secret,
            password=body.password,
        )
    )


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_connection(connection_id: Id, caller: CallerDep) -> None:
    connections.remove_connection(caller.uow, connection_id)
