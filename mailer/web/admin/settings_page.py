"""``/admin/settings``: the settings in force, read-only, grouped as the config file
groups them (:data:`mailer.settings.template.SECTIONS`), each with its description.
Secrets never show: SecretStr fields and anything named like a key, token or password
are masked, and a URL's password is (the SMTP URL, a database URL)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from pydantic import SecretStr
from starlette.responses import Response

from mailer.settings import Settings
from mailer.settings.template import SECTIONS
from mailer.web.admin.auth import Viewer
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["masked", "router", "settings_sections"]

router = APIRouter()

MASK = "••••••••"
_SECRET_NAMES = ("key", "token", "password", "secret")


def _url_masked(text: str) -> str | None:
    """``text`` with its password masked, if it is a URL that has one."""
    parts = urlsplit(text)
    if not parts.scheme or parts.password is None:
        return None
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def masked(name: str, value: Any, shown: Any) -> str:
    """How the settings page shows ``value`` (``shown``: its JSON form)."""
    if value is None or value == "":
        return "(not set)"
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if not secret:
            return "(not set)"
        url = _url_masked(secret) if name.endswith("_url") else None
        return url or f"{MASK} (set)"
    if any(word in name for word in _SECRET_NAMES):
        return f"{MASK} (set)"
    if isinstance(shown, str):
        return _url_masked(shown) or shown
    return json.dumps(shown, ensure_ascii=False)


def settings_sections(settings: Settings) -> list[dict[str, Any]]:
    fields = type(settings).model_fields
    dumped = settings.model_dump(mode="json")
    return [
        {
            "title": section.title,
            "intro": section.intro,
            "rows": [
                {
                    "key": key,
                    "value": masked(key, getattr(settings, key), dumped.get(key)),
                    "description": (fields[key].description or "").replace("`", ""),
                }
                for key in section.keys
            ],
        }
        for section in SECTIONS
    ]


@router.get("/settings")
def settings_page(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    return pages.page(
        request,
        admin,
        "settings.html",
        title="Settings",
        sections=settings_sections(ctx.settings),
        config_file=str(ctx.settings.config_file or ""),
    )
