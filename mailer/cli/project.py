"""``mailer init``: a new project folder."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from mailer.campaigns.readiness import readiness_problems
from mailer.cli._state import CliState, console, state
from mailer.exceptions import ConfigError
from mailer.settings import CONFIG_FILENAME, Settings
from mailer.settings.template import config_file

# The file init writes comes from the settings' own fields (mailer/settings/template.py).
__all__ = ["init", "register"]


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(help="Where to create the project (default: here).")
    ] = Path("."),
    publisher_name: Annotated[str, typer.Option("--name", help="Your publication's name.")] = (
        "My Newsletter"
    ),
    from_address: Annotated[
        str, typer.Option("--from", help="The sender address.")
    ] = "newsletter@example.org",
    postal_address: Annotated[str, typer.Option(help="Your postal address.")] = "",
    base_url: Annotated[str, typer.Option(help="The web app's public URL.")] = (
        "http://localhost:8000"
    ),
    timezone: Annotated[str, typer.Option(help="Default timezone.")] = "UTC",
    force: Annotated[bool, typer.Option(help="Overwrite an existing mailer.toml.")] = False,
) -> None:
    """Write a commented mailer.toml and create the database."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_FILENAME
    if path.exists() and not force:
        raise ConfigError(f"{path} exists already (pass --force to overwrite it)")
    values = {
        "base_url": base_url,
        "secret_key": secrets.token_urlsafe(32),
        "publisher_name": publisher_name,
        "from_address": from_address,
        "postal_address": postal_address,
        "timezone": timezone,
    }
    path.write_text(config_file(values), encoding="utf-8")
    settings = _open(path)
    state(ctx).config = path
    _tell(path, settings)


def _open(path: Path) -> Settings:
    """The new file's settings, with its database created; a file they refuse is removed."""
    project = CliState(config=path)
    try:
        settings = project.settings
        project.database  # noqa: B018 - opening creates and migrates it
    except ConfigError:
        path.unlink()
        raise
    finally:
        project.close()
    return settings


def _tell(path: Path, settings: Settings) -> None:
    """What init did, and what real mail still needs."""
    console.print(f"wrote {path}")
    console.print(f"database ready: {settings.database_url.split('://', 1)[0]} database")
    console.print(
        f"backend: outbox, which writes .eml files to {settings.outbox_dir}; nothing is sent"
    )
    if not settings.base_url.startswith("https://"):
        console.print(
            f"links point at {settings.base_url}, a local address: fine while nothing is sent"
        )
    problems = readiness_problems(settings)
    if problems:
        console.print(
            'before sending real mail (backend = "smtp" or "sendgrid"), set in mailer.toml:'
        )
        for problem in problems:
            console.print(f"  {problem.key}: {problem.message}")
        console.print("mailer check tells whether the settings are ready to send")
    console.print("next: mailer lists create NAME, then mailer subscribers import FILE --list NAME")
