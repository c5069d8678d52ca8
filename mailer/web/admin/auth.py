"""Who is signed in, and what their role allows.

Routes take ``admin: Viewer`` (any account), ``Editor`` or ``Manager`` (the admin role);
a request without a sign-in is sent to the sign-in page, one whose role is short gets a
403 page that names the role it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from mailer.accounts.limits import LoginLimit
from mailer.accounts.sessions import Lifetime, find_session
from mailer.exceptions import NotAllowed
from mailer.settings import Settings
from mailer.storage.accounts import Role
from mailer.web.context import WebContext, WebDep
from mailer.web.csrf import bound_token

__all__ = [
    "COOKIE",
    "Admin",
    "Editor",
    "Manager",
    "SignInRequired",
    "Viewer",
    "lifetime",
    "login_limit",
    "needs",
    "signed_in",
]

#: The sign-in cookie; sent to /admin only.
COOKIE = "mailer_admin"


class SignInRequired(Exception):
    """No sign-in (or one that ended): the answer is the sign-in page, then ``next``."""

    def __init__(self, next_path: str):
        self.next_path = next_path
        super().__init__(next_path)


@dataclass(frozen=True)
class Admin:
    """The signed-in account, as a page needs it."""

    user_id: int
    email: str
    role: Role
    session_id: int
    # Every form of this sign-in carries it (a MAC of the sign-in's token hash).
    csrf: str

    def can(self, role: Role) -> bool:
        return self.role.allows(role)

    def needs(self, role: Role, action: str) -> None:
        if not self.can(role):
            raise NotAllowed(action, role.value)


def lifetime(settings: Settings) -> Lifetime:
    return Lifetime(
        idle=timedelta(minutes=settings.admin_idle_minutes),
        absolute=timedelta(hours=settings.admin_session_hours),
    )


def login_limit(settings: Settings) -> LoginLimit:
    return LoginLimit(
        per_account=settings.admin_login_limit, per_address=3 * settings.admin_login_limit
    )


def csrf_token(ctx: WebContext, token_hash: str) -> str:
    return bound_token(ctx.secret, "admin", token_hash)


def _wanted(request: Request) -> str:
    """Where to come back to after signing in: this page, if a page was asked for."""
    if request.method != "GET":
        return "/admin"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signed_in(request: Request, ctx: WebDep) -> Admin:
    token = request.cookies.get(COOKIE, "")
    admin: Admin | None = None
    with ctx.database.session() as session:
        found = find_session(session, token, now=ctx.now(), lifetime=lifetime(ctx.settings))
        if found is not None:
            user = found.user
            admin = Admin(
                user_id=user.id,
                email=user.email,
                role=user.role,
                session_id=found.id,
                csrf=csrf_token(ctx, found.token_hash),
            )
    if admin is None:
        raise SignInRequired(_wanted(request))
    return admin


def needs(role: Role, action: str) -> Callable[[Admin], Admin]:
    """A dependency: the signed-in account, if its role is ``role`` or above."""

    def dependency(admin: Annotated[Admin, Depends(signed_in)]) -> Admin:
        admin.needs(role, action)
        return admin

    return dependency


Viewer = Annotated[Admin, Depends(signed_in)]
Editor = Annotated[Admin, Depends(needs(Role.EDITOR, "This page"))]
Manager = Annotated[Admin, Depends(needs(Role.ADMIN, "This page"))]
