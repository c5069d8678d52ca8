"""The campaign commands as a user types them, on the outbox backend."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.accounts.audit import recent_entries
from mailer.campaigns import ledger
from mailer.cli._audit import cli_actor
from mailer.settings import Settings
from mailer.storage import Delivery, DeliveryStatus, open_database
from mailer.storage.models import Campaign, CampaignStatus, MailingList
from tests.support.cli import Cli
from tests.support.config import SENDER
from tests.support.examples import ARTICLE, DONATE


@pytest.fixture
def project(cli: Cli, config_path: Path, settings: Settings) -> Cli:
    """Settings with the donation call-to-action (the ``settings`` fixture adds it), a
    list and three readers."""
    cli("lists", "create", "weekly")
    for name in ("ann", "bob", "cho"):
        cli("subscribers", "add", f"{name}@example.org", "--list", "weekly", "--name", name.title())
    return cli


def outbox(settings: Settings) -> list[object]:
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(settings.outbox_dir.glob("*.eml"))]


def test_create_send_show(project: Cli, settings: Settings) -> None:
    created = project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly",
                      "--subject", "Hello {{ subscriber.first_name }}")  # fmt: skip
    assert created.stdout.strip() == "1"
    as_json = json.loads(
        project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly", "--json").stdout
    )
    assert (as_json["id"], as_json["status"], as_json["lists"]) == (2, "draft", ["weekly"])
    listed = json.loads(project("campaigns", "ls", "--json").stdout)
    assert [c["status"] for c in listed] == ["draft", "draft"]

    assert "campaign 1 is sent: sent 3" in project("campaigns", "send", "1").stdout
    messages = outbox(settings)
    assert sorted(str(m["Subject"]) for m in messages) == ["Hello Ann", "Hello Bob", "Hello Cho"]  # type: ignore[index]
    shown = json.loads(project("campaigns", "show", "1", "--json").stdout)
    assert shown["status"] == "sent"
    assert shown["deliveries"]["sent"] == 3
    assert "sent" in project("campaigns", "show", "1").stdout

    again = project("campaigns", "send", "1", ok=False)
    assert again.exit_code == 1
    assert (
        "campaign 1 is sent: send works only on a campaign that is draft, scheduled" in again.stderr
    )


def test_test_sends_are_marked_and_kept_out_of_the_ledger(project: Cli, settings: Settings) -> None:
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    out = project("campaigns", "test", "1", "--to", "editor@example.org", "--to", "ann@example.org")
    assert "sent a test to editor@example.org" in out.stdout
    subjects = sorted(str(m["Subject"]) for m in outbox(settings))  # type: ignore[index]
    assert all(s.startswith("[TEST] ") for s in subjects)
    shown = json.loads(project("campaigns", "show", "1", "--json").stdout)
    assert shown["status"] == "draft"
    assert sum(shown["deliveries"].values()) == 0


def test_pause_resume_cancel_refusals(project: Cli) -> None:
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    paused = project("campaigns", "pause", "1", ok=False)
    assert "campaign 1 is draft: pause works only on a campaign that is sending" in paused.stderr
    resumed = project("campaigns", "resume", "1", ok=False)
    assert "resume works only on a campaign that is failed, paused, sending" in resumed.stderr
    assert "cancelled" in project("campaigns", "cancel", "1", "--yes").stdout
    assert "is cancelled" in project("campaigns", "send", "1", ok=False).stderr
    missing = project("campaigns", "show", "9", ok=False)
    assert "no campaign '9'" in missing.stderr


def test_bad_input_is_named(project: Cli, tmp_path: Path) -> None:
    unknown_list = project("campaigns", "create", "--article", str(ARTICLE), "-l", "nope", ok=False)
    assert "no list 'nope' (known lists: weekly)" in unknown_list.stderr
    bad_segment = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                          "--segment", "tag:a and", ok=False)  # fmt: skip
    assert "segment 'tag:a and', column 10" in bad_segment.stderr
    missing = project(
        "campaigns", "create", "--article", str(tmp_path / "x.md"), "-l", "weekly", ok=False
    )
    assert missing.exit_code == 1
    assert "x.md" in missing.stderr
    unknown_cta = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                          "--cta", "give", ok=False)  # fmt: skip
    assert "no call-to-action 'give' (known: donate)" in unknown_cta.stderr
    # What the user typed shows as typed, brackets and all (not as Rich markup).
    bracketed = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                        "--segment", "attr.x in [bold]", ok=False)  # fmt: skip
    assert "segment 'attr.x in [bold]'" in bracketed.stderr
    for deep in ("(" * 250 + "tag:a" + ")" * 250, "not " * 1000 + "tag:a"):
        nested = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                         "--segment", deep, ok=False)  # fmt: skip
        assert nested.exit_code == 1
        assert "nested more than 32 deep" in nested.stderr or "at most 2,000" in nested.stderr
        assert "Traceback" not in nested.stderr and len(nested.stderr) < 300
    for subject, error in [
        ("", "the subject is empty: leave --subject out for the article's title"),
        ("Hi\r\nBcc: evil@example.net", "the subject holds a line break"),
        ("Hi {{ subscriber.first_name", "subject: '{{' without its other half at column 4"),
        ("Hi }} there", "subject: '}}' without its other half at column 4"),
        ("{% if 1 %}x", "a subject takes {{ expressions }}, not {% statements %}"),
        ("Hi\udc85there", "the subject is not valid UTF-8 text"),
    ]:
        refused = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                          "--subject", subject, ok=False)  # fmt: skip
        assert error in refused.stderr, subject
    named = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly",
                    "--from-name", "News\r\nBcc: evil@example.net", ok=False)  # fmt: skip
    assert "the sender's name (--from-name, or publisher_name" in named.stderr
    # Nothing of the refused campaigns was stored.
    assert json.loads(project("campaigns", "ls", "--json").stdout) == []
    # Out of range is a usage error, not a traceback.
    huge = project("campaigns", "show", "99999999999999999999", ok=False)
    assert huge.exit_code == 2
    assert "campaign_id" in huge.stderr
    # A list with campaigns stays.
    campaign_id = project("campaigns", "create", "--article", str(ARTICLE), "-l", "weekly").stdout
    kept = project("lists", "rm", "weekly", "--yes", ok=False)
    # (PostgreSQL's sequences count the refused ones: the id need not be 1.)
    assert f"list 'weekly' is a list of campaign {campaign_id.strip()}: it stays" in kept.stderr
    assert "[cta.donate]" in DONATE


def test_resend_unknown_queues_only_what_is_unknown_and_reopens_nothing_else(
    project: Cli, settings: Settings
) -> None:
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    draft = project("campaigns", "resend-unknown", "1", ok=False)
    assert "campaign 1 is draft and has no unknown messages to send again" in draft.stderr
    project("campaigns", "send", "1")
    sent = project("campaigns", "resend-unknown", "1", ok=False)
    assert "campaign 1 is sent and has no unknown messages to send again" in sent.stderr
    assert json.loads(project("campaigns", "show", "1", "--json").stdout)["status"] == "sent"

    # A sender died with two messages in flight.
    with open_database(settings.database_url) as db, db.session() as session:
        rows = session.query(Delivery).order_by(Delivery.id).limit(2).all()
        for row in rows:
            row.status = DeliveryStatus.UNKNOWN
        session.flush()
        ledger.recount(session.connection(), rows[0].campaign_id)
    out = project("campaigns", "resend-unknown", "1").stdout
    assert "2 messages queued again; mailer campaigns resume 1 sends them" in out
    shown = json.loads(project("campaigns", "show", "1", "--json").stdout)
    assert (shown["status"], shown["deliveries"]["pending"]) == ("paused", 2)
    assert "campaign 1 is sent: sent 3" in project("campaigns", "resume", "1").stdout

    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    project("campaigns", "cancel", "2", "--yes")
    cancelled = project("campaigns", "resend-unknown", "2", ok=False)
    assert "campaign 2 is cancelled: it sends nothing more" in cancelled.stderr


def test_a_send_that_cannot_reach_its_server_pauses_saying_why_with_its_own_exit_status(
    project: Cli, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Real mail needs a sender at a domain of one's own (not example.org, RFC 2606).
    monkeypatch.setenv("MAILER_FROM_ADDRESS", SENDER)
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    monkeypatch.setenv("MAILER_BACKEND", "smtp")
    monkeypatch.setenv("MAILER_SMTP_URL", f"smtp://127.0.0.1:{port}")
    paused = project("campaigns", "send", "1", ok=False)
    assert paused.exit_code == 3
    assert "campaign 1 is paused: pending 3" in paused.stdout
    assert f"paused: SMTP cannot connect to 127.0.0.1:{port}" in paused.stdout
    assert "mailer campaigns resume 1 goes on" in paused.stdout
    shown = json.loads(project("campaigns", "show", "1", "--json").stdout)
    assert shown["status_reason"].startswith("SMTP cannot connect")


def test_cancelling_a_campaign_whose_sender_died_shows_its_in_flight_rows_as_unknown(
    project: Cli, settings: Settings
) -> None:
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    project("campaigns", "send", "1")
    with open_database(settings.database_url) as db, db.session() as session:
        # As a sender killed mid-batch leaves it: sending, two rows in flight, silent.
        campaign = session.get(Campaign, 1)
        assert campaign is not None
        campaign.status = CampaignStatus.SENDING
        campaign.worker = "elsewhere:1:dead"
        campaign.heartbeat_at = datetime(2020, 1, 1, tzinfo=UTC)
        for row in session.query(Delivery).order_by(Delivery.id).limit(2):
            row.status = DeliveryStatus.SENDING
        session.flush()
        ledger.recount(session.connection(), campaign.id)
    out = project("campaigns", "cancel", "1", "--yes").stdout
    assert "2 were in flight when its sender stopped: they show as unknown" in out
    shown = json.loads(project("campaigns", "show", "1", "--json").stdout)
    assert (shown["deliveries"]["sending"], shown["deliveries"]["unknown"]) == (0, 2)


def test_every_change_is_audited_as_the_unix_user_in_its_transaction(
    cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = cli
    project("lists", "create", "weekly")
    project("subscribers", "add", "ann@example.org", "--list", "weekly")
    project("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    project("campaigns", "edit", "1", "--subject", "Again")
    project("campaigns", "send", "1")
    # Refused: a sent campaign is neither edited nor cancelled, and no entry says it was.
    assert project("campaigns", "edit", "1", "--subject", "Late", ok=False).exit_code == 1
    assert project("campaigns", "cancel", "1", "--yes", ok=False).exit_code == 1
    database = open_database(settings.database_url)
    with database.session() as session:
        entries = [(e.actor, e.action, e.target) for e in reversed(recent_entries(session))]
    me = cli_actor()
    assert me.startswith("cli:")
    assert [(who, action) for who, action, _ in entries[:2]] == [
        (me, "list.create"),
        (me, "subscriber.add"),
    ]
    assert entries[2:] == [
        (me, "campaign.create", "campaign 1"),
        (me, "campaign.edit", "campaign 1"),
        (me, "campaign.send", "campaign 1"),
    ]

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is full")

    # An entry that cannot be written takes its change with it.
    monkeypatch.setattr("mailer.cli._audit.audit", fails)
    with pytest.raises(RuntimeError):
        project("lists", "create", "monthly")
    with database.session() as session:
        assert session.scalar(select(MailingList).where(MailingList.name == "monthly")) is None
    database.close()


def test_without_a_user_name_the_command_line_is_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    def nameless() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", nameless)
    assert cli_actor() == "cli"
