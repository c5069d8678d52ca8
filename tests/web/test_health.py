"""``GET /healthz``: up, ours, and which mailer (by its secret_key)."""

from __future__ import annotations

import httpx
import pytest

from mailer.web.health import instance_id
from tests.support.config import SECRET

pytestmark = pytest.mark.anyio


async def test_health_says_it_is_mailer_and_which(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "app": "mailer",
        "version": "0.1.0",
        "instance": instance_id(SECRET),
    }
    assert answer.headers["cache-control"] == "no-store"
    assert instance_id(SECRET) != instance_id(SECRET + "x")
    assert SECRET not in answer.text
