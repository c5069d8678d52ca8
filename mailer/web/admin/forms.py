"""The admin's forms: every POST carries its sign-in's CSRF token (the ``csrf`` field)
and comes from one of our own pages; anything else is refused before it is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from mailer.tokens import same_secret
from mailer.web.admin.auth import Admin, signed_in
from mailer.web.context import WebDep
from mailer.web.csrf import same_origin

__all__ = ["CsrfRefused", "Form", "checked_form", "field"]


class CsrfRefused(Exception):
    """A form post without this sign-in's token, or from another site's page."""


async def checked_form(
    request: Request, ctx: WebDep, admin: Annotated[Admin, Depends(signed_in)]
) -> AsyncIterator[FormData]:
    if not same_origin(request, ctx.settings.base_url):
        raise CsrfRefused
    form = await request.form()
    try:
        given = form.get("csrf")
        if not isinstance(given, str) or not same_secret(given, admin.csrf):
            raise CsrfRefused
        yield form
    finally:
        # An uploaded file's spooled copy is closed once the route is done with it.
        await form.close()


Form = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str, default: str = "") -> str:
    """A text field of ``form``, stripped (a file where text is expected counts as none)."""
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default
