"""What every command shares: the settings and database it opens lazily, and output."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mailer.settings import Settings, load_settings
from mailer.storage import Database, open_database

__all__ = [
    "CliState",
    "IdArgument",
    "JsonOption",
    "console",
    "err_console",
    "log_to_stderr",
    "print_json",
    "state",
]

# No markup by default: what we print holds the user's text (subjects, segments, errors
# that quote input), where "[bold]" or "[cta.donate]" must show as typed. Styled text is
# asked for with markup=True and the user's part escaped.
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

#: The ``--json`` option of every command that prints something a script may read.
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
#: A campaign's id; out of the database's range is a usage error, not a traceback.
IdArgument = Annotated[
    int, typer.Argument(help="The campaign's id (mailer campaigns ls).", min=1, max=2**63 - 1)
]


@dataclass
class CliState:
    config: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _database: Database | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    @property
    def database(self) -> Database:
        """The database, migrated to the newest schema on first use."""
        if self._database is None:
            self._database = open_database(self.settings.database_url)
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, no colour, no wrapping."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def log_to_stderr() -> None:
    """The log of a command that runs until stopped (``run``, ``worker``): a line per
    event, with its time, on stderr."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
