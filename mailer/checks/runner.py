"""All the checks, in the order a person fixes them."""

from __future__ import annotations

from mailer.checks.backend import backend_check
from mailer.checks.database import database_check
from mailer.checks.dns import dns_checks, parse_nameserver
from mailer.checks.model import Check, CheckOptions
from mailer.checks.rate_limits import redis_checks
from mailer.checks.rules import settings_checks
from mailer.checks.web import health_check
from mailer.settings import Settings

__all__ = ["run_checks"]


def run_checks(settings: Settings, options: CheckOptions | None = None) -> list[Check]:
    """Every check of ``settings``, one :class:`Check` each; changes and sends nothing.
    Raises InputError for a ``nameserver`` that is not an address."""
    options = options or CheckOptions()
    if options.nameserver:
        parse_nameserver(options.nameserver)  # a typo is the user's, before any check
    return [
        *settings_checks(settings),
        database_check(settings),
        *redis_checks(settings, options),
        backend_check(settings, options),
        *dns_checks(settings, options),
        health_check(settings, options),
    ]
