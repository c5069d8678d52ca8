"""Open and click tracking in a campaign's HTML.

Each ``http(s)`` link of the HTML part becomes ``%%base_url%%/c/%%track%%/<n>``, where
``n`` is the link's number in the campaign's ``links`` (the web app redirects only to
those) and ``%%track%%`` each recipient's signed token; a 1×1 image
``%%base_url%%/o/%%track%%.gif`` before ``</body>`` counts opens. The campaign keeps the
untracked HTML (the archive shows it); the tracked one is made from it when its messages
are, numbered by the links kept at ``create``, and only then gets the ``base_url`` in
force (:data:`~mailer.rendering.rendered.BASE_URL`). Links to the web app itself (the
masthead) are kept relative (``/?utm_source=…``) and lead to the ``base_url`` of the
moment they are clicked. The links to unsubscribe, to the preferences and to the archive
copy are left alone, and so is the text part: a reader of plain text sees where a link
goes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from mailer.rendering.rendered import BASE_URL
from mailer.rendering.substitution import token

__all__ = ["TRACK", "add_tracking", "link_target"]

TRACK = token("track")
_LINK = re.compile(r"""(<a\b[^>]*?\shref=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
# The web app's own pages a message links to by the reader's own token, or for nobody.
_UNTRACKED = ("/unsubscribe/", "/preferences/", "/archive/")


def add_tracking(source: str, links: Sequence[str] | None = None) -> tuple[str, list[str]]:
    """The HTML with tracked links and the open pixel, and the tracked links by number.

    Without ``links`` each link gets the next number. With them (the campaign's, kept when
    it was created) each link gets its number there, and a link they lack stays as it is:
    a tracked link whose number the redirects do not know would lead nowhere.
    """
    table: list[str] = list(links) if links is not None else []
    numbers = {url: n for n, url in reversed(list(enumerate(table)))}

    def rewrite(match: re.Match[str]) -> str:
        url = _tracked_form(html.unescape(match.group(3)).strip())
        if url is None:
            return match.group(0)
        number = numbers.get(url)
        if number is None:
            if links is not None:
                return match.group(0)
            number = numbers[url] = len(table)
            table.append(url)
        return f'{match.group(1)}"{BASE_URL}/c/{TRACK}/{number}"'

    tracked = _LINK.sub(rewrite, source)
    pixel = (
        f'<img src="{BASE_URL}/o/{TRACK}.gif" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    at = tracked.lower().rfind("</body>")
    tracked = tracked[:at] + pixel + tracked[at:] if at >= 0 else tracked + pixel
    return tracked, table


def _tracked_form(url: str) -> str | None:
    """How the links table holds ``url``: an address elsewhere as it is, one of the web
    app's as its path (``/``…); None for a link that is not tracked."""
    if url.startswith(BASE_URL):
        path = url.removeprefix(BASE_URL)
        if not path.startswith("/") or path.startswith(_UNTRACKED) or "%%" in path:
            return None
        return path
    if not url.startswith(("http://", "https://")) or "%%" in url:
        return None
    return url


def link_target(link: str, base_url: str) -> str:
    """Where a link of the table leads now: one of the web app's (``/``…) to the
    ``base_url`` in force, any other where it says."""
    return base_url + link if link.startswith("/") else link
