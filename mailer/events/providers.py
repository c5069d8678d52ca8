"""The providers whose webhooks we serve: one small interface, and the registry the web
app builds from the settings.

A provider is one module of ``mailer/events/`` with a class that has this shape (see
:mod:`mailer.events.sendgrid`) and a ``from_settings`` that makes it, or says it is off;
adding one is that module and its line in :data:`PROVIDERS`. The web app's one route
``POST /webhooks/{provider}`` serves every provider that is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from mailer.events import sendgrid
from mailer.events.model import ProviderEvent, TurnedOff
from mailer.exceptions import WebhookRefused, quoted
from mailer.settings import Settings
from mailer.storage.events import EventKind
from mailer.storage.models import SuppressionReason

__all__ = ["PROVIDERS", "Provider", "ProviderRegistry", "build_registry"]


class Provider(Protocol):
    """One provider's webhook. Its data are read-only (a class attribute serves)."""

    @property
    def name(self) -> str:
        """In the URL (``/webhooks/{name}``) and in every event it records."""

    @property
    def title(self) -> str:
        """For people: in the log."""

    @property
    def kinds(self) -> Mapping[str, EventKind]:
        """Its event names and our kinds; a name it lacks is UNKNOWN (:func:`.model.kind_of`)."""

    @property
    def drop_reasons(self) -> Mapping[str, SuppressionReason]:
        """Its reasons (in lower case) for dropping mail to an address on its own lists, and
        our suppressions for them."""

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Raise WebhookRefused unless the request is the provider's, and recent.
        ``headers`` is the request's, read without regard to case."""

    def parse(self, body: bytes, now: datetime) -> list[ProviderEvent]:
        """The events of a verified body, in our terms; WebhookRefused if malformed."""


#: The providers we know, each made from the settings: on, or off with a hint.
PROVIDERS: tuple[Callable[[Settings], Provider | TurnedOff], ...] = (sendgrid.from_settings,)


class ProviderRegistry:
    """The providers that are on, by name, and the ones we know that are off."""

    def __init__(self) -> None:
        self._on: dict[str, Provider] = {}
        self._off: dict[str, TurnedOff] = {}

    def register(self, provider: Provider | TurnedOff) -> None:
        """Add a provider (or note one that is off); a name serves one provider only."""
        if provider.name in self._on or provider.name in self._off:
            raise ValueError(f"a webhook provider named {provider.name!r} is registered already")
        if isinstance(provider, TurnedOff):
            self._off[provider.name] = provider
        else:
            self._on[provider.name] = provider

    @property
    def names(self) -> list[str]:
        """The names of the providers that are on."""
        return sorted(self._on)

    def get(self, name: str) -> Provider:
        """The provider ``name``; WebhookRefused (404 unknown, 403 off) if it is not on."""
        if name in self._on:
            return self._on[name]
        if name in self._off:
            raise WebhookRefused(403, self._off[name].hint)
        known = ", ".join(sorted([*self._on, *self._off])) or "none"
        raise WebhookRefused(404, f"no webhook provider {quoted(name)} (the providers: {known})")


def build_registry(settings: Settings) -> ProviderRegistry:
    """Every provider of :data:`PROVIDERS`, on or off as ``settings`` say."""
    registry = ProviderRegistry()
    for make in PROVIDERS:
        registry.register(make(settings))
    return registry
