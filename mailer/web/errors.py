"""Every error becomes a clear answer: a JSON ``{"error": "..."}`` under ``/api`` and
``/webhooks``, a page everywhere else. Bad input is a 4xx, never a 500.

What is left over (a bug) is caught by :class:`CatchAll`: a 500 answer, and a log line
with the error's type and traceback but not its message, which may hold an address.
(Starlette would hand the exception on to the server, whose log prints it whole.)
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailer.exceptions import (
    AlreadyExists,
    ConfigError,
    DeliveryError,
    InputError,
    MailerError,
    NotFound,
    PartialImport,
    RenderError,
    StateError,
)
from mailer.web.access_log import route_pattern
from mailer.web.admin.pages import AdminPages
from mailer.web.templating import Pages

__all__ = ["CatchAll", "ErrorAnswers", "install_error_handlers", "status_for"]

logger = logging.getLogger("mailer.web")

_TITLES = {
    400: "This request is not valid",
    401: "Not signed in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Not possible now",
    413: "Too large",
    415: "Unsupported content",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "Mail could not be sent",
    503: "Not available",
}

_STATUS: tuple[tuple[type[MailerError], int], ...] = (
    (NotFound, 404),
    (AlreadyExists, 409),
    (StateError, 409),
    (PartialImport, 422),
    (RenderError, 422),
    (ConfigError, 503),
    (InputError, 422),
    (DeliveryError, 502),
)


def status_for(err: MailerError) -> int:
    """The HTTP status of a MailerError (400 for any not listed)."""
    return next((status for kind, status in _STATUS if isinstance(err, kind)), 400)


class ErrorAnswers:
    """Makes the answer to an error, as JSON or as a page depending on the path."""

    def __init__(self, pages: Pages, admin: AdminPages | None = None):
        self.pages = pages
        self.admin = admin

    @staticmethod
    def wants_json(path: str) -> bool:
        return path == "/api" or path.startswith(("/api/", "/webhooks/", "/openapi"))

    def answer(
        self,
        path: str,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> Response:
        if self.wants_json(path):
            return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)
        title = _TITLES.get(status, "This request is not valid")
        if self.admin is not None and (path == "/admin" or path.startswith("/admin/")):
            response: Response = self.admin.error(path, status, title, message)
        else:
            response = self.pages.message(title, message, status_code=status)
        if headers:
            response.headers.update(headers)
        return response


def install_error_handlers(app: FastAPI, answers: ErrorAnswers) -> None:
    """Answer HTTP errors, invalid requests and MailerErrors clearly."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "There is no page at this address."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed here."
        return answers.answer(request.url.path, exc.status_code, message, exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg"))}
            for error in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        where = ".".join(first["loc"][1:] or first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        path = request.url.path
        if not answers.wants_json(path):
            # A page's only parameters are in its path: a malformed one names no page.
            return answers.answer(path, 404 if first["loc"][:1] == ["path"] else 400, message)
        return answers.answer(path, 422, message, detail=problems)

    async def mailer_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MailerError)
        return answers.answer(request.url.path, status_for(exc), str(exc))

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(MailerError, mailer_error)


class CatchAll:
    """The last resort: any other exception is a 500 and a log line without its
    message. An error after the answer started (in a background task) is only logged."""

    def __init__(self, app: ASGIApp, *, answers: ErrorAnswers):
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            logger.error(
                "unexpected %s on %s %s\n%s",
                type(exc).__name__,
                scope["method"],
                route_pattern(scope),
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            if not started:
                response = self.answers.answer(
                    scope["path"], 500, "Something went wrong on our side; please try again later."
                )
                await response(scope, receive, send)
