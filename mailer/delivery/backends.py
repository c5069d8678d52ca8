"""The backend the ``backend`` setting names, loaded only when it is used (so that the
outbox does not import the SendGrid client, nor SMTP the DKIM library)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from mailer.delivery.base import Backend
from mailer.exceptions import ConfigError

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["BACKENDS", "get_backend"]

#: Each ``backend`` setting and the class that implements it.
BACKENDS = {
    "outbox": "mailer.delivery.outbox:OutboxBackend",
    "smtp": "mailer.delivery.smtp:SmtpBackend",
    "sendgrid": "mailer.delivery.sendgrid:SendGridBackend",
    "memory": "mailer.delivery.memory:MemoryBackend",
}


def get_backend(settings: Settings) -> Backend:
    """A new, unopened backend as ``settings`` configure it; raises ConfigError if a
    setting it needs is missing or wrong."""
    path = BACKENDS.get(settings.backend)
    if path is None:
        known = ", ".join(BACKENDS)
        raise ConfigError(f"unknown backend {settings.backend!r} (known: {known})", key="backend")
    module, _, name = path.partition(":")
    backend_class = cast(type[Backend], getattr(importlib.import_module(module), name))
    return backend_class.from_settings(settings)
