"""`quantdesk export` and `quantdesk restore`: a complete, versioned backup of one user's (or
every user's) data, restorable into an empty database of any supported engine
(store/backup.py says what is in it and what is not)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quantdesk.cli.app import _ctx, app, out
from quantdesk.store import backup


@app.command("export")
def export_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write (.json or .json.gz).")
    ],
    all_users: Annotated[
        bool, typer.Option("--all-users", help="Every user, not only --user.")
    ] = False,
) -> None:
    """Back up your data (or every user's) to one file."""
    context = _ctx(ctx)
    data = backup.export(context.engine, None if all_users else [context.user])
    backup.write(data, file)
    entries = sum(len(u["transactions"]) for u in data["users"])
    out.print(
        f"Backed up {len(data['users'])} user(s), {entries} ledger entries and "
        f"{len(data['prices'])} market closes to {file} (format version {data['version']}, "
        f"schema {data['schema']}). Sessions and API tokens are not in it."
    )


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Restore a backup into this database (refused, with nothing written, if one of its
    users already exists here)."""
    context = _ctx(ctx)
    report = backup.restore(context.engine, backup.read(file))
    entries = report.rows.get("transactions", 0)
    out.print(
        f"Restored {', '.join(report.users) or 'no users'}: {entries} ledger entries, "
        f"{report.rows.get('prices', 0)} new market closes. Sign in again: sessions and API "
        "tokens are not restored."
    )
