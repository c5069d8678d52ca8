"""The per-recipient links and list headers of a campaign's messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from mailer.config import Settings
from mailer.delivery.headers import list_headers
from mailer.tokens import Signer, TokenData

__all__ = ["CampaignLinks", "list_id", "preferences_url"]


def list_id(list_name: str, sender: str) -> str:
    """An RFC 2919 list id: the list's name as a DNS label under the sender's domain."""
    ascii_name = unicodedata.normalize("NFKD", list_name).encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "list"
    return f"{label}.{sender.rpartition('@')[2].lower()}"


def preferences_url(
    settings: Settings, subscriber_id: int, list_number: int, signer: Signer | None = None
) -> str:
    """A subscriber's settings page: never expires, bound to subscriber and list."""
    signer = signer or Signer(settings.secret_key.get_secret_value())
    token = signer.sign(TokenData("preferences", subscriber_id, list_number))
    return f"{settings.base_url}/preferences/{token}"


class CampaignLinks:
    """Unsubscribe and preference links, and the list headers, for every recipient of
    one campaign. What is the same for all of them (the key, each list's List-Id, the
    checks of the base URL) is done once: a million recipients make two million links."""

    def __init__(self, settings: Settings, campaign_id: int, sender: str, lists: Mapping[int, str]):
        self.settings = settings
        self.base_url = settings.base_url
        self.campaign_id = campaign_id
        self.sender = sender
        self._signer = Signer(settings.secret_key.get_secret_value())
        self._list_ids: dict[int, str] = {}
        for number, name in lists.items():
            # Built once with a real link, so that every check list_headers makes of the
            # URL, the sender and the name holds for all recipients of the list.
            sample = self.unsubscribe_url(0, number)
            headers = list_headers(
                list_id(name, sender), sample, self._mailto(sample), list_name=name
            )
            self._list_ids[number] = headers["List-Id"]

    def unsubscribe_url(self, subscriber_id: int, list_number: int) -> str:
        """The one-click unsubscribe link (RFC 8058): it never expires, as the law wants
        an opt-out to keep working."""
        token = self._signer.sign(
            TokenData("unsubscribe", subscriber_id, list_number, extra=str(self.campaign_id))
        )
        return f"{self.base_url}/unsubscribe/{token}"

    def preferences_url(self, subscriber_id: int, list_number: int) -> str:
        return preferences_url(self.settings, subscriber_id, list_number, self._signer)

    def tracking_token(self, subscriber_id: int, list_number: int, delivery_id: int) -> str:
        """What opens and clicks of one message are counted by."""
        return self._signer.sign(
            TokenData(
                "click", subscriber_id, list_number, extra=f"{self.campaign_id}.{delivery_id}"
            )
        )

    def _mailto(self, unsubscribe: str) -> str:
        # A mail to the sender whose subject carries the token; tokens are URL-safe.
        return f"mailto:{self.sender}?subject=unsubscribe%20{unsubscribe.rsplit('/', 1)[-1]}"

    def headers(self, list_number: int, unsubscribe: str) -> dict[str, str]:
        return {
            "List-Id": self._list_ids[list_number],
            "List-Unsubscribe": f"<{unsubscribe}>, <{self._mailto(unsubscribe)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
