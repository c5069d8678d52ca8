"""The API's one credential: ``Authorization: Bearer <api_token>`` from the settings,
compared in constant time. Without an ``api_token`` the API refuses every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mailer.tokens import same_secret
from mailer.web.context import WebDep

__all__ = ["require_token"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api_token",
    description="The api_token of mailer.toml.",
)


def require_token(
    ctx: WebDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = ctx.settings.api_token
    if expected is None:
        raise HTTPException(403, "the API is off: set api_token in mailer.toml")
    given = credentials.credentials if credentials is not None else ""
    if not same_secret(given, expected.get_secret_value()):
        raise HTTPException(
            401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
