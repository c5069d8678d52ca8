"""Open and click tracking in a campaign's HTML.

Each ``http(s)`` link of the HTML part becomes ``{base_url}/c/%%track%%/<n>``, where
``n`` is the link's number in the campaign's ``links`` (the web app redirects only to
those) and ``%%track%%`` each recipient's signed token; a 1×1 image
``{base_url}/o/%%track%%.gif`` before ``</body>`` counts opens. The campaign keeps the
untracked HTML (the archive shows it); the tracked one is made when its messages are.
The links to unsubscribe, to the preferences and to the archive copy are left alone,
and so is the text part: a reader of plain text sees where a link goes.
"""

from __future__ import annotations

import html
import re

from mailer.rendering.substitution import token

__all__ = ["TRACK", "add_tracking"]

TRACK = token("track")
_LINK = re.compile(r"""(<a\b[^>]*?\shref=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def add_tracking(source: str, base_url: str) -> tuple[str, list[str]]:
    """The HTML with tracked links and the open pixel, and the tracked URLs by number."""
    links: list[str] = []
    numbers: dict[str, int] = {}
    untracked = (f"{base_url}/unsubscribe/", f"{base_url}/preferences/", f"{base_url}/archive/")

    def rewrite(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if not url.startswith(("http://", "https://")) or "%%" in url:
            return match.group(0)
        if url.startswith(untracked):
            return match.group(0)
        number = numbers.setdefault(url, len(links))
        if number == len(links):
            links.append(url)
        return f'{match.group(1)}"{base_url}/c/{TRACK}/{number}"'

    tracked = _LINK.sub(rewrite, source)
    pixel = (
        f'<img src="{base_url}/o/{TRACK}.gif" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    at = tracked.lower().rfind("</body>")
    tracked = tracked[:at] + pixel + tracked[at:] if at >= 0 else tracked + pixel
    return tracked, links
