"""The admin as its users meet it: accounts made as ``mailer users add`` makes them, a
browser-like client signed in through the sign-in form, and what a page shows."""

from __future__ import annotations

import html
import re
from datetime import datetime

import httpx

from mailer.accounts.users import add_user
from mailer.storage import Database, Role

PASSWORD = "correct horse battery"
#: The accounts of tests/web/admin/conftest.py.
ADMIN = "ana@example.org"
EDITOR = "eli@example.org"
VIEWER = "vic@example.org"


def add_account(
    db: Database, email: str, role: Role, now: datetime, password: str = PASSWORD
) -> None:
    with db.session() as session:
        add_user(session, email, role, password, now=now)


def hidden(page: str, name: str) -> str:
    """The value of the first hidden field ``name`` of a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"the page has no field {name!r}"
    return html.unescape(found.group(1))


def csrf(page: str) -> str:
    return hidden(page, "csrf")


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, next_path: str = "/admin"
) -> httpx.Response:
    """Fills and sends the sign-in form, as a person would."""
    page = await client.get("/admin/login", params={"next": next_path})
    assert page.status_code == 200
    return await client.post(
        "/admin/login",
        data={
            "email": email,
            "password": password,
            "next": hidden(page.text, "next"),
            "form_token": hidden(page.text, "form_token"),
        },
    )


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, **fields: str
) -> httpx.Response:
    """Posts a form of the page at ``page_path`` (with that page's CSRF token)."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf": csrf(page.text), **fields})


def shown(page: str) -> str:
    """The text of a page's main part, tags removed, spaces collapsed."""
    body = page.split('<main id="main"', 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
