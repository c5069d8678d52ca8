"""UTM parameters on the links of a mailing, so that web analytics can tell its visits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mailer.rendering.substitution import TOKEN_PATTERN

__all__ = ["Utm", "slugify"]


def slugify(text: str) -> str:
    """``"The Example Times!"`` → ``"the-example-times"`` (ASCII, for URLs)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True)
class Utm:
    source: str
    medium: str
    campaign: str

    def tag(self, url: str, content: str = "") -> str:
        """``url`` with ``utm_source``, ``utm_medium``, ``utm_campaign`` (and
        ``utm_content`` when given) added to its query, the existing query and fragment
        kept. Links that are not http(s) (``mailto:``, ``tel:``, in-page anchors), links
        that already carry UTM parameters, and per-recipient tokens are left alone."""
        if not url.startswith(("http://", "https://")) or TOKEN_PATTERN.search(url):
            return url
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(key.startswith("utm_") for key, _ in query):
            return url
        added = [
            ("utm_source", self.source),
            ("utm_medium", self.medium),
            ("utm_campaign", self.campaign),
        ]
        if content:
            added.append(("utm_content", content))
        extra = urlencode([(k, v) for k, v in added if v])
        new_query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(path=parts.path or "/", query=new_query))
