"""A whole campaign over SMTP to a server that misbehaves (aiosmtpd on loopback): lost
answers, dropped connections and deferrals, as the ledger records them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailer.campaigns import actions
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.smtp import SmtpBackend
from mailer.settings import Settings
from mailer.settings.smtp_url import parse_smtp_url
from mailer.storage import Database, Delivery, Subscriber
from mailer.storage.models import Suppression
from mailer.subscribers.lists import create_list
from tests.support.cli import Cli
from tests.support.clock import Clock
from tests.support.config import SENDER, write_config
from tests.support.examples import ARTICLE, DONATE
from tests.support.readers import add_people
from tests.support.smtp import SmtpServer, start_smtp


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    server = start_smtp()
    server.handler.pipelining = True
    yield server
    server.controller.stop()


def send(db: Database, settings: Settings, server: SmtpServer, clock: Clock, **options: Any) -> Any:
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
    backend = SmtpBackend(parse_smtp_url(server.url()), concurrency=2)
    sender = CampaignSender(db, settings, backend, clock=clock, sleep=clock.sleep, **options)
    return sender.send(campaign_id)


def copies(server: SmtpServer) -> Counter[str]:
    return Counter(rcpt for r in server.handler.received for rcpt in r.rcpt_tos)


def ledger_by_email(db: Database) -> dict[str, tuple[str, str, bool]]:
    with db.session() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.status, Delivery.error, Delivery.bounced).join(
                Subscriber, Subscriber.id == Delivery.subscriber_id
            )
        ).all()
    return {email: (status.value, error, bounced) for email, status, error, bounced in rows}


def test_a_lost_answer_is_unknown_never_sent_again_nor_failed_nor_suppressed(
    db: Database, settings: Settings, weekly: list[str], server: SmtpServer, clock: Clock
) -> None:
    handler = server.handler
    # The server keeps these messages and hangs up before it answers; sent again, one
    # would be refused (the mailbox has it) and the other delivered twice.
    handler.lose_reply = {weekly[3]: "550 5.7.1 seen this one", weekly[10]: None}
    handler.drop_at_rcpt = {weekly[5]}  # before the data: nothing taken, sent again
    handler.answer_data = {weekly[7]: "451 4.3.0 try later"}  # an answer: retried later
    outcome = send(db, settings, server, clock, batch_size=7)
    assert outcome.status.value == "sent"

    received = copies(server)
    assert max(received.values()) == 1, "somebody got the campaign twice"
    assert set(received) == set(weekly)
    ledger = ledger_by_email(db)
    assert {e for e, (status, _, _) in ledger.items() if status == "unknown"} == {
        weekly[3],
        weekly[10],
    }
    assert {e for e, (status, _, _) in ledger.items() if status == "sent"} == set(weekly) - {
        weekly[3],
        weekly[10],
    }
    _, error, bounced = ledger[weekly[3]]
    assert error.startswith("connection lost after the message: no answer to the message's data")
    assert not bounced
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def readers(db: Database, count: int) -> list[str]:
    with db.session() as session:
        create_list(session, "weekly")
    return add_people(db, "weekly", count)


def defer(server: SmtpServer, emails: list[str], every: int, of: int = 5) -> None:
    """The server answers 451 to ``every`` of each ``of`` readers, on every try."""
    for number, email in enumerate(emails):
        if number % of < every:
            server.handler.refusals[email] = "451 4.7.1 greylisted, try later"


def test_a_fifth_deferred_does_not_pause_a_campaign_at_the_default_threshold(
    db: Database, settings: Settings, server: SmtpServer, clock: Clock
) -> None:
    # One batch of 500 (the default): its 100 deferrals, counted after its 400
    # successes, once filled the last 200 places half with failures.
    defer(server, readers(db, 500), 1)
    outcome = send(db, settings, server, clock)
    assert outcome.status.value == "sent", outcome.reason
    assert Counter(s for s, _, _ in ledger_by_email(db).values()) == {"sent": 400, "failed": 100}
    assert len(server.handler.received) == 400


def test_a_row_retried_three_times_counts_as_one_failure(
    db: Database, settings: Settings, server: SmtpServer, clock: Clock
) -> None:
    # Small batches, so that only the retries could crowd the window. The 20 deferred
    # rows are tried four times each; counted every time, that was 80 failures to the
    # 80 successes.
    defer(server, readers(db, 100), 1)
    outcome = send(db, settings, server, clock, batch_size=10)
    assert outcome.status.value == "sent", outcome.reason
    assert Counter(s for s, _, _ in ledger_by_email(db).values()) == {"sent": 80, "failed": 20}


def test_three_fifths_deferred_pause_the_campaign_after_the_first_batch(
    db: Database, settings: Settings, server: SmtpServer, clock: Clock
) -> None:
    defer(server, readers(db, 200), 3)
    outcome = send(db, settings, server, clock, batch_size=100)
    assert outcome.status.value == "paused"
    assert outcome.reason.startswith("60 of the last 100 messages failed (most often: rcpt: 451")
    assert len(server.handler.received) == 40


def test_a_test_send_whose_answer_was_lost_says_it_may_have_arrived(
    tmp_path: Path, database_url: str, server: SmtpServer
) -> None:
    config = write_config(
        tmp_path, database_url, backend='"smtp"', smtp_url=f'"{server.url()}"',
        from_address=f'"{SENDER}"',
    )  # fmt: skip
    config.write_text(config.read_text() + DONATE)
    cli = Cli(config)
    cli("lists", "create", "weekly")
    cli("subscribers", "add", "ann@example.org", "--list", "weekly")
    cli("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    server.handler.lose_reply = {"editor@example-times.org": None}
    out = cli(
        "campaigns", "test", "1", "--to", "desk@example-times.org",
        "--to", "editor@example-times.org", ok=False,
    )  # fmt: skip
    assert out.exit_code == 1
    assert "sent a test to desk@example-times.org" in out.stdout
    assert out.stderr.startswith("may have reached editor@example-times.org: connection lost")
    assert copies(server) == {"desk@example-times.org": 1, "editor@example-times.org": 1}
