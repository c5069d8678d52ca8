"""/admin/users, /admin/account and /admin/audit, as an admin and others use them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from mailer.accounts.audit import audit
from mailer.accounts.users import find_user
from mailer.storage import Database, Role
from tests.support.admin import ADMIN, EDITOR, PASSWORD, VIEWER, post_form, shown, sign_in
from tests.support.web import BASE

pytestmark = pytest.mark.anyio


async def test_an_admin_adds_an_account_that_can_then_sign_in(
    app: FastAPI, db: Database, as_admin: httpx.AsyncClient
) -> None:
    added = await post_form(
        as_admin,
        "/admin/users",
        "/admin/users",
        email="new@example.org",
        role="viewer",
        password="a fresh long password",
    )
    assert added.status_code == 303
    page = await as_admin.get("/admin/users")
    assert "Added new@example.org as viewer." in shown(page.text)
    assert "new@example.org" in shown(page.text)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as other:
        assert (await sign_in(other, "new@example.org", "a fresh long password")).status_code == 303
    audit = shown((await as_admin.get("/admin/audit")).text)
    assert f"{ADMIN} user.add user new@example.org role: viewer" in audit
    assert "account.sign_in" in audit


async def test_an_admin_changes_a_role_resets_a_password_and_removes_an_account(
    db: Database, as_admin: httpx.AsyncClient
) -> None:
    await post_form(as_admin, "/admin/users", "/admin/users/role", email=EDITOR, role="viewer")
    await post_form(
        as_admin,
        "/admin/users",
        "/admin/users/password",
        email=VIEWER,
        password="reset by the admin",
    )
    removed = await post_form(as_admin, "/admin/users", "/admin/users/remove", email=EDITOR)
    assert removed.status_code == 303
    with db.session() as session:
        assert find_user(session, EDITOR) is None
        viewer = find_user(session, VIEWER)
        assert viewer is not None and viewer.role is Role.VIEWER
    actions = shown((await as_admin.get("/admin/audit")).text)
    for action in ("user.role", "user.password", "user.remove"):
        assert action in actions


async def test_an_admin_cannot_remove_themselves(as_admin: httpx.AsyncClient) -> None:
    answer = await post_form(as_admin, "/admin/users", "/admin/users/remove", email=ADMIN)
    assert answer.status_code == 422
    assert "cannot remove your own account" in shown(answer.text)


async def test_an_editor_may_not_manage_accounts(as_editor: httpx.AsyncClient) -> None:
    page = await as_editor.get("/admin/account")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = await as_editor.post(
        "/admin/users",
        data={
            "csrf": token,
            "email": "x@example.org",
            "role": "admin",
            "password": "a long password here",
        },
    )
    assert answer.status_code == 403
    assert "needs an admin's role" in shown(answer.text)
    assert 'href="/admin/users"' in page.text, "the section is listed; its page says why not"


async def test_changing_ones_password_needs_the_current_one(as_viewer: httpx.AsyncClient) -> None:
    wrong = await post_form(
        as_viewer,
        "/admin/account",
        "/admin/account/password",
        current="not it",
        password="a brand new password",
        again="a brand new password",
    )
    assert wrong.status_code == 422
    assert "current password is not right" in shown(wrong.text)
    differ = await post_form(
        as_viewer,
        "/admin/account",
        "/admin/account/password",
        current=PASSWORD,
        password="a brand new password",
        again="a brand new passwort",
    )
    assert "differ" in shown(differ.text)
    done = await post_form(
        as_viewer,
        "/admin/account",
        "/admin/account/password",
        current=PASSWORD,
        password="a brand new password",
        again="a brand new password",
    )
    assert done.status_code == 303
    assert (await as_viewer.get("/admin/account")).status_code == 200, "this sign-in stays"


async def test_the_dashboard_shows_the_lists_and_says_when_nothing_is_sent(
    as_viewer: httpx.AsyncClient, lists: None
) -> None:
    text = shown((await as_viewer.get("/admin")).text)
    assert "The Weekly weekly 0 0 0" in text
    assert "Nothing sent yet." in text and "Nothing is scheduled." in text


async def test_the_audit_log_is_filtered_by_who_and_by_action(
    db: Database, as_viewer: httpx.AsyncClient
) -> None:
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    with db.session() as session:
        for actor, action, target in (
            ("cli:alice", "campaign.send", "campaign 1"),
            ("cli", "list.create", "list weekly"),
            ("api", "campaign.pause", "campaign 2"),
            ("client", "campaign.edit", "campaign 3"),
            (ADMIN, "campaign.create", "campaign 4"),
        ):
            audit(session, actor, action, target, now=now)

    async def rows(**query: str) -> list[str]:
        page = shown((await as_viewer.get("/admin/audit", params=query)).text)
        return [t for t in ("campaign 1", "list weekly", "campaign 2", "campaign 3") if t in page]

    # "cli" is the command line whoever ran it, and no other name that begins so.
    assert await rows(actor="cli") == ["campaign 1", "list weekly"]
    assert await rows(actor="cli:alice") == ["campaign 1"]
    assert await rows(action="campaign") == ["campaign 1", "campaign 2", "campaign 3"]
    assert await rows(actor="api", action="campaign.pause") == ["campaign 2"]
    assert await rows(actor="cli", action="campaign.send ") == ["campaign 1"]
    assert await rows(action="campaign.%") == []
    nothing = shown((await as_viewer.get("/admin/audit", params={"action": "list.delete"})).text)
    assert "Nothing recorded as list.delete." in nothing
