"""Whether the settings can send real mail: the rules checked before a campaign is
created, scheduled, tested or sent on a backend that delivers (smtp, sendgrid), and that
``mailer check`` reports.

The outbox and memory backends send nothing, so ``mailer init``'s settings (a local
``http://`` base URL, no postal address, a sender at example.org) work with them; the
same settings on smtp or sendgrid would fail at send time (the one-click unsubscribe
link must be https://), break the law (CAN-SPAM wants a postal address) or be refused by
every receiver (example.org is reserved for examples, RFC 2606). Each rule says which key
to set and where, so that the user fixes it before anything is stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from mailer.addresses import parse_mailbox
from mailer.exceptions import InvalidMessage, NotReady
from mailer.settings import ENV_PREFIX, Settings

__all__ = [
    "PLACEHOLDER_DOMAINS",
    "Problem",
    "placeholder_domain",
    "readiness_problems",
    "require_ready",
    "where_to_set",
]

#: RFC 2606's domains for examples, and every domain under them.
PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net")


@dataclass(frozen=True)
class Problem:
    """One thing that stops real mail: the setting, what is wrong, how to fix it."""

    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}; {self.fix}"


def where_to_set(settings: Settings, key: str) -> str:
    """Where the user sets ``key``: the variable that overrides the file when it is set,
    else the file (or the variable)."""
    env = f"{ENV_PREFIX}{key.upper()}"
    if env in os.environ:
        return f"in the environment variable {env} (it overrides mailer.toml)"
    config = settings.config_file or "mailer.toml"
    return f"in {config} (or as {env})"


def placeholder_domain(address: str) -> str | None:
    """The RFC 2606 domain ``address`` (or a bare domain) is at (example.org,
    news.example.com), or None."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    for reserved in PLACEHOLDER_DOMAINS:
        if domain == reserved or domain.endswith(f".{reserved}"):
            return domain
    return None


def readiness_problems(
    settings: Settings, sender: str | None = None, *, campaign_id: int | None = None
) -> list[Problem]:
    """What stops these settings from sending real mail, whatever the backend (the
    caller decides whether the backend sends any). ``sender`` is the address a campaign
    sends from, when it is not ``from_address`` (``--from``, or the one stored with
    campaign ``campaign_id``)."""
    problems = []
    if not settings.base_url.startswith("https://"):
        problems.append(
            Problem(
                "base_url",
                f"is {settings.base_url}, but real mail's one-click unsubscribe link "
                "(RFC 8058, which Gmail and Yahoo require) must be https://",
                "set base_url to the web app's public https:// address "
                + where_to_set(settings, "base_url"),
            )
        )
    if not settings.postal_address.strip():
        problems.append(
            Problem(
                "postal_address",
                "is empty, but the law (CAN-SPAM) wants the sender's postal address in "
                "every mailing",
                "set postal_address to your postal address "
                + where_to_set(settings, "postal_address"),
            )
        )
    problems.extend(_sender_problems(settings, sender, campaign_id))
    for name, cta in settings.cta.items():
        domain = placeholder_domain(urlsplit(cta.url).hostname or "")
        if domain is not None:
            problems.append(
                Problem(
                    f"cta.{name}.url",
                    f"is {cta.url}, at {domain}, a domain reserved for examples (RFC 2606), "
                    "where readers' gifts would go nowhere",
                    f"set url in [cta.{name}] of {settings.config_file or 'mailer.toml'} to "
                    "your own page",
                )
            )
    return problems


def _sender_problems(
    settings: Settings, sender: str | None, campaign_id: int | None
) -> list[Problem]:
    fix = "set from_address to an address at your own domain " + where_to_set(
        settings, "from_address"
    )
    if sender is None:
        if not settings.from_address:
            return [Problem("from_address", "is empty: real mail needs a sender", fix)]
        try:
            sender = parse_mailbox(settings.from_address).address
        except InvalidMessage as err:  # validated on loading; kept for a hand-made Settings
            return [Problem("from_address", str(err), fix)]
    domain = placeholder_domain(sender)
    if domain is None:
        return []
    whose = "is" if campaign_id is None else f"campaign {campaign_id} sends from"
    if campaign_id is not None:
        # The sender is stored with the campaign: a new setting needs a new campaign.
        fix += " and create the campaign again (its sender is stored with it)"
    elif sender != _settings_address(settings):
        fix = "pass --from with an address at your own domain, or " + fix
    return [
        Problem(
            "from_address",
            f"{whose} {sender}, at {domain}, a domain reserved for examples (RFC 2606) "
            "whose mail receivers refuse",
            fix,
        )
    ]


def _settings_address(settings: Settings) -> str:
    try:
        return parse_mailbox(settings.from_address).address
    except InvalidMessage:
        return ""


def require_ready(
    settings: Settings, sender: str | None = None, *, campaign_id: int | None = None
) -> None:
    """Raise NotReady, naming the first problem and its fix, if the backend sends real
    mail and the settings cannot; the outbox and memory backends pass."""
    if not settings.sends_real_mail:
        return
    problems = readiness_problems(settings, sender, campaign_id=campaign_id)
    if problems:
        raise NotReady(problems)
