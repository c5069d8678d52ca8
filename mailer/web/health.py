"""``GET /healthz``: whether the web app is up and its database answers, and which
mailer it is, so that ``mailer check`` can tell its own app behind ``base_url`` from
another site (or another mailer with another ``secret_key``)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from mailer import __version__
from mailer.web.context import WebDep

__all__ = ["APP_NAME", "instance_id", "router"]

APP_NAME = "mailer"

router = APIRouter(include_in_schema=False)


def instance_id(secret_key: str) -> str:
    """A short keyed hash of a constant: the same for every process with this
    ``secret_key``, and telling nothing about the key."""
    key = hashlib.blake2b(secret_key.encode("utf-8")).digest()  # any length fits then
    return hashlib.blake2b(b"healthz", key=key, digest_size=8, person=b"mailer-health").hexdigest()


@router.get("/healthz")
def healthz(ctx: WebDep) -> JSONResponse:
    """200 ``{"status": "ok", "app": "mailer", ...}``, or 503 when the database does
    not answer."""
    body = {
        "status": "ok",
        "app": APP_NAME,
        "version": __version__,
        "instance": instance_id(ctx.secret),
    }
    try:
        with ctx.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        body["status"] = "error"
        body["database"] = type(err).__name__
        return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
