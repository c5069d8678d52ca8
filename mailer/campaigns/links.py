"""The per-recipient links and list headers of a campaign's messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace

from mailer.delivery.headers import list_headers
from mailer.rendering import RenderedEmail
from mailer.rendering.expressions import html_escape
from mailer.rendering.substitution import token
from mailer.settings import Settings
from mailer.tokens import Signer, TokenData

__all__ = ["LINK_TOKEN", "CampaignLinks", "list_id", "preferences_url"]

#: Where a recipient's link token goes in the unsubscribe and settings links.
LINK_TOKEN = token("link")


def list_id(list_name: str, sender: str) -> str:
    """An RFC 2919 list id: the list's name as a DNS label under the sender's domain."""
    ascii_name = unicodedata.normalize("NFKD", list_name).encode("ascii", "ignore").decode()
    label = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "list"
    return f"{label}.{sender.rpartition('@')[2].lower()}"


def preferences_url(settings: Settings, subscriber_id: int, list_number: int) -> str:
    """A subscriber's settings page: never expires, bound to subscriber and list."""
    token = Signer(settings.secret_key.get_secret_value()).sign(
        TokenData("preferences", subscriber_id, list_number)
    )
    return f"{settings.base_url}/preferences/{token}"


class CampaignLinks:
    """Unsubscribe and preference links, and the list headers, for every recipient of
    one campaign. What is the same for all of them (the key, each list's List-Id, the
    checks of the base URL) is done once: a million recipients make two million tokens."""

    def __init__(self, settings: Settings, campaign_id: int, sender: str, lists: Mapping[int, str]):
        self.base_url = settings.base_url
        # Mail that stays here (outbox, memory) may link to a local http:// web app.
        https_only = settings.sends_real_mail
        self.campaign_id = campaign_id
        self.sender = sender
        self._signer = Signer(settings.secret_key.get_secret_value())
        self._unsubscribe = f"{self.base_url}/unsubscribe/"
        self._preferences = f"{self.base_url}/preferences/"
        self._list_ids: dict[int, str] = {}
        for number, name in lists.items():
            # Built once with a real link, so that every check list_headers makes of the
            # URL, the sender and the name holds for all recipients of the list.
            sample = self.link_token(0, number)
            headers = list_headers(
                list_id(name, sender),
                self._unsubscribe + sample,
                self._mailto(sample),
                list_name=name,
                https_only=https_only,
            )
            self._list_ids[number] = headers["List-Id"]

    def link_token(self, subscriber_id: int, list_number: int) -> str:
        """The token of a recipient's unsubscribe link and settings link: one for both,
        as the settings page takes an unsubscribe token (either page lets its holder
        leave the list). It never expires, as the law wants an opt-out to keep working."""
        return self._signer.sign(
            TokenData("unsubscribe", subscriber_id, list_number, extra=str(self.campaign_id))
        )

    def tracking_token(self, subscriber_id: int, list_number: int, delivery_id: int) -> str:
        """What opens and clicks of one message are counted by: a token apart from the
        link token, as tracked links get copied and shared."""
        return self._signer.sign(
            TokenData(
                "click", subscriber_id, list_number, extra=f"{self.campaign_id}.{delivery_id}"
            )
        )

    def with_links(self, rendered: RenderedEmail) -> RenderedEmail:
        """``rendered`` with the web app's address in force written in (the masthead,
        view-in-browser and tracked links), and its unsubscribe and settings links
        written out but for the recipient's :data:`LINK_TOKEN`: each recipient then has
        one value to fill where four whole URLs were (raw and HTML-escaped, of both)."""
        urls = {
            "unsubscribe_url": self._unsubscribe + LINK_TOKEN,
            "preferences_url": self._preferences + LINK_TOKEN,
        }
        replacements = {}
        for name, url in urls.items():
            replacements[token(name)] = url
            # Tokens are URL-safe, so only the base URL can need escaping.
            replacements[token(f"{name}.h")] = html_escape(url)

        def write_out(text: str) -> str:
            for placeholder, url in replacements.items():
                text = text.replace(placeholder, url)
            return text

        return replace(
            rendered,
            subject=write_out(rendered.subject),
            html=write_out(rendered.html),
            text=write_out(rendered.text),
        ).with_base_url(self.base_url)

    def _mailto(self, link_token: str) -> str:
        # A mail to the sender whose subject carries the token; tokens are URL-safe.
        return f"mailto:{self.sender}?subject=unsubscribe%20{link_token}"

    def headers(self, list_number: int, link_token: str) -> dict[str, str]:
        """A recipient's list headers (RFC 2369, RFC 2919, RFC 8058), by their link token."""
        return {
            "List-Id": self._list_ids[list_number],
            "List-Unsubscribe": f"<{self._unsubscribe}{link_token}>, <{self._mailto(link_token)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
