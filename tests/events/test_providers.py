"""The provider registry and the provider interface, as data: SendGrid's provider is on
when its key is set, parses SendGrid's own sample events into ours, and maps every name it
does not know to UNKNOWN; a provider of a test's own, added as a module adds one (a class
and its line in PROVIDERS), is served by the one webhook route."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from mailer.events import providers
from mailer.events.model import ProviderEvent, TurnedOff, kind_of
from mailer.events.providers import Provider, ProviderRegistry, build_registry
from mailer.events.sendgrid import SendGridProvider
from mailer.exceptions import WebhookRefused
from mailer.settings import Settings
from mailer.storage import Database, Event, EventKind, SuppressionReason
from mailer.subscribers.suppression import suppression_of
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.keys import public_key_text, signed_headers
from tests.support.web import BASE

NOW = datetime.fromisoformat("2026-11-30T09:00:00+00:00")

# SendGrid's sample events (its Event Webhook reference), with our delivery id added as
# the custom argument we send.
SENDGRID_SAMPLES: list[dict[str, Any]] = [
    {"event": "processed", "email": "example@test.com", "timestamp": 1513299569,
     "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "category": "cat facts",
     "sg_event_id": "sg_event_id_processed", "sg_message_id": "sg_message_id",
     "mailer_delivery": "a1b2c3d4e5f60718.7"},
    {"event": "deferred", "email": "example@test.com", "timestamp": 1513299569,
     "response": "400 try again later", "attempt": "5", "sg_event_id": "sg_event_id_deferred"},
    {"event": "delivered", "email": "example@test.com", "timestamp": 1513299569,
     "response": "250 OK", "sg_event_id": "sg_event_id_delivered"},
    {"event": "open", "email": "example@test.com", "timestamp": 1513299569,
     "useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", "ip": "255.255.255.255",
     "sg_event_id": "sg_event_id_open"},
    {"event": "click", "email": "example@test.com", "timestamp": 1513299569,
     "url": "http://www.sendgrid.com/", "sg_event_id": "sg_event_id_click"},
    {"event": "bounce", "email": "example@test.com", "timestamp": 1513299569,
     "reason": "500 unknown recipient example@test.com", "status": "5.0.0", "type": "bounce",
     "sg_event_id": "sg_event_id_bounce"},
    {"event": "dropped", "email": "example@test.com", "timestamp": 1513299569,
     "reason": "Bounced Address", "status": "5.0.0", "sg_event_id": "sg_event_id_dropped"},
    {"event": "spamreport", "email": "example@test.com", "timestamp": 1513299569,
     "sg_event_id": "sg_event_id_spamreport"},
    {"event": "unsubscribe", "email": "example@test.com", "timestamp": 1513299569,
     "sg_event_id": "sg_event_id_unsubscribe"},
    {"event": "group_unsubscribe", "email": "example@test.com", "timestamp": 1513299569,
     "asm_group_id": 10, "sg_event_id": "sg_event_id_group_unsubscribe"},
    {"event": "group_resubscribe", "email": "example@test.com", "timestamp": 1513299569,
     "asm_group_id": 10, "sg_event_id": "sg_event_id_group_resubscribe"},
]  # fmt: skip


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def with_key(settings: Settings, signing_key: ec.EllipticCurvePrivateKey) -> Settings:
    return settings.model_copy(update={"sendgrid_webhook_public_key": public_key_text(signing_key)})


def test_sendgrid_is_on_when_its_key_is_set(settings: Settings, with_key: Settings) -> None:
    assert settings.sendgrid_webhook_public_key is None
    off = build_registry(settings)
    assert off.names == []
    with pytest.raises(WebhookRefused) as refused:
        off.get("sendgrid")
    assert refused.value.status == 403 and "sendgrid_webhook_public_key" in str(refused.value)
    on = build_registry(with_key)
    assert on.names == ["sendgrid"]
    assert isinstance(on.get("sendgrid"), SendGridProvider)


def test_an_unknown_provider_is_a_404_that_names_the_known_ones(settings: Settings) -> None:
    with pytest.raises(WebhookRefused) as refused:
        build_registry(settings).get("postmark" * 100)
    assert refused.value.status == 404
    message = str(refused.value)
    assert message.endswith("(the providers: sendgrid)") and len(message) < 200


def test_a_name_serves_one_provider(with_key: Settings) -> None:
    registry = build_registry(with_key)
    with pytest.raises(ValueError, match="sendgrid"):
        registry.register(TurnedOff("sendgrid", "off"))
    registry.register(Acme())
    with pytest.raises(ValueError, match="acme"):
        registry.register(Acme())


def test_every_provider_maps_names_to_our_kinds_and_ends_in_unknown(with_key: Settings) -> None:
    registry = build_registry(with_key)
    registry.register(Acme())
    for name in registry.names:
        provider = registry.get(name)
        assert provider.name == name and provider.title
        assert all(isinstance(kind, EventKind) for kind in provider.kinds.values())
        assert kind_of(provider.kinds, "surely-no-provider-says-this") is EventKind.UNKNOWN
        assert all(isinstance(r, SuppressionReason) for r in provider.drop_reasons.values())
        # A provider's drop reason is looked up in lower case.
        assert all(reason == reason.lower() for reason in provider.drop_reasons)


def test_sendgrid_parses_its_sample_events_into_ours(
    with_key: Settings, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    provider = build_registry(with_key).get("sendgrid")
    body = orjson.dumps(SENDGRID_SAMPLES)
    provider.verify(signed_headers(signing_key, body, int(NOW.timestamp())), body, NOW)
    events = provider.parse(body, NOW)
    assert [e.kind for e in events] == [
        EventKind.PROCESSED, EventKind.DEFERRED, EventKind.DELIVERED, EventKind.OPENED,
        EventKind.CLICKED, EventKind.BOUNCED, EventKind.DROPPED, EventKind.COMPLAINED,
        EventKind.UNSUBSCRIBED, EventKind.UNSUBSCRIBED, EventKind.RESUBSCRIBED,
    ]  # fmt: skip
    assert [e.hard for e in events].count(True) == 1 and events[5].hard
    assert [e.dropped_as for e in events] == [None] * 6 + [SuppressionReason.HARD_BOUNCE] + [
        None
    ] * 4
    assert events[0].delivery_ref == "a1b2c3d4e5f60718.7" and events[1].delivery_ref == ""
    assert [e.url for e in events if e.url] == ["http://www.sendgrid.com/"]
    assert events[5].reason == "500 unknown recipient <recipient>"
    assert events[0].occurred_at == datetime.fromtimestamp(1513299569, NOW.tzinfo)
    assert all(e.email == "example@test.com" for e in events)
    assert not any({"email", "ip", "useragent"} & set(e.raw) for e in events)
    assert [e.provider_event_id for e in events][:2] == [
        "sg_event_id_processed",
        "sg_event_id_deferred",
    ]


def test_sendgrid_refuses_a_changed_body(
    with_key: Settings, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    provider = build_registry(with_key).get("sendgrid")
    body = orjson.dumps(SENDGRID_SAMPLES[:1])
    headers = signed_headers(signing_key, body, int(NOW.timestamp()))
    with pytest.raises(WebhookRefused) as refused:
        provider.verify(headers, body.replace(b"processed", b"delivered"), NOW)
    assert refused.value.status == 403


# A provider of the test's own: what a new provider's module holds.
class Acme:
    """Signs nothing: a request is Acme's when it carries Acme's token."""

    name = "acme"
    title = "Acme Mail"
    kinds: Mapping[str, EventKind] = {
        "complaint": EventKind.COMPLAINED,
        "delivery": EventKind.DELIVERED,
    }
    drop_reasons: Mapping[str, SuppressionReason] = {}

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        if headers.get("x-acme-token") != "let-me-in":
            raise WebhookRefused(401, "no Acme token")

    def parse(self, body: bytes, now: datetime) -> list[ProviderEvent]:
        return [
            ProviderEvent(
                kind=kind_of(self.kinds, item["type"]),
                hard=False,
                occurred_at=now,
                email=item["to"],
                delivery_ref="",
                provider_event_id=item["id"],
                reason="",
                url="",
                raw={"type": item["type"]},
            )
            for item in orjson.loads(body)
        ]


def acme_from_settings(settings: Settings) -> Provider | TurnedOff:
    """Acme's line in PROVIDERS: always on (a real one reads its key from ``settings``)."""
    return Acme()


