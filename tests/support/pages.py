"""Reading the web app's pages and mails as a reader would: the text shown, a form's
token, the link a mail carries."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage

from tests.support.web import BASE


def shown(page: str) -> str:
    """What a reader sees of a page's body: its text without tags, entities decoded,
    spaces collapsed."""
    body = page.split("<main>", 1)[-1]
    inline = re.sub(r"</?(?:a|strong|em|span)\b[^>]*>", "", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no form token"
    return found.group(1)


def mail_link(message: EmailMessage, path: str) -> str:
    """The first link to ``path`` in a mail's text part, relative to the site."""
    part = message.get_body(("plain",))
    assert part is not None
    found = re.search(re.escape(BASE + path) + r"\S+", part.get_content())
    assert found is not None, f"no {path} link in the mail"
    return found.group(0).removeprefix(BASE)
