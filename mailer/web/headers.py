"""Security headers on every answer; a route that needs others sets its own, and those
it set are left alone."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_POLICY", "SecurityHeaders"]

#: Our pages have no scripts, no frames and no assets from elsewhere; their CSS is inline.
DEFAULT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", DEFAULT_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    # Our URLs carry tokens: no other site may learn them from a Referer. (Not
    # "no-referrer": browsers then send "Origin: null" with our own forms.)
    ("referrer-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ("cross-origin-opener-policy", "same-origin"),
    # Pages of a signed link are someone's own: no shared cache may keep them.
    ("cache-control", "no-store"),
)


class SecurityHeaders:
    """Adds the headers above (and HSTS when the site is served over https)."""

    def __init__(self, app: ASGIApp, *, https: bool):
        self.app = app
        self.headers = _HEADERS
        if https:
            self.headers = (*_HEADERS, ("strict-transport-security", "max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
