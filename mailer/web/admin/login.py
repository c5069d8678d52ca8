"""Signing in and out. The sign-in form has no session to bind a token to: it carries a
timed token instead (mailer.web.csrf), and must come from our own page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.accounts.audit import audit
from mailer.accounts.sessions import end_session, start_session
from mailer.accounts.sign_in import check_sign_in
from mailer.exceptions import SignInRefused
from mailer.web.admin.auth import COOKIE, Viewer, lifetime, login_limit
from mailer.web.admin.forms import CsrfRefused, Form
from mailer.web.admin.pages import PagesDep, safe_next
from mailer.web.context import WebDep
from mailer.web.csrf import check_timed, same_origin, timed_token

__all__ = ["router"]

router = APIRouter()

#: How long a sign-in page's form may be left open.
FORM_AGE = 3 * 3600


def _form_page(
    request: Request,
    ctx: WebDep,
    pages: PagesDep,
    *,
    next_path: str,
    email: str = "",
    problem: str = "",
    status_code: int = 200,
) -> Response:
    return pages.page(
        request,
        None,
        "login.html",
        status_code,
        title="Sign in",
        form_token=timed_token(ctx.secret, "admin-login", ctx.now().timestamp()),
        next_path=safe_next(next_path),
        email=email,
        problem=problem,
    )


@router.get("/login")
def login_page(request: Request, ctx: WebDep, pages: PagesDep, next: str = "/admin") -> Response:
    return _form_page(request, ctx, pages, next_path=next)


@router.post("/login")
async def login(request: Request, ctx: WebDep, pages: PagesDep) -> Response:
    form = await request.form()
    email, password, next_path, token = (
        str(form.get(name) or "") for name in ("email", "password", "next", "form_token")
    )
    now = ctx.now()
    if not same_origin(request, ctx.settings.base_url) or not check_timed(
        ctx.secret, "admin-login", token, now.timestamp(), FORM_AGE
    ):
        raise CsrfRefused
    address = request.client.host if request.client else "unknown"
    refused: SignInRefused | None = None
    with ctx.database.session() as session:
        try:
            user = check_sign_in(
                session, email, password, address=address, limit=login_limit(ctx.settings), now=now
            )
        except SignInRefused as err:
            refused = err  # the failure it counted is committed with the session
        else:
            cookie = start_session(session, user, now=now, lifetime=lifetime(ctx.settings))
            audit(session, user.email, "account.sign_in", now=now, address=address)
    if refused is not None:
        status = 429 if refused.retry_after else 401
        response = _form_page(
            request,
            ctx,
            pages,
            next_path=next_path,
            email=email,
            problem=str(refused),
            status_code=status,
        )
        if refused.retry_after:
            response.headers["retry-after"] = str(refused.retry_after)
        return response
    response = pages.redirect(next_path or "/admin")
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=ctx.settings.admin_session_hours * 3600,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.base_url.startswith("https://"),
    )
    return response


@router.post("/logout")
def logout(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    with ctx.database.session() as session:
        end_session(session, request.cookies.get(COOKIE, ""))
        audit(session, admin.email, "account.sign_out", now=ctx.now())
    response = pages.redirect("/admin/login", "You are signed out.")
    response.delete_cookie(COOKIE, path="/admin")
    return response
