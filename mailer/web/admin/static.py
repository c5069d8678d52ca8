"""The admin's own styles and scripts, from ``templates/admin/static`` (the publisher's
folder first). Served without a sign-in: the sign-in page needs them."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from mailer.web.admin.pages import PagesDep

__all__ = ["router"]

router = APIRouter()

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,80}")


@router.get("/static/{name}")
def static_file(name: Annotated[str, Path()], pages: PagesDep) -> FileResponse:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if not _NAME.fullmatch(name) or ".." in name or suffix not in _TYPES:
        raise HTTPException(404)
    for folder in pages.folders:
        path = folder / "static" / name
        if path.is_file():
            return FileResponse(
                path,
                media_type=_TYPES[suffix],
                # Short: a new release's styles must show within minutes.
                headers={"cache-control": "public, max-age=300"},
            )
    raise HTTPException(404)
