"""``mailer db``: the database schema."""

from __future__ import annotations

import typer

from mailer.cli._state import console, state
from mailer.storage.database import create_database_engine, current_revision, upgrade

app = typer.Typer(no_args_is_help=True, help="The database schema.")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Apply pending migrations (every command also does this when it opens the database)."""
    engine = create_database_engine(state(ctx).settings.database_url)
    try:
        applied = upgrade(engine)
        revision = current_revision(engine)
    finally:
        engine.dispose()
    console.print(f"{'upgraded to' if applied else 'already at'} revision {revision}")
