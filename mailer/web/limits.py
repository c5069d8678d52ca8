"""Request size limits: a body over its limit is refused with 413 before it is read
whole, whether it says its length (``Content-Length``) or streams in chunks."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestTooLarge", "SizeLimit"]


class RequestTooLarge(HTTPException):
    """Raised while a body is read, so that the error pages answer it like any 4xx."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request is larger than the {limit:,} bytes allowed here")


class SizeLimit:
    """At most ``default`` bytes of body; ``paths`` give other limits to the paths that
    match their regular expression whole (the first that matches wins)."""

    def __init__(self, app: ASGIApp, *, default: int, paths: Sequence[tuple[str, int]] = ()):
        self.app = app
        self.default = default
        self.paths = [(re.compile(pattern), limit) for pattern, limit in paths]

    def limit_for(self, path: str) -> int:
        return next((limit for p, limit in self.paths if p.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, _wants_html(scope))
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except RequestTooLarge:
            if started:
                raise
            await _refuse(send, limit, _wants_html(scope))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def _wants_html(scope: Scope) -> bool:
    """A browser's form (the admin's upload): it gets a page, not JSON."""
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False


_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>File too large</title>'
    "</head><body><main><h1>The file is too large</h1><p>This page takes at most {limit:,} "
    "bytes (the setting <code>max_import_bytes</code>). Split the file, or ask whoever runs "
    "the site to raise the limit.</p><p>Go back to choose a smaller file.</p>"
    "</main></body></html>"
)


async def _refuse(send: Send, limit: int, html: bool = False) -> None:
    message = f"the request is larger than the {limit:,} bytes allowed here"
    body = (_PAGE.format(limit=limit) if html else f'{{"error": "{message}"}}').encode()
    kind = b"text/html; charset=utf-8" if html else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
