"""The admin's pages: Jinja templates in ``templates/admin`` (the publisher's own
``templates/admin`` next to mailer.toml first, then the ones mailer ships), each under
the admin's content security policy, with the notice the last action left."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mailer.rendering.templates import builtin_templates
from mailer.settings import Settings
from mailer.tokens import Signer, same_secret
from mailer.web.admin.auth import Admin
from mailer.web.admin.nav import NAV

__all__ = ["ADMIN_POLICY", "NOTICE_COOKIE", "AdminPages", "PagesDep", "admin_pages", "safe_next"]

#: Our own scripts and styles only; the preview frames show our own pages.
ADMIN_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; "
    "base-uri 'none'"
)
#: What the last action did ("Campaign 4 paused"), for the next page to say.
NOTICE_COOKIE = "mailer_admin_notice"


def safe_next(target: str) -> str:
    """``target`` if it is a page of the admin, else the dashboard: a link may not send
    someone who signs in to another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or "\\" in target:
        return "/admin"
    return target


class AdminPages:
    def __init__(self, settings: Settings):
        folders = [
            folder / "admin"
            for folder in (settings.base_dir / "templates", builtin_templates())
            if (folder / "admin").is_dir()
        ]
        self.folders = folders
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals.update(
            publisher={"name": settings.publisher_name},
            base_url=settings.base_url,
            nav=NAV,
        )
        self._signer = Signer(settings.secret_key.get_secret_value())
        self._secure = settings.base_url.startswith("https://")

    def render(self, template: str, **context: Any) -> str:
        return self.environment.get_template(template).render(context)

    def page(
        self,
        request: Request,
        admin: Admin | None,
        template: str,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        notice = self._notice(request)
        html = self.render(
            template,
            admin=admin,
            csrf=admin.csrf if admin else "",
            path=request.url.path,
            notice=notice,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["content-security-policy"] = ADMIN_POLICY
        if notice:
            response.delete_cookie(NOTICE_COOKIE, path="/admin")
        return response

    def error(self, path: str, status_code: int, title: str, message: str) -> HTMLResponse:
        """The admin's page for an error (it shows no account: it may have none)."""
        html = self.render(
            "error.html",
            admin=None,
            csrf="",
            path=path,
            notice="",
            title=title,
            message=message,
            status_code=status_code,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["content-security-policy"] = ADMIN_POLICY
        return response

    def redirect(self, url: str, notice: str = "") -> Response:
        """After a form: the next page (303), with what was done for it to say."""
        response = RedirectResponse(safe_next(url), status_code=303)
        if notice:
            value = base64.urlsafe_b64encode(notice[:300].encode()).decode()
            response.set_cookie(
                NOTICE_COOKIE,
                f"{value}.{self._signer.mac('form-bound', 'notice', value)}",
                path="/admin",
                httponly=True,
                samesite="lax",
                secure=self._secure,
            )
        return response

    def _notice(self, request: Request) -> str:
        value, _, mac = request.cookies.get(NOTICE_COOKIE, "").partition(".")
        if not value or not same_secret(mac, self._signer.mac("form-bound", "notice", value)):
            return ""
        try:
            return base64.urlsafe_b64decode(value).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""


def admin_pages(request: Request) -> AdminPages:
    pages = request.app.state.admin_pages
    assert isinstance(pages, AdminPages)
    return pages


PagesDep = Annotated[AdminPages, Depends(admin_pages)]
