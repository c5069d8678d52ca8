"""``mailer init``: a new project folder."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from mailer.campaigns.readiness import readiness_problems
from mailer.cli._state import CliState, console, state
from mailer.exceptions import ConfigError
from mailer.settings import CONFIG_FILENAME

CONFIG_TEMPLATE = """\
# mailer settings. Every key can be overridden by an environment variable
# MAILER_<KEY> (for example MAILER_DATABASE_URL); relative paths are resolved
# against the folder of this file.

# Where subscribers, campaigns and events are stored. Default: SQLite in var/.
# PostgreSQL: "postgresql+psycopg://user:password@host:5432/dbname"
# database_url = "sqlite:///var/mailer.db"

# The public address of the web app (subscribe, unsubscribe, archive, tracking),
# which every link in the mail uses. A local http:// address is fine while the
# backend is "outbox"; real mail (smtp, sendgrid) needs the public https:// one.
base_url = "{base_url}"

# Signs unsubscribe, confirmation and preference links. Keep it secret; changing it
# invalidates every link already sent.
secret_key = "{secret_key}"

# Who the mail comes from, and the name readers know you by. from_address takes
# "news@your-domain.org" or "The Weekly <news@your-domain.org>" (its name then wins
# over publisher_name); real mail needs an address at your own domain.
publisher_name = "{publisher_name}"
from_address = "{from_address}"
# reply_to = "editor@example.org"

# The law (CAN-SPAM, GDPR imprint rules) wants a postal address in every mailing.
postal_address = "{postal_address}"

# The timezone for schedules when none is given (an IANA name).
timezone = "{timezone}"

# How mail leaves: "outbox" writes .eml files to outbox_dir (nothing is sent),
# "smtp" uses smtp_url, "sendgrid" uses sendgrid_api_key.
backend = "outbox"
outbox_dir = "var/outbox"
# smtp_url = "smtp://user:password@mail.example.org:587?starttls=true"
# sendgrid_api_key = "SG.xxxxx"
# sendgrid_host = "https://api.sendgrid.com"

# Sending. smtp_concurrency: SMTP connections used at once (smtp_url's ?concurrency=
# wins). DKIM signs SMTP mail when all three dkim_ keys are set (the key: a PEM file,
# relative to this file, or the PEM text). Rates: at most this many messages a second
# and an hour. A campaign pauses itself when error_threshold of its last 200 messages
# failed. A scheduled campaign found overdue by less than late_send_limit (seconds, or
# an ISO duration like "PT12H") is sent late; an older one is marked missed. A send
# that loses its database retries for database_retry_seconds, then pauses.
# smtp_concurrency = 4
# dkim_private_key = "dkim.pem"
# dkim_selector = "mail"
# dkim_domain = "example.org"
# rate_per_second = 50
# rate_per_hour = 100000
# send_batch_size = 500             # default: 1000 for sendgrid (one request), 500 others
# send_processes = 2                # worker processes building and sending batches
# error_threshold = 0.5
# late_send_limit = "PT12H"
# database_retry_seconds = 60

# Every link in a mailing gets UTM parameters: utm_source (default: publisher_name as
# a slug), utm_medium, utm_campaign (the campaign) and, on calls-to-action, utm_content.
# utm_source = "example-times"
# utm_medium = "email"

# The web app (mailer serve): subscribe, confirm, unsubscribe, preferences, archive,
# open and click tracking, SendGrid's event webhook and the admin API under /api.
# The API answers only "Authorization: Bearer <api_token>"; unset, it refuses everything.
# api_token = "a long random string (openssl rand -hex 24)"
# SendGrid > Settings > Mail Settings > Event Webhook > Signature Verification: the key.
# sendgrid_webhook_public_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE..."
# webhook_max_age = 600             # seconds a signed webhook request stays valid
# confirm_token_days = 7            # how long a confirmation link works
# tracking = true                   # open and click tracking of new campaigns
# subscribe_rate_limit = 5          # subscribe attempts per hour, per IP and per address
# soft_bounce_limit = 3             # soft bounces in a row before an address is suppressed
# max_request_bytes = 1048576       # the largest request body the web app reads
# max_webhook_bytes = 5242880       # the same for SendGrid's batches of events
# max_import_bytes = 104857600      # the same for CSV files imported through the API

# Calls-to-action every mailing gets unless its article (front matter "cta: ...", or
# "cta: none") or its list says otherwise.
# default_cta = ["donate"]

# A named call-to-action, one [cta.NAME] table each; articles pick them by name
# (examples/article.md asks for "donate"). Set url to your donation page before real
# mail: a url at example.org is refused on smtp and sendgrid (mailer check says so).
[cta.donate]
heading = "Independent news needs you"
text = "Our reporting is paid for by readers. A gift of any size keeps it free for all."
button_label = "Donate"
url = "https://example.org/donate"
amounts = [5, 10, 25]               # each a button to url?amount=10 (optional)
# amount_param = "amount"
# currency = "$"
# gifts = ["$5 pays for an hour of fact-checking", "$25 a day in court"]  # optional
# placement = "bottom"              # "top", "bottom", or after paragraph N: 3
# button_color = "#b3261e"
# background_color = "#f6f1e7"
# text_color = "#1f1f1f"
"""


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
    text = CONFIG_TEMPLATE.format(
        base_url=_toml_text(base_url),
        secret_key=secrets.token_urlsafe(32),
        publisher_name=_toml_text(publisher_name),
        from_address=_toml_text(from_address),
        postal_address=_toml_text(postal_address),
        timezone=_toml_text(timezone),
    )
    path.write_text(text, encoding="utf-8")
    cli = state(ctx)
    project = CliState(config=path)
    try:
        settings = project.settings
        project.database  # noqa: B018 - opening creates and migrates it
    except ConfigError:
        path.unlink()
        raise
    finally:
        project.close()
    cli.config = path
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


def _toml_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
