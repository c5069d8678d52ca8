"""Running the web app with uvicorn: ``mailer serve`` in the foreground, and ``mailer
run`` (or a test) in a thread of its own::

    server = web_server(create_app(settings), "127.0.0.1", 8000)
    server.run()                          # blocks; server.should_exit = True stops it

Uvicorn's access log is off: it would write every URL, tokens and all, and the client's
address; :mod:`mailer.web.access_log` logs the route's pattern instead. Uvicorn runs on
uvloop and httptools where they are installed (they are dependencies).
"""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

__all__ = ["freeze_startup", "web_server"]


def freeze_startup() -> None:
    """Keep what exists now (the app, its routes and models, the libraries) out of the
    garbage collector's passes from here on. A full pass over that heap, which the
    tracking writer's allocations bring on every few seconds under load, stops every
    request for tens of milliseconds: it was most of the click's p99 (bench/web.py).
    For a process that serves from here on, not for one that will make many apps."""
    gc.collect()
    gc.freeze()


def web_server(app: FastAPI, host: str, port: int, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for ``app`` on ``host:port`` (port 0: any free port)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level=log_level,
        # X-Forwarded-For is believed from a reverse proxy on this machine only, so
        # that the subscribe rate limit counts clients and not the proxy.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    return uvicorn.Server(config)
