"""The admin API: a bearer token, the service functions behind it, JSON errors with
4xx statuses, and its OpenAPI description."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI

from mailer.accounts.audit import recent_entries
from mailer.campaigns.records import move
from mailer.settings import Settings
from mailer.storage import Database
from mailer.subscribers.suppression import suppression_of
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.examples import ARTICLE
from tests.support.web import AUTH, BASE, Sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH)


async def test_every_route_needs_the_token(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/lists"),
        ("POST", "/api/lists"),
        ("GET", "/api/campaigns/1"),
    ):
        answer = await client.request(method, path)
        assert answer.status_code == 401
        assert answer.json() == {"error": "a valid bearer token is required"}
        assert answer.headers["www-authenticate"] == "Bearer"
        wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await client.request(method, path, headers={"Authorization": "Basic eDp5"})
        assert basic.status_code == 401


async def test_without_an_api_token_the_api_is_off(
    settings: Settings, db: Database, clock: Clock
) -> None:
    app = create_app(settings.model_copy(update={"api_token": None}), db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        answer = await client.get("/api/lists", headers=AUTH)
    assert answer.status_code == 403
    assert "api_token" in answer.json()["error"]


async def test_lists(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/lists", json={"name": "weekly", "double_opt_in": True})
    assert created.status_code == 201
    assert created.json()["name"] == "weekly" and created.json()["double_opt_in"] is True
    again = await api.post("/api/lists", json={"name": "weekly"})
    assert again.status_code == 409
    assert again.json() == {"error": "list 'weekly' already exists"}
    assert [item["name"] for item in (await api.get("/api/lists")).json()] == ["weekly"]
    assert (await api.get("/api/lists/weekly")).json()["confirmed"] == 0
    missing = await api.get("/api/lists/monthly")
    assert missing.status_code == 404 and "no list 'monthly'" in missing.json()["error"]
    assert (await api.delete("/api/lists/weekly")).status_code == 204
    assert (await api.get("/api/lists")).json() == []


async def test_subscribers(
    api: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    await api.post("/api/lists", json={"name": "weekly", "double_opt_in": True})
    await api.post("/api/lists", json={"name": "daily"})
    added = await api.post(
        "/api/subscribers",
        json={"email": "Ada@Example.org", "list": "daily", "name": "Ada", "tags": ["donor"]},
    )
    assert added.status_code == 201
    body = added.json()
    assert body["email"] == "Ada@example.org" and body["tags"] == ["donor"]
    assert body["subscriptions"][0]["status"] == "confirmed"
    assert body["subscriptions"][0]["status_source"] == "api"
    assert outbox == []
    # A new member of a double opt-in list is asked to confirm, as the form does.
    waiting = await api.post(
        "/api/subscribers", json={"email": "ada@example.org", "list": "weekly"}
    )
    assert {s["list"]: s["status"] for s in waiting.json()["subscriptions"]} == {
        "daily": "confirmed",
        "weekly": "unconfirmed",
    }
    assert len(outbox) == 1
    shown = await api.get("/api/subscribers/ada@example.org")
    assert shown.json()["name"] == "Ada"
    left = await api.post("/api/subscribers/ada@example.org/unsubscribe", json={"list": "daily"})
    assert left.json() == {"left": ["daily"]}
    assert (await api.post("/api/subscribers/ada@example.org/unsubscribe", json={})).json() == {
        "left": ["weekly"]
    }
    assert (await api.post("/api/subscribers/ada@example.org/forget")).status_code == 204
    assert (await api.get("/api/subscribers/ada@example.org")).status_code == 404
    with db.session() as session:
        assert suppression_of(session, "ada@example.org") is not None
    refused = await api.post("/api/subscribers", json={"email": "ada@example.org", "list": "daily"})
    assert refused.status_code == 409
    assert "suppression list" in refused.json()["error"]
    too_large = await api.post(
        "/api/subscribers",
        json={"email": "bo@example.org", "list": "daily", "attributes": {"bio": "b" * 5000}},
    )
    assert too_large.status_code == 422
    assert too_large.json()["error"] == "attribute 'bio' has 5,002 characters; the limit is 2,000"


async def test_bad_input_is_a_422_with_a_clear_message(api: httpx.AsyncClient) -> None:
    await api.post("/api/lists", json={"name": "daily"})
    for body in (
        {"email": "not an address", "list": "daily"},
        {"email": "a@example.org", "list": "daily", "timezone": "Mars/Olympus"},
        {"email": "a@example.org"},
        {"email": "a@example.org", "list": "daily", "surprise": 1},
    ):
        answer = await api.post("/api/subscribers", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]
    broken = await api.post(
        "/api/lists", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert (await api.get("/api/subscribers/nobody")).status_code == 422


async def test_importing_a_csv_file(api: httpx.AsyncClient, clock: Clock) -> None:
    await api.post("/api/lists", json={"name": "daily"})
    csv = "email,name\nbea@example.org,Bea\nnot-an-address,Nobody\ncy@example.org,Cy\n"
    answer = await api.post(
        "/api/lists/daily/import", content=csv.encode(), headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200
    summary = answer.json()
    assert (summary["read"], summary["imported"], summary["rejected"]) == (3, 2, 1)
    assert "not-an-address" in summary["rejected_rows"]
    clock.now += timedelta(minutes=1)
    again = await api.post("/api/lists/daily/import", content=csv.encode())
    assert again.json()["unchanged"] == 2
    assert (await api.get("/api/lists/daily")).json()["confirmed"] == 2
    members = await api.get("/api/lists/daily/subscribers", params={"limit": 1, "offset": 1})
    assert [m["email"] for m in members.json()] == ["cy@example.org"]
    unknown = await api.post("/api/lists/nope/import", content=csv.encode())
    assert unknown.status_code == 404
    encoding = await api.post("/api/lists/daily/import?encoding=rot13", content=csv.encode())
    assert encoding.status_code == 422


async def test_campaigns_from_draft_to_sent(
    api: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], clock: Clock
) -> None:
    await api.post("/api/lists", json={"name": "daily"})
    for n in range(3):
        await api.post("/api/subscribers", json={"email": f"r{n}@example.org", "list": "daily"})
    created = await api.post(
        "/api/campaigns", json={"content": ARTICLE.read_text(), "lists": ["daily"]}
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert (campaign["status"], campaign["source"], campaign["lists"]) == (
        "draft",
        "api",
        ["daily"],
    )
    cid = campaign["id"]
    at = "2026-12-01T09:00:00+01:00"
    scheduled = await api.post(f"/api/campaigns/{cid}/schedule", json={"at": at})
    assert scheduled.json()["status"] == "scheduled"
    assert scheduled.json()["scheduled_at"] == "2026-12-01T08:00:00+00:00"
    past = await api.post(f"/api/campaigns/{cid}/schedule", json={"at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422
    naive = await api.post(f"/api/campaigns/{cid}/schedule", json={"at": "2026-12-01T09:00:00"})
    assert naive.status_code == 422
    started = await api.post(f"/api/campaigns/{cid}/send")
    assert started.status_code == 202
    # The send ran after the answer, in the background task.
    shown = (await api.get(f"/api/campaigns/{cid}")).json()
    assert shown["status"] == "sent" and shown["deliveries"]["sent"] == 3
    assert len(outbox) == 3
    again = await api.post(f"/api/campaigns/{cid}/send")
    assert again.status_code == 409
    assert (await api.post(f"/api/campaigns/{cid}/pause")).status_code == 409
    assert (await api.post(f"/api/campaigns/{cid}/resume")).status_code == 409
    stats = (await api.get(f"/api/campaigns/{cid}/stats")).json()
    assert stats["sent"] == 3 and stats["opened"] == {"unique": 0, "total": 0}
    listed = (await api.get("/api/campaigns", params={"status": "sent"})).json()
    assert [c["id"] for c in listed] == [cid]


async def test_pausing_and_resuming(
    api: httpx.AsyncClient, db: Database, settings: Settings, sent: Sent
) -> None:
    created = await api.post(
        "/api/campaigns",
        json={"content": "# Short\n\nA few words.\n", "lists": ["readers"], "ctas": ["none"]},
    )
    cid = created.json()["id"]
    with db.session() as session:
        move(session, cid, "send")
    paused = await api.post(f"/api/campaigns/{cid}/pause")
    assert paused.json()["status"] == "paused"
    resumed = await api.post(f"/api/campaigns/{cid}/resume")
    assert resumed.status_code == 202
    assert (await api.get(f"/api/campaigns/{cid}")).json()["status"] == "sent"


async def test_a_campaign_that_cannot_be_made_is_a_clear_4xx(api: httpx.AsyncClient) -> None:
    await api.post("/api/lists", json={"name": "daily"})
    for body, status in (
        ({"content": "# T\n\nText.", "lists": ["nope"]}, 404),
        ({"content": "# T\n\nText.", "lists": []}, 422),
        ({"content": "# T\n\nText.", "lists": ["daily"], "ctas": ["nope"]}, 404),
        ({"content": "# T\n\nText.", "lists": ["daily"], "segment": "tag:"}, 422),
        ({"content": "# T\n\nText.", "lists": ["daily"], "segment": "(" * 250 + "tag:a"}, 422),
        ({"content": "# T\n\nText.", "lists": ["daily"], "segment": "not " * 1000 + "x"}, 422),
        ({"content": "# T\n\nText.", "lists": ["daily"], "subject": "{{ 'a'*10**8 }}"}, 422),
        ({"content": "# T\n\nHi {{ 'a'*10**9 }}.", "lists": ["daily"]}, 422),
        ({"content": "# T\n\nText.", "lists": ["daily"], "template": "../../etc/passwd"}, 422),
        ({"content": "", "lists": ["daily"]}, 422),
    ):
        answer = await api.post("/api/campaigns", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]
    for path in ("/api/campaigns/999", "/api/campaigns/999/stats"):
        assert (await api.get(path)).status_code == 404
    assert (await api.get("/api/campaigns/0")).status_code == 422
    assert (await api.get(f"/api/campaigns/{2**63}")).status_code == 422


async def test_the_openapi_description_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert all(path.startswith("/api/") for path in spec["paths"])
    assert "/api/campaigns/{campaign_id}/stats" in spec["paths"]
    assert spec["components"]["securitySchemes"]["api_token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The api_token of mailer.toml.",
    }
    assert (await client.get("/docs")).status_code == 404


async def test_every_change_is_audited_as_the_api_in_its_transaction(
    api: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.post("/api/lists", json={"name": "daily"})
    await api.post("/api/subscribers", json={"email": "r@example.org", "list": "daily"})
    created = await api.post("/api/campaigns", json={"content": "# T\n\nText.", "lists": ["daily"]})
    cid = created.json()["id"]
    await api.post(f"/api/campaigns/{cid}/send")
    # Refused: a sent campaign is neither edited nor paused, and no entry says it was.
    assert (await api.patch(f"/api/campaigns/{cid}", json={"subject": "Late"})).status_code == 409
    assert (await api.post(f"/api/campaigns/{cid}/pause")).status_code == 409
    with db.session() as session:
        entries = [(e.actor, e.action) for e in reversed(recent_entries(session))]
    assert entries == [
        ("api", "list.create"),
        ("api", "subscriber.add"),
        ("api", "campaign.create"),
        ("api", "campaign.send"),
    ]

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is full")

    # An entry that cannot be written takes its change with it.
    monkeypatch.setattr("mailer.web.api.audit.audit", fails)
    assert (await api.post("/api/lists", json={"name": "monthly"})).status_code == 500
    assert (await api.get("/api/lists/monthly")).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_draft_is_edited_and_nothing_else_is(api: httpx.AsyncClient, db: Database) -> None:
    for name in ("daily", "weekly"):
        await api.post("/api/lists", json={"name": name})
    created = await api.post(
        "/api/campaigns", json={"content": "# First\n\nText.", "lists": ["weekly"]}
    )
    cid = created.json()["id"]
    edited = await api.patch(
        f"/api/campaigns/{cid}",
        json={"content": "# Second\n\nOther text.", "lists": ["daily"], "segment": "tag:a"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["subject"], edited.json()["lists"], edited.json()["segment"]) == (
        "Second",
        ["daily"],
        "tag:a",
    )
    subject = await api.patch(f"/api/campaigns/{cid}", json={"subject": "Kept: {{ 1 + 1 }}"})
    assert (subject.json()["subject"], subject.json()["lists"]) == ("Kept: {{ 1 + 1 }}", ["daily"])
    for body, status in (
        ({}, 422),
        ({"format": "html"}, 422),
        ({"lists": ["nope"]}, 404),
        ({"segment": "tag:"}, 422),
        ({"title": "x"}, 422),
    ):
        answer = await api.patch(f"/api/campaigns/{cid}", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]
    assert (await api.patch("/api/campaigns/999", json={"subject": "x"})).status_code == 404
    at = "2026-12-01T09:00:00+01:00"
    await api.post(f"/api/campaigns/{cid}/schedule", json={"at": at})
    refused = await api.patch(f"/api/campaigns/{cid}", json={"subject": "Later"})
    assert refused.status_code == 409
    assert "only a draft can be edited (unschedule it first" in refused.json()["error"]
    assert (await api.get(f"/api/campaigns/{cid}")).json()["subject"] == "Kept: {{ 1 + 1 }}"
