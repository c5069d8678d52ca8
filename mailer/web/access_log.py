"""An access log without personal data: the route's pattern (``/unsubscribe/{token}``),
never the path itself, whose tokens are keys to someone's subscription; no client
address; no query string. Uvicorn's own access log is turned off for this one."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "logger", "route_pattern"]

logger = logging.getLogger("mailer.web.access")


class AccessLog:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                route_pattern(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )


def route_pattern(scope: Scope) -> str:
    """The request's path with each path parameter in place of its value
    (``/unsubscribe/{token}``); "(no route)" when no route matched."""
    params = scope.get("path_params")
    if scope.get("endpoint") is None or not isinstance(params, dict):
        return "(no route)"
    path = str(scope.get("path", ""))
    # From the right: parameters come after the fixed part of a route's path.
    for name, value in reversed(params.items()):
        before, found, after = path.rpartition(str(value))
        if found:
            path = f"{before}{{{name}}}{after}"
    return path
