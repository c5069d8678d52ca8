"""The per-recipient links and list headers of a campaign's messages."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from mailer.config import Settings
from mailer.tokens import TokenData, sign

__all__ = ["list_id", "preferences_url", "unsubscribe_mailto", "unsubscribe_url"]


def unsubscribe_url(settings: Settings, subscriber_id: int, list_id_: int, campaign_id: int) -> str:
    """The one-click unsubscribe link (RFC 8058): it never expires, as the law wants an
    opt-out to keep working."""
    token = sign(
        settings.secret_key.get_secret_value(),
        TokenData("unsubscribe", subscriber_id, list_id_, extra=str(campaign_id)),
    )
    return f"{settings.base_url}/unsubscribe/{token}"


def preferences_url(settings: Settings, subscriber_id: int, list_id_: int) -> str:
    token = sign(
        settings.secret_key.get_secret_value(), TokenData("preferences", subscriber_id, list_id_)
    )
    return f"{settings.base_url}/preferences/{token}"


def unsubscribe_mailto(sender: str, unsubscribe: str) -> str:
    """The mailto: form of List-Unsubscribe: a mail to the sender whose subject carries the
    unsubscribe link's token."""
    token = unsubscribe.rsplit("/", 1)[-1]
    return f"mailto:{sender}?subject={quote('unsubscribe ' + token)}"


def list_id(list_name: str, sender: str) -> str:
    """An RFC 2919 list id: the list's name as a DNS label under the sender's domain."""
    ascii_name = unicodedata.normalize("NFKD", list_name).encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "list"
    return f"{label}.{sender.rpartition('@')[2].lower()}"