ACME = {"x-acme-token": "let-me-in"}


@pytest.mark.anyio
async def test_a_registered_provider_is_served_by_the_one_route(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Adding a provider: its module, and its line in PROVIDERS.
    monkeypatch.setattr(providers, "PROVIDERS", (*providers.PROVIDERS, acme_from_settings))
    app = create_app(settings, db, clock=Clock())
    events = [
        {"type": "delivery", "id": "acme-1", "to": "reader@example.org"},
        {"type": "complaint", "id": "acme-2", "to": "reader@example.org"},
        {"type": "bounce-ish", "id": "acme-3", "to": "reader@example.org"},
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        answer = await client.post("/webhooks/acme", content=orjson.dumps(events), headers=ACME)
        refused = await client.post("/webhooks/acme", content=orjson.dumps(events))
        unknown = await client.post("/webhooks/postmark", content=b"[]")
        off = await client.post("/webhooks/sendgrid", content=b"[]")
    assert answer.status_code == 200
    assert answer.json() == {"received": 3, "recorded": 3, "duplicates": 0, "suppressed": 1}
    assert refused.status_code == 401 and refused.json() == {"error": "no Acme token"}
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "no webhook provider 'postmark' (the providers: acme, sendgrid)"
    }
    assert off.status_code == 403 and "sendgrid_webhook_public_key" in off.json()["error"]
    with db.session() as session:
        rows = list(session.scalars(select(Event).order_by(Event.id)))
        assert [(e.provider, e.kind) for e in rows] == [
            ("acme", EventKind.DELIVERED),
            ("acme", EventKind.COMPLAINED),
            ("acme", EventKind.UNKNOWN),
        ]
        entry = suppression_of(session, "reader@example.org")
        assert entry is not None and entry.reason is SuppressionReason.COMPLAINT


@pytest.mark.anyio
async def test_the_app_takes_a_registry_of_its_own(settings: Settings, db: Database) -> None:
    registry = ProviderRegistry()
    registry.register(Acme())
    app = create_app(settings, db, clock=Clock(), providers=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        served = await client.post("/webhooks/acme", content=b"[]", headers=ACME)
        sendgrid = await client.post("/webhooks/sendgrid", content=b"[]")
    assert served.json()["received"] == 0
    assert sendgrid.status_code == 404
