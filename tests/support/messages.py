"""A content, recipients and batches as the campaign hands them to a backend, with
the substitutions and list headers real ones carry."""

from __future__ import annotations

from typing import Any

from mailer.delivery.headers import list_headers
from mailer.delivery.message import Batch, Content, Recipient

HTML = (
    "<!doctype html><html><body>"
    "<p>Hello %%first_name%%,</p>"
    "<p>Caf\u00e9 news: the week in review \u2615.</p>"
    '<p><a href="https://news.example.org/a/1?utm_source=x&amp;id=%%sub_id%%">Read</a></p>'
    "</body></html>"
)
TEXT = "Hello %%first_name%%,\n\nCaf\u00e9 news: the week in review.\nRead: https://news.example.org/a/1\n"


def make_content(**changes: Any) -> Content:
    values: dict[str, Any] = {
        "subject": "The week, %%first_name%%",
        "html": HTML,
        "text": TEXT,
        "from_address": "news@example.org",
        "from_name": "The Example Times",
        "reply_to": "editor@example.org",
        "headers": {"List-Id": "<weekly.news.example.org>", "Precedence": "bulk"},
        "campaign": "c-2024-01",
    }
    values.update(changes)
    return Content(**values)


def make_recipient(number: int, **changes: Any) -> Recipient:
    values: dict[str, Any] = {
        "delivery_id": f"d{number}",
        "email": f"reader{number}@example.com",
        "name": f"Reader {number}",
        "substitutions": {"%%first_name%%": f"Reader{number}", "%%sub_id%%": str(number)},
        "headers": list_headers(
            "weekly.news.example.org",
            f"https://news.example.org/u/token{number}",
            "unsubscribe@news.example.org",
        ),
    }
    values.update(changes)
    return Recipient(**values)


def make_batch(count: int = 3, **content_changes: Any) -> Batch:
    return Batch(make_content(**content_changes), [make_recipient(n) for n in range(count)])
