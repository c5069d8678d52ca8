from __future__ import annotations

from pathlib import Path

from mailer.delivery import memory
from mailer.delivery.backends import get_backend
from mailer.delivery.memory import MemoryBackend
from mailer.delivery.message import Outcome
from tests.support.config import make_settings
from tests.support.messages import make_batch


def test_messages_are_kept_as_email_messages(tmp_path: Path) -> None:
    backend = get_backend(make_settings(tmp_path, backend="memory"))
    results = backend.send_batch(make_batch(2))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT]
    assert [m["To"] for m in memory.outbox] == [
        "Reader 0 <reader0@example.com>",
        "Reader 1 <reader1@example.com>",
    ]
    assert memory.outbox[0]["X-Mailer-Delivery"] == "d0"


def test_refused_addresses_bounce_or_are_deferred() -> None:
    messages: list = []
    backend = MemoryBackend(messages, {})
    backend.refuse("Reader0@example.com")
    backend.refuse("reader2@example.com", code=451)
    results = backend.send_batch(make_batch(3))
    assert [(r.outcome, r.bounce) for r in results] == [
        (Outcome.FAILED, True),
        (Outcome.SENT, False),
        (Outcome.RETRY, False),
    ]
    assert results[0].error == "550 5.1.1 mailbox unavailable"
    assert results[2].error == "451 4.2.0 try again later"
    assert len(messages) == 1
    assert memory.outbox == []
