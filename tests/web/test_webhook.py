"""SendGrid's event webhook: signed with a test key pair as SendGrid signs, replayed,
forged and stale; events normalised, de-duplicated, tied to our ledger, and acting on
the address."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from mailer.delivery.memory import MemoryBackend
from mailer.events.actions import record_provider_events
from mailer.events.sendgrid import normalise
from mailer.settings import Settings
from mailer.storage import Database, Delivery, Event, EventKind, SuppressionReason
from mailer.subscribers.subscriptions import find_subscriber
from mailer.subscribers.suppression import suppression_of
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.keys import signed_headers
from tests.support.web import BASE, Sent

pytestmark = pytest.mark.anyio

_ids: Iterator[int] = itertools.count()


def sg_event(sent: Sent, clock: Clock, name: str, reader: int = 0, **fields: Any) -> dict[str, Any]:
    email, _, delivery_id = sent.readers[reader]
    return {
        "email": email,
        "timestamp": int(clock.now.timestamp()),
        "event": name,
        "sg_event_id": f"sg-{next(_ids)}",
        "sg_message_id": "abc.filter0001",
        "ip": "198.51.100.7",
        "useragent": "Mozilla/5.0",
        "mailer_delivery": f"{sent.uid}.{delivery_id}",
        **fields,
    }


class Hook:
    """Posts events to the webhook, signed with the key the settings trust."""

    def __init__(self, client: httpx.AsyncClient, key: ec.EllipticCurvePrivateKey, clock: Clock):
        self.client, self.key, self.clock = client, key, clock

    async def post(self, events: Any, *, key: ec.EllipticCurvePrivateKey | None = None,
                   body: bytes | None = None, timestamp: int | None = None) -> httpx.Response:  # fmt: skip
        data = orjson.dumps(events) if body is None else body
        stamp = int(self.clock.now.timestamp()) if timestamp is None else timestamp
        headers = signed_headers(key or self.key, data, stamp)
        return await self.client.post("/webhooks/sendgrid", content=data, headers=headers)


@pytest.fixture
def hook(client: httpx.AsyncClient, signing_key: ec.EllipticCurvePrivateKey, clock: Clock) -> Hook:
    return Hook(client, signing_key, clock)


def stored(db: Database) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


async def test_events_are_recorded_and_tied_to_our_delivery(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    events = [
        sg_event(sent, clock, "processed"),
        sg_event(sent, clock, "delivered", response="250 OK"),
        sg_event(sent, clock, "open"),
        sg_event(sent, clock, "click", url="https://news.example.org/story"),
        sg_event(sent, clock, "deferred", reader=1, response="421 try later"),
    ]
    answer = await hook.post(events)
    assert answer.status_code == 200
    assert answer.json() == {"received": 5, "recorded": 5, "duplicates": 0, "suppressed": 0}
    rows = stored(db)
    assert [e.kind for e in rows] == [
        EventKind.PROCESSED, EventKind.DELIVERED, EventKind.OPENED, EventKind.CLICKED,
        EventKind.DEFERRED,
    ]  # fmt: skip
    _, subscriber_id, delivery_id = sent.readers[0]
    assert {(e.campaign_id, e.delivery_id, e.subscriber_id) for e in rows[:4]} == {
        (sent.campaign_id, delivery_id, subscriber_id)
    }
    assert rows[3].url == "https://news.example.org/story"
    assert rows[0].provider == "sendgrid"
    assert rows[0].occurred_at == clock.now.replace(microsecond=0)


async def test_a_replayed_request_records_nothing_twice(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    events = [sg_event(sent, clock, "delivered"), sg_event(sent, clock, "open")]
    body = orjson.dumps(events)
    first = await hook.post(None, body=body)
    clock.now += timedelta(minutes=5)
    again = await hook.post(
        None, body=body, timestamp=int((clock.now - timedelta(minutes=5)).timestamp())
    )
    assert first.json()["recorded"] == 2
    assert again.status_code == 200
    assert again.json() == {"received": 2, "recorded": 0, "duplicates": 2, "suppressed": 0}
    # The same event twice within one request counts once too.
    twice = sg_event(sent, clock, "open")
    assert (await hook.post([twice, twice])).json()["duplicates"] == 1
    assert len(stored(db)) == 3


async def test_a_stale_request_is_refused(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    events = [sg_event(sent, clock, "bounce")]
    old = int((clock.now - timedelta(seconds=601)).timestamp())
    answer = await hook.post(events, timestamp=old)
    assert answer.status_code == 403
    assert "seconds" in answer.json()["error"]
    future = int((clock.now + timedelta(seconds=601)).timestamp())
    assert (await hook.post(events, timestamp=future)).status_code == 403
    assert stored(db) == []


async def test_a_forged_request_is_refused(
    hook: Hook, client: httpx.AsyncClient, db: Database, sent: Sent, clock: Clock
) -> None:
    events = [sg_event(sent, clock, "spamreport")]
    other = ec.generate_private_key(ec.SECP256R1())
    assert (await hook.post(events, key=other)).status_code == 403
    # Signed, then changed on the way.
    body = orjson.dumps(events)
    headers = signed_headers(hook.key, body, int(clock.now.timestamp()))
    changed = body.replace(b"spamreport", b"delivered!")
    answer = await client.post("/webhooks/sendgrid", content=changed, headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "the signature does not match"}
    for bad in ("", "not base64!", "AAAA"):
        answer = await client.post(
            "/webhooks/sendgrid",
            content=body,
            headers={**headers, "X-Twilio-Email-Event-Webhook-Signature": bad},
        )
        assert answer.status_code in (401, 403), bad
    unsigned = await client.post("/webhooks/sendgrid", content=body)
    assert unsigned.status_code == 401
    bad_time = await client.post(
        "/webhooks/sendgrid",
        content=body,
        headers={**headers, "X-Twilio-Email-Event-Webhook-Timestamp": "soon"},
    )
    assert bad_time.status_code == 400
    assert stored(db) == []
    with db.session() as session:
        assert suppression_of(session, sent.readers[0][0]) is None


async def test_without_a_key_the_webhook_is_off(
    settings: Settings,
    db: Database,
    sent: Sent,
    clock: Clock,
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    app = create_app(
        settings.model_copy(update={"sendgrid_webhook_public_key": None}),
        db,
        clock=clock,
        backend=lambda s: MemoryBackend([], {}),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        answer = await Hook(client, signing_key, clock).post([sg_event(sent, clock, "bounce")])
    assert answer.status_code == 403
    assert "sendgrid_webhook_public_key" in answer.json()["error"]
    assert stored(db) == []


async def test_a_malformed_body_is_a_clear_400(hook: Hook, db: Database) -> None:
    for body in (b"{not json", b'{"event": "open"}', b"[1, 2]", b'"text"', "[é]".encode("latin-1")):
        answer = await hook.post(None, body=body)
        assert answer.status_code in (400, 403), body
        assert "error" in answer.json()
    assert (await hook.post(None, body=b"{oops")).status_code == 400


async def test_a_hard_bounce_suppresses_at_once(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    email = sent.readers[0][0]
    bounce = sg_event(
        sent, clock, "bounce", type="bounce", reason=f"550 5.1.1 <{email.upper()}>: no such user"
    )
    answer = await hook.post([bounce])
    assert answer.json()["suppressed"] == 1
    with db.session() as session:
        entry = suppression_of(session, email)
        assert entry is not None and entry.reason is SuppressionReason.HARD_BOUNCE
        assert session.get_one(Delivery, sent.readers[0][2]).bounced
    (event,) = stored(db)
    assert event.hard and event.reason == "550 5.1.1 <<recipient>>: no such user"
    # Nothing that names the person is kept of the raw event.
    assert not {"email", "ip", "useragent"} & set(event.raw)
    assert email not in orjson.dumps(event.raw).decode().lower()


async def test_a_spam_report_suppresses_and_ends_every_subscription(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    await hook.post([sg_event(sent, clock, "spamreport", reader=1)])
    email = sent.readers[1][0]
    with db.session() as session:
        entry = suppression_of(session, email)
        assert entry is not None and entry.reason is SuppressionReason.COMPLAINT
        statuses = {s.status.value for s in find_subscriber(session, email).subscriptions}
    assert statuses == {"unsubscribed"}


async def test_an_unsubscribe_event_unsubscribes(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    await hook.post([sg_event(sent, clock, "unsubscribe", reader=2)])
    email = sent.readers[2][0]
    with db.session() as session:
        entry = suppression_of(session, email)
        assert entry is not None and entry.reason is SuppressionReason.UNSUBSCRIBED
        assert {s.status.value for s in find_subscriber(session, email).subscriptions} == {
            "unsubscribed"
        }


async def test_soft_bounces_suppress_after_the_limit_in_a_row(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    email = sent.readers[0][0]

    def suppressed() -> bool:
        with db.session() as session:
            return suppression_of(session, email) is not None

    async def soft() -> None:
        clock.now += timedelta(minutes=1)
        await hook.post(
            [sg_event(sent, clock, "bounce", type="blocked", reason="452 mailbox full")]
        )

    await soft()
    await soft()
    clock.now += timedelta(minutes=1)
    await hook.post([sg_event(sent, clock, "delivered")])  # the mailbox works again
    await soft()
    await soft()
    assert not suppressed()
    await soft()  # the third in a row (soft_bounce_limit = 3)
    assert suppressed()
    assert all(not e.hard for e in stored(db) if e.kind is EventKind.BOUNCED)


async def test_a_drop_for_an_address_sendgrid_knows_as_bounced_suppresses(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    await hook.post([sg_event(sent, clock, "dropped", reason="Bounced Address")])
    await hook.post([sg_event(sent, clock, "dropped", reader=1, reason="Spam Content")])
    with db.session() as session:
        assert suppression_of(session, sent.readers[0][0]) is not None
        assert suppression_of(session, sent.readers[1][0]) is None


async def test_unknown_and_foreign_events_are_kept_but_not_tied(
    hook: Hook, db: Database, sent: Sent, clock: Clock
) -> None:
    events = [
        sg_event(sent, clock, "something_new"),
        sg_event(sent, clock, "open", mailer_delivery=f"0000000000000000.{sent.readers[0][2]}"),
        sg_event(
            sent,
            clock,
            "bounce",
            mailer_delivery="confirm.1.0.1764493200000",
            email="x@example.org",
        ),
        sg_event(sent, clock, "open", mailer_delivery=f"{sent.uid}.99999999999999999999999"),
        {"event": "open"},
    ]
    answer = await hook.post(events)
    assert answer.json()["recorded"] == 5
    rows = stored(db)
    assert rows[0].kind is EventKind.UNKNOWN and rows[0].campaign_id == sent.campaign_id
    assert [e.campaign_id for e in rows[1:]] == [None, None, None, None]
    with db.session() as session:
        # The confirmation mail's hard bounce still suppresses its address.
        assert suppression_of(session, "x@example.org") is not None


async def test_a_body_over_the_limit_is_refused(
    settings: Settings, db: Database, clock: Clock, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    app = create_app(settings.model_copy(update={"max_webhook_bytes": 2048}), db, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        answer = await Hook(client, signing_key, clock).post([{"event": "open", "pad": "x" * 3000}])
    assert answer.status_code == 413


def test_events_another_request_recorded_meanwhile_count_once(
    db: Database, settings: Settings, sent: Sent, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [normalise(sg_event(sent, clock, name), now=clock.now) for name in ("open", "click")]
    with db.session() as session:
        record_provider_events(session, settings, events[:1], provider="sendgrid", now=clock.now)
    # As if the other request committed between our look-up and our insert.
    monkeypatch.setattr("mailer.events.actions._known_ids", lambda session, ids: set())
    with db.session() as session:
        report = record_provider_events(
            session, settings, events, provider="sendgrid", now=clock.now
        )
    assert (report.recorded, report.duplicates) == (1, 1)
    assert [e.kind for e in stored(db)] == [EventKind.OPENED, EventKind.CLICKED]
