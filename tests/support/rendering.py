"""What the rendering tests share: a context to render templates with, calls-to-action
of every kind, and HTML parsed for looking into."""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

CTAS = """
[cta.donate]
heading = "Keep local news free for everyone"
text = "Stories like this one take months. They are paid for by readers, not advertisers."
button_label = "Give to the newsroom"
url = "https://news.example.org/donate?src=email#form"
amounts = [5, 10, 25.5]
gifts = ["$5 pays for an hour of fact-checking", "$25 pays for a day in court"]
placement = 3
button_color = "#b3261e"

[cta.share]
heading = "Know someone who would like this?"
button_label = "Forward it"
url = "https://news.example.org/share"
placement = "top"
button_color = "#f0e442"
"""

SAMPLE = {
    "subscriber": {"email": "ann@example.org", "name": "Ann Lee", "attributes": {"country": "DE"}},
    "unsubscribe_url": "https://news.example.org/u/abc?x=1&y=2",
    "preferences_url": "https://news.example.org/p/abc",
}


def parse(html: str) -> HtmlElement:
    return lxml.html.document_fromstring(html)
