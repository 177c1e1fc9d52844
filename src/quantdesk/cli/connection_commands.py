"""`quantdesk connections` (exchanges synced through ccxt) and `quantdesk secrets` (the
keys that encrypt their credentials at rest: store/vault.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from quantdesk import bootstrap
from quantdesk.cli.app import JsonOpt, _ctx, _print_json, app, out
from quantdesk.services import connection_sync, connections
from quantdesk.store import vault
from quantdesk.store.connections import rotate_secrets
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault, new_key

connections_app = typer.Typer(help="Exchanges synced into an account (read-only API keys).")
secrets_app = typer.Typer(help="The keys that encrypt stored credentials.")
app.add_typer(connections_app, name="connections")
app.add_typer(secrets_app, name="secrets")

KeyOpt = Annotated[
    str,
    typer.Option(
        "--key",
        help="The exchange's API key (read-only; for Coinbase the CDP key's name, "
        "organizations/.../apiKeys/...).",
    ),
]
SecretFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--secret-file",
        help="A file holding the API secret (else QUANTDESK_CONNECTION_SECRET, else asked).",
    ),
]
PasswordOpt = Annotated[
    str | None, typer.Option("--password", help="The passphrase some exchanges add.")
]


def _uow(ctx: typer.Context) -> SqlUnitOfWork:
    context = _ctx(ctx)
    return bootstrap.unit_of_work(context.engine, context.user)


def _secret(path: Path | None) -> str:
    """The API secret, never from the command line (it would show in `ps`)."""
    if path is not None:
        return path.read_text().strip()
    return os.environ.get("QUANTDESK_CONNECTION_SECRET") or str(
        typer.prompt("API secret", hide_input=True)
    )


def _json(view: connections.ConnectionView) -> dict[str, Any]:
    return {
        "id": view.id,
        "account": view.account,
        "provider": view.provider,
        "status": view.status,
        "error": view.error,
        "last_sync_at": view.last_sync_at.isoformat() if view.last_sync_at else None,
        "created_at": view.created_at.isoformat(),
        "synced_through": view.synced_through,
    }


@connections_app.command("add")
def connections_add(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help="A ccxt exchange id: kraken, binance, ...")],
    key: KeyOpt,
    account: Annotated[
        str, typer.Option("--account", "-a", help="The account it syncs into (made if new).")
    ],
    secret_file: SecretFileOpt = None,
    password: PasswordOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Connect an exchange account with a read-only API key (stored encrypted)."""
    made = connections.add_connection(
        _uow(ctx),
        vault.current(),
        provider=provider,
        account=account,
        api_key=key,
        secret=_secret(secret_file),
        password=password,
        clock=bootstrap.utc_now,
    )
    if as_json:
        _print_json(_json(made))
        return
    out.print(
        f"Connected {made.provider} to '{made.account}' (connection {made.id}); "
        f"`quantdesk connections sync {made.id}` reads its history.",
        highlight=False,
    )


@connections_app.command("list")
def connections_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Your connections, their status and last sync (never their keys)."""
    found = connections.list_connections(_uow(ctx))
    if as_json:
        _print_json([_json(v) for v in found])
        return
    table = Table("Id", "Exchange", "Account", "Status", "Last sync", "Error", title="Connections")
    for v in found:
        synced = v.last_sync_at.isoformat(timespec="seconds") if v.last_sync_at else "never"
        table.add_row(str(v.id), v.provider, v.account, v.status, synced, v.error or "")
    out.print(table if found else "No connections (`quantdesk connections add`).")


@connections_app.command("sync")
def connections_sync(
    ctx: typer.Context,
    connection_id: Annotated[
        int | None, typer.Argument(help="One connection (default: all).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read what is new on the exchange(s) into the ledger."""
    uow, box = _uow(ctx), vault.current()
    ids = [connection_id] if connection_id else [v.id for v in connections.list_connections(uow)]
    reports = [connection_sync.sync_connection(uow, box, i, clock=bootstrap.utc_now) for i in ids]
    if as_json:
        _print_json(
            [
                {
                    "connection": _json(r.connection),
                    "added": r.added,
                    "duplicates": r.duplicates,
                    "differences": {
                        k: {"exchange": str(e), "ledger": str(h)}
                        for k, (e, h) in r.differences.items()
                    },
                    "error": r.error,
                    "error_kind": r.error_kind,
                    "notes": r.notes,
                }
                for r in reports
            ]
        )
    else:
        for r in reports:
            name = f"{r.connection.provider} → '{r.connection.account}'"
            if r.error:
                err_line = f"{name}: sync failed: {r.error}"
                out.print(f"[red]{err_line}[/]", highlight=False)
            added = ", ".join(f"{n} {k}" for k, n in r.added.items() if n)
            out.print(f"{name}: added {added or 'nothing'}", highlight=False)
            for note in r.notes:
                out.print(f"  {note}", highlight=False)
            for code, (exchange, held) in r.differences.items():
                out.print(
                    f"  {code}: the exchange holds {exchange}, the ledger {held}", highlight=False
                )
    if any(r.error for r in reports):
        raise typer.Exit(1)


@connections_app.command("set-key")
def connections_set_key(
    ctx: typer.Context,
    connection_id: Annotated[int, typer.Argument()],
    key: KeyOpt,
    secret_file: SecretFileOpt = None,
    password: PasswordOpt = None,
) -> None:
    """Replace a connection's API key (after the old one was revoked)."""
    view = connections.rotate_credentials(
        _uow(ctx),
        vault.current(),
        connection_id,
        api_key=key,
        secret=_secret(secret_file),
        password=password,
    )
    out.print(f"New key stored for connection {view.id} ({view.provider}).", highlight=False)


@connections_app.command("remove")
def connections_remove(ctx: typer.Context, connection_id: Annotated[int, typer.Argument()]) -> None:
    """Forget a connection and its key (what it synced stays in the ledger)."""
    connections.remove_connection(_uow(ctx), connection_id)
    out.print(f"Removed connection {connection_id}.", highlight=False)


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new key (for QUANTDESK_SECRET_KEYS or the key file)."""
    typer.echo(new_key())


@secrets_app.command("rotate")
def secrets_rotate(ctx: typer.Context) -> None:
    """Re-encrypt every stored secret under the first configured key; then the older keys
    can be removed."""
    count = rotate_secrets(_ctx(ctx).engine, Vault.from_environment(create=False))
    out.print(f"Re-encrypted {count} secret(s) under the first key.", highlight=False)
