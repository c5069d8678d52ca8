"""What holds for every admin route, those added later included: no page without a
sign-in, no change without the form's token, and the role each action needs."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from mailer.web.admin.routes import PREFIX, ROUTERS
from tests.support.admin import shown

pytestmark = pytest.mark.anyio

#: Routes that need no sign-in: the sign-in page itself and the styles it loads.
OPEN = {"/admin/login", "/admin/static/{name}"}


def admin_routes(app: FastAPI, method: str) -> list[str]:
    paths = [
        PREFIX + route.path
        for section in ROUTERS
        for route in section.routes
        if isinstance(route, APIRoute)
        and method in route.methods
        and PREFIX + route.path not in OPEN
    ]
    assert paths
    # A path parameter gets a value that would exist: "1" for ids, a name for names.
    return sorted({re.sub(r"\{[^}]*\}", "1", path) for path in paths})


async def test_every_admin_page_without_a_sign_in_leads_to_the_sign_in_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for path in admin_routes(app, "GET"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/admin/login?next="), path


async def test_every_admin_post_without_a_sign_in_leads_to_the_sign_in_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for path in admin_routes(app, "POST"):
        answer = await client.post(path, data={"csrf": "x"})
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/admin/login?next=/admin", path


async def test_every_admin_post_without_its_token_is_refused(
    app: FastAPI, as_admin: httpx.AsyncClient
) -> None:
    for path in admin_routes(app, "POST"):
        for data in ({}, {"csrf": "forged"}, {"csrf": "forgé"}):
            answer = await as_admin.post(path, data=data)
            assert answer.status_code == 403, path
            assert "This form cannot be sent" in shown(answer.text), path


async def test_a_post_from_another_site_is_refused_even_with_the_token(
    as_admin: httpx.AsyncClient,
) -> None:
    page = await as_admin.get("/admin/account")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = await as_admin.post(
        "/admin/logout", data={"csrf": token}, headers={"origin": "https://evil.example"}
    )
    assert answer.status_code == 403


async def test_a_viewer_is_refused_account_management_with_the_role_it_needs(
    as_viewer: httpx.AsyncClient,
) -> None:
    answer = await as_viewer.get("/admin/users")
    assert answer.status_code == 403
    assert "Managing accounts needs an admin's role" in shown(answer.text)


async def test_admin_pages_have_the_admin_policy_and_no_inline_code(
    app: FastAPI, as_admin: httpx.AsyncClient
) -> None:
    for path in ("/admin", "/admin/audit", "/admin/users", "/admin/account"):
        answer = await as_admin.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert "<script>" not in answer.text and " style=" not in answer.text


async def test_a_notice_cookie_that_is_not_ascii_is_ignored_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    # A cookie's bytes are read as Latin-1: "é" is a str hmac.compare_digest refuses.
    cookie = "mailer_admin_notice=SGk.sign\xe9".encode("latin-1")
    answer = await client.get("/admin/login", headers={"cookie": cookie})
    assert answer.status_code == 200
