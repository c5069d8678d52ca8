"""Signing in and out, sessions that end, and the limits on guessing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from mailer.accounts.sign_in import WRONG
from mailer.settings import Settings
from mailer.storage import Database, Role
from mailer.web.app import create_app
from tests.support.admin import ADMIN, PASSWORD, add_account, csrf, shown, sign_in
from tests.support.clock import Clock
from tests.support.web import BASE

pytestmark = pytest.mark.anyio


async def test_a_page_without_a_sign_in_leads_to_the_sign_in_page_and_back(
    client: httpx.AsyncClient, accounts: None
) -> None:
    answer = await client.get("/admin/audit?actor=cli")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?next=/admin/audit%3Factor%3Dcli"
    signed = await sign_in(client, ADMIN, next_path="/admin/audit?actor=cli")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/audit?actor=cli"
    page = await client.get("/admin/audit?actor=cli")
    assert page.status_code == 200
    assert "Audit log" in page.text


async def test_the_cookie_is_httponly_secure_and_lax(
    client: httpx.AsyncClient, accounts: None
) -> None:
    answer = await sign_in(client, ADMIN)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("mailer_admin=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/admin"):
        assert attribute.lower() in cookie.lower()


@pytest.mark.parametrize("email", [ADMIN, "nobody@example.org", "not an address"])
async def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(
    client: httpx.AsyncClient, accounts: None, email: str
) -> None:
    answer = await sign_in(client, email, "wrong password!")
    assert answer.status_code == 401
    assert WRONG in answer.text
    assert "mailer_admin=" not in answer.headers.get("set-cookie", "")


async def test_the_sign_in_form_is_refused_without_its_token_or_from_another_site(
    client: httpx.AsyncClient, accounts: None
) -> None:
    bare = await client.post("/admin/login", data={"email": ADMIN, "password": PASSWORD})
    assert bare.status_code == 403
    page = await client.get("/admin/login")
    token = page.text.split('name="form_token" value="')[1].split('"')[0]
    foreign = await client.post(
        "/admin/login",
        data={"email": ADMIN, "password": PASSWORD, "form_token": token},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert foreign.status_code == 403


async def test_failed_sign_ins_are_limited_per_account_whether_it_exists_or_not(
    client: httpx.AsyncClient, accounts: None, clock: Clock
) -> None:
    for email in (ADMIN, "nobody@example.org"):
        for _ in range(10):
            assert (await sign_in(client, email, "wrong password!")).status_code == 401
        limited = await sign_in(client, email, PASSWORD)
        assert limited.status_code == 429
        assert "Too many failed sign-ins" in limited.text
        assert 0 < int(limited.headers["retry-after"]) <= 15 * 60 + 1
    clock.now += timedelta(minutes=16)
    assert (await sign_in(client, ADMIN)).status_code == 303


async def test_one_address_may_fail_three_times_the_account_limit(
    client: httpx.AsyncClient, accounts: None
) -> None:
    for number in range(30):
        await sign_in(client, f"guess{number}@example.org", "wrong password!")
    assert (await sign_in(client, ADMIN)).status_code == 429


async def test_a_session_ends_when_idle_and_after_its_hours(
    client: httpx.AsyncClient, accounts: None, clock: Clock
) -> None:
    await sign_in(client, ADMIN)
    clock.now += timedelta(minutes=59)
    assert (await client.get("/admin")).status_code == 200
    clock.now += timedelta(minutes=61)
    assert (await client.get("/admin")).status_code == 303
    await sign_in(client, ADMIN)
    for _ in range(14):  # a request every 55 minutes, for 12 h 50 min
        clock.now += timedelta(minutes=55)
        answer = await client.get("/admin")
    assert answer.status_code == 303, "twelve hours after signing in, however busy"


async def test_signing_out_ends_the_session(as_admin: httpx.AsyncClient) -> None:
    page = await as_admin.get("/admin")
    cookie = as_admin.cookies["mailer_admin"]
    out = await as_admin.post("/admin/logout", data={"csrf": csrf(page.text)})
    assert out.status_code == 303
    assert "signed out" in shown((await as_admin.get("/admin/login")).text)
    as_admin.cookies.set("mailer_admin", cookie, domain="news.example.org", path="/admin")
    assert (await as_admin.get("/admin")).status_code == 303


async def test_an_account_removed_or_given_a_new_password_is_signed_out(
    app: FastAPI, db: Database, clock: Clock, as_admin: httpx.AsyncClient
) -> None:
    from mailer.accounts.users import remove_user, set_password

    add_account(db, "temp@example.org", Role.EDITOR, clock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as other:
        await sign_in(other, "temp@example.org")
        assert (await other.get("/admin")).status_code == 200
        with db.session() as session:
            set_password(session, "temp@example.org", "another long password", now=clock())
        assert (await other.get("/admin")).status_code == 303
        await sign_in(other, "temp@example.org", "another long password")
        with db.session() as session:
            remove_user(session, "temp@example.org")
        assert (await other.get("/admin")).status_code == 303


async def test_a_next_address_elsewhere_is_not_followed(
    client: httpx.AsyncClient, accounts: None
) -> None:
    for target in ("https://evil.example/", "//evil.example/admin", "/elsewhere", "/admin\\@evil"):
        answer = await sign_in(client, ADMIN, next_path=target)
        assert answer.headers["location"] == "/admin"


async def test_the_publishers_own_admin_templates_come_first(
    settings: Settings, db: Database, client: httpx.AsyncClient
) -> None:
    own = settings.base_dir / "templates" / "admin"
    own.mkdir(parents=True)
    (own / "login.html").write_text(
        '{% extends "base.html" %}{% block content %}<p>Our own sign-in page</p>{% endblock %}',
        encoding="utf-8",
    )
    app = create_app(settings, db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as other:
        page = await other.get("/admin/login")
    assert "Our own sign-in page" in shown(page.text)
    assert (
        (await client.get("/admin/static/admin.css")).headers["content-type"].startswith("text/css")
    )
    assert (await client.get("/admin/static/../mailer.toml")).status_code == 404
