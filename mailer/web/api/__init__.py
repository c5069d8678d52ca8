"""The admin REST API under ``/api``: lists, subscribers, campaigns and their
statistics. Every route needs ``Authorization: Bearer <api_token>``; errors are JSON
``{"error": "..."}`` with a 4xx status (see :mod:`mailer.web.errors`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mailer.web.api import campaigns, lists, subscribers
from mailer.web.api.auth import require_token
from mailer.web.api.schemas import ErrorOut

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "No valid bearer token."),
        (403, "The API is off (no api_token is set)."),
        (404, "No such list, subscriber or campaign."),
        (409, "Taken already, or not possible in the current state."),
        (413, "The body is too large."),
        (422, "The request is not valid."),
    )
}

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], responses=_ERRORS)
router.include_router(lists.router)
router.include_router(subscribers.router)
router.include_router(campaigns.router)
