"""``mailer check``: whether this configuration is ready to send real mail."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mailer.checks.model import CheckOptions, Status
from mailer.cli._state import JsonOption, console, print_json, state

__all__ = ["check", "register"]

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red"}


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    ctx: typer.Context,
    nameserver: Annotated[
        str | None,
        typer.Option(help="Ask this DNS server (IP, or IP:PORT) instead of the system's."),
    ] = None,
    dns_timeout: Annotated[
        float, typer.Option(min=0.1, max=60, help="Seconds a DNS lookup may take.")
    ] = 3.0,
    timeout: Annotated[
        float,
        typer.Option(min=0.1, max=120, help="Seconds for SMTP, SendGrid and the web app."),
    ] = 10.0,
    json_output: JsonOption = False,
) -> None:
    """Tell whether the settings can send real mail: settings, database, Redis (when
    redis_url is set), the SMTP server or SendGrid account, DKIM, SPF and DMARC, and the
    web app behind base_url.
    Exits 1 when a check FAILs. Sends and changes nothing."""
    from mailer.checks.runner import run_checks  # its libraries load only when asked

    settings = state(ctx).settings
    options = CheckOptions(nameserver=nameserver, dns_timeout=dns_timeout, timeout=timeout)
    checks = run_checks(settings, options)
    failed = [c for c in checks if c.status is Status.FAIL]
    if json_output:
        print_json(
            {
                "ready": not failed and settings.sends_real_mail,
                "backend": settings.backend,
                "checks": [c.as_dict() for c in checks],
            }
        )
    else:
        for item in checks:
            style = _STYLE[item.status]
            head = f"[{style}]{item.status.value:<4}[/{style}]"
            console.print(f"{head} {escape(item.line()[5:])}", markup=True)
        if failed:
            console.print(f"not ready: {len(failed)} of {len(checks)} checks FAIL")
        elif settings.sends_real_mail:
            console.print(f"ready to send real mail through {settings.backend}")
        else:
            console.print(f"backend {settings.backend}: nothing is sent, nothing FAILs")
    if failed:
        raise typer.Exit(1)
