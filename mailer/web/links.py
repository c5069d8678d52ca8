"""Links the pages hand out: a subscriber's settings page, signed like the one in every
email (purpose ``preferences``, bound to subscriber and list, never expiring)."""

from __future__ import annotations

from mailer.config import Settings
from mailer.tokens import TokenData, sign

__all__ = ["preferences_url"]


def preferences_url(settings: Settings, subscriber_id: int, list_id: int) -> str:
    token = sign(
        settings.secret_key.get_secret_value(), TokenData("preferences", subscriber_id, list_id)
    )
    return f"{settings.base_url}/preferences/{token}"
