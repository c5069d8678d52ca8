"""Fixtures of the provider tests (the app is driven through httpx's ASGI transport)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
