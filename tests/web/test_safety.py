"""Safety of the whole site: security headers on every answer, request size limits,
clear 4xx answers to malformed input, and logs without personal data."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.settings import Settings
from mailer.storage import Database
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.pages import form_token
from tests.support.web import AUTH, BASE, Sent, token

pytestmark = pytest.mark.anyio

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "strict-transport-security",
)


@pytest.mark.usefixtures("lists")
async def test_every_answer_has_the_security_headers(client: httpx.AsyncClient, sent: Sent) -> None:
    for method, path in (
        ("GET", "/subscribe/weekly"),
        ("GET", "/subscribe/nope"),
        ("GET", "/archive"),
        ("GET", f"/archive/{sent.campaign_id}"),
        ("GET", "/unsubscribe/garbage"),
        ("GET", f"/o/{token('click', 1, 1)}.gif"),
        ("GET", "/nowhere"),
        ("DELETE", "/archive"),
        ("GET", "/api/lists"),
        ("GET", "/openapi.json"),
        ("POST", "/webhooks/sendgrid"),
    ):
        answer = await client.request(method, path)
        missing = [h for h in SECURITY_HEADERS if h not in answer.headers]
        assert not missing, (path, missing)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert "set-cookie" not in answer.headers
        assert answer.status_code < 500


async def test_unknown_pages_and_methods_are_clear_4xx(client: httpx.AsyncClient) -> None:
    page = await client.get("/nowhere")
    assert page.status_code == 404 and "There is no page at this address" in page.text
    assert page.headers["content-type"].startswith("text/html")
    wrong = await client.delete("/archive")
    assert wrong.status_code == 405 and "DELETE is not allowed here" in wrong.text
    api = await client.get("/api/nowhere", headers=AUTH)
    assert api.status_code == 404 and api.json() == {"error": "There is no page at this address."}


async def test_a_body_over_the_limit_is_a_413_declared_or_streamed(
    client: httpx.AsyncClient,
) -> None:
    big = b"email=" + b"a" * (1024 * 1024)
    declared = await client.post(
        "/subscribe/weekly",
        content=big,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"a" * 100_000

    streamed = await client.post(
        "/api/lists", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "bytes allowed" in streamed.json()["error"]


async def test_the_import_takes_larger_files_than_a_form(
    settings: Settings, db: Database, clock: Clock
) -> None:
    small = settings.model_copy(update={"max_request_bytes": 2048, "max_import_bytes": 100_000})
    app = create_app(small, db, clock=clock)
    csv = b"email\n" + b"".join(f"r{n}@example.org\n".encode() for n in range(1000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        await client.post("/api/lists", json={"name": "daily"}, headers=AUTH)
        answer = await client.post("/api/lists/daily/import", content=csv, headers=AUTH)
        assert answer.status_code == 200 and answer.json()["imported"] == 1000
        assert (await client.post("/api/lists", content=csv, headers=AUTH)).status_code == 413


@pytest.mark.usefixtures("lists")
async def test_the_access_log_names_routes_not_people(
    client: httpx.AsyncClient, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailer")
    link = token("unsubscribe", sent.readers[0][1], sent.list_id, str(sent.campaign_id))
    await client.post(f"/unsubscribe/{link}", data={"List-Unsubscribe": "One-Click"})
    page = await client.get("/subscribe/weekly")
    await client.post(
        "/subscribe/weekly", data={"email": "private@example.org", "csrf": form_token(page.text)}
    )
    await client.get("/api/subscribers/private@example.org", headers=AUTH)
    text = caplog.text
    assert "POST /unsubscribe/{token} 200" in text
    assert "GET /api/subscribers/{email} 200" in text
    assert link not in text
    assert "private@example.org" not in text and "reader0" not in text
    assert "127.0.0.1" not in text


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@pytest.mark.usefixtures("lists")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(["/subscribe/weekly", "/unsubscribe/x.y", "/preferences/x.y", "/confirm/x"]),
       fields=st.dictionaries(st.sampled_from(["email", "name", "csrf", "website", "action", "list",
                                               "List-Unsubscribe"]), _text))  # fmt: skip
async def test_no_form_input_makes_a_500(
    client: httpx.AsyncClient, path: str, fields: dict[str, str]
) -> None:
    answer = await client.post(path, data=fields)
    assert answer.status_code < 500
    answer = await client.get(path, params=fields)
    assert answer.status_code < 500


async def test_a_bug_is_a_500_whose_log_holds_no_message(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    address = "-".join(("secret", "reader@example.org"))  # not in the source the log quotes

    def boom() -> None:
        raise RuntimeError(f"{address} broke it")

    def later(background: BackgroundTasks) -> dict[str, str]:
        background.add_task(boom)
        return {"ok": "yes"}

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/boom", boom)
    app.add_api_route("/later", later)
    page = await client.get("/boom")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "x-frame-options" in page.headers
    api = await client.get("/api/boom")
    assert api.status_code == 500 and api.json()["error"].startswith("Something went wrong")
    assert (await client.get("/later")).json() == {"ok": "yes"}
    assert "unexpected RuntimeError on GET /boom" in caplog.text
    assert "unexpected RuntimeError on GET /later" in caplog.text
    assert address not in caplog.text
