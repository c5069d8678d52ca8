"""``/admin/users``: the accounts (admins manage them) and ``/admin/account``: one's own
password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.accounts.audit import audit
from mailer.accounts.passwords import verify_password
from mailer.accounts.users import (
    add_user,
    get_user,
    list_users,
    parse_role,
    remove_user,
    set_password,
    set_role,
)
from mailer.exceptions import InputError
from mailer.storage.accounts import Role
from mailer.web.admin.auth import Manager, Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()


@router.get("/users")
def users_page(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    admin.needs(Role.ADMIN, "Managing accounts")
    with ctx.database.session() as session:
        users = list_users(session)
    return pages.page(request, admin, "users.html", title="Accounts", users=users, roles=list(Role))


@router.post("/users")
def add(ctx: WebDep, pages: PagesDep, admin: Manager, form: Form) -> Response:
    email, role = field(form, "email"), parse_role(field(form, "role"))
    now = ctx.now()
    with ctx.database.session() as session:
        user = add_user(session, email, role, field(form, "password"), now=now)
        audit(session, admin.email, "user.add", f"user {user.email}", now=now, role=role.value)
    return pages.redirect("/admin/users", f"Added {user.email} as {role.value}.")


@router.post("/users/role")
def change_role(ctx: WebDep, pages: PagesDep, admin: Manager, form: Form) -> Response:
    email, role = field(form, "email"), parse_role(field(form, "role"))
    with ctx.database.session() as session:
        user = set_role(session, email, role)
        audit(
            session, admin.email, "user.role", f"user {user.email}", now=ctx.now(), role=role.value
        )
    return pages.redirect("/admin/users", f"{user.email} is now {role.value}.")


@router.post("/users/password")
def reset_password(ctx: WebDep, pages: PagesDep, admin: Manager, form: Form) -> Response:
    now = ctx.now()
    with ctx.database.session() as session:
        user = set_password(session, field(form, "email"), field(form, "password"), now=now)
        audit(session, admin.email, "user.password", f"user {user.email}", now=now)
    return pages.redirect(
        "/admin/users", f"Set a new password for {user.email}; their sign-ins ended."
    )


@router.post("/users/remove")
def remove(ctx: WebDep, pages: PagesDep, admin: Manager, form: Form) -> Response:
    email = field(form, "email")
    if email.lower() == admin.email.lower():
        raise InputError("you cannot remove your own account: ask another admin")
    with ctx.database.session() as session:
        user = remove_user(session, email)
        audit(session, admin.email, "user.remove", f"user {user.email}", now=ctx.now())
    return pages.redirect("/admin/users", f"Removed {user.email}.")


@router.get("/account")
def account_page(request: Request, pages: PagesDep, admin: Viewer) -> Response:
    return pages.page(request, admin, "account.html", title="Your account")


@router.post("/account/password")
def change_own_password(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    now = ctx.now()
    with ctx.database.session() as session:
        user = get_user(session, admin.email)
        if not verify_password(user.password_hash, field(form, "current")):
            raise InputError("the current password is not right")
        if field(form, "password") != field(form, "again"):
            raise InputError("the two new passwords differ")
        set_password(
            session, admin.email, field(form, "password"), now=now, keep_session=admin.session_id
        )
        audit(session, admin.email, "account.password", f"user {admin.email}", now=now)
    return pages.redirect("/admin/account", "Your password is changed; your other sign-ins ended.")
