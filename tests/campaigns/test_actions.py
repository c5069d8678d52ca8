"""The campaign's actions, called directly, and the command line's and the API's
schedule side by side: the same input, the same answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.accounts.audit import audit, recent_entries
from mailer.campaigns import actions
from mailer.campaigns.records import get_campaign, plan_campaign
from mailer.delivery.memory import MemoryBackend
from mailer.exceptions import InputError, NotFound, StateError
from mailer.settings import Settings, load_settings
from mailer.storage import Campaign, Database, Delivery, DeliveryStatus
from mailer.storage.models import CampaignStatus
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from mailer.web.app import create_app
from tests.support.cli import Cli
from tests.support.clock import Clock
from tests.support.config import write_config
from tests.support.examples import ARTICLE, DONATE

API_TOKEN = "api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
#: Where the readers live: the configured zone (Europe/Berlin) for those without one.
ZONES = [None, "America/New_York", "Asia/Tokyo"]


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    """The test project, with an API token for the API's half of the comparison."""
    path = write_config(tmp_path, database_url, api_token=f'"{API_TOKEN}"')
    path.write_text(path.read_text() + DONATE, encoding="utf-8")
    return path


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path)


@pytest.fixture
def readers(db: Database, settings: Settings) -> None:
    """A list 'weekly' with one reader in each of ZONES."""
    with db.session() as session:
        create_list(session, "weekly")
        for n, tz in enumerate(ZONES):
            add_subscriber(session, f"r{n}@example.org", "weekly", timezone=tz)


def draft(db: Database, settings: Settings) -> int:
    with db.session() as session:
        return actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id


# --- the actions, called directly ---------------------------------------------


def test_a_plan_checks_everything_before_anything_is_written(
    db: Database, settings: Settings, readers: None
) -> None:
    with db.session() as session:
        plan = plan_campaign(
            session, settings, article=str(ARTICLE), lists=["weekly", "weekly"], from_name="Ed"
        )
        assert ([m.name for m in plan.lists], plan.from_name) == (["weekly"], "Ed")
        assert plan.from_address == "newsletter@example.org" and plan.segment == ""
        for given, problem in [
            ({"lists": []}, "needs at least one list"),
            ({"subject": " "}, "the subject is empty"),
            ({"lists": ["nope"]}, "nope"),
            ({"from_address": "not an address"}, "not an address"),
        ]:
            kwargs = {"article": str(ARTICLE), "lists": ["weekly"], **given}
            with pytest.raises((InputError, NotFound), match=problem):
                plan_campaign(session, settings, **kwargs)  # type: ignore[arg-type]
        assert session.scalars(select(Campaign)).all() == []


def test_create_says_where_the_article_came_from(
    db: Database, settings: Settings, readers: None
) -> None:
    with db.session() as session:
        campaign = actions.create(
            session, settings, article=str(ARTICLE), lists=["weekly"], source="api"
        )
        assert (campaign.status.value, campaign.source) == ("draft", "api")
    with db.session() as session:
        assert get_campaign(session, campaign.id).source == "api"


def test_schedule_reads_the_time_as_typed(
    db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    campaign_id = draft(db, settings)
    with db.session() as session:
        done = actions.schedule(session, settings, campaign_id, "2026-12-01T09:00", now=clock())
        # Without an offset or a zone: the configured one (Europe/Berlin, UTC+1).
        assert done.campaign.scheduled_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        assert done.when.isoformat() == "2026-12-01T09:00:00+01:00"
        with pytest.raises(InputError, match="has no UTC offset"):
            actions.schedule(
                session, settings, campaign_id, "2026-12-01T09:00", now=clock(), assume_zone=False
            )
        moved = actions.schedule(
            session, settings, campaign_id, "2026-12-01T09:00", now=clock(),
            local_time=True, again=True,
        )  # fmt: skip
        # Tokyo reaches 09:00 first.
        assert moved.campaign.scheduled_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
        assert moved.campaign.local_time == "2026-12-01T09:00"
        back = actions.unschedule(session, campaign_id, now=clock())
        assert (back.status.value, back.scheduled_at, back.local_time) == ("draft", None, None)
        with pytest.raises(InputError, match="out of range"):
            actions.schedule(
                session, settings, campaign_id, "9999-12-31T23:59", now=clock(),
                tz="America/New_York",
            )  # fmt: skip


def test_check_startable_refuses_before_a_sender_starts(
    db: Database, settings: Settings, readers: None
) -> None:
    campaign_id = draft(db, settings)
    with db.session() as session:
        actions.check_startable(session, settings, campaign_id, resume=False)
        with pytest.raises(StateError, match="resume works only on a campaign that is failed"):
            actions.check_startable(session, settings, campaign_id, resume=True)
        with pytest.raises(NotFound):
            actions.check_startable(session, settings, 99, resume=False)


def test_send_pause_cancel_and_resend_through_the_actions(
    db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    sent: list[EmailMessage] = []
    campaign_id = draft(db, settings)
    sender = actions.sender_for(db, settings, MemoryBackend(sent, {}), clock=clock)
    outcome = actions.send(sender, campaign_id)
    assert (outcome.status.value, len(sent)) == ("sent", 3)
    with db.session() as session:
        with pytest.raises(StateError, match="pause works only on a campaign that is sending"):
            actions.pause(session, campaign_id, reason="by hand")
        with pytest.raises(StateError, match="no unknown messages"):
            actions.resend_unknown(session, campaign_id)
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id)
            .values(status=DeliveryStatus.UNKNOWN)
        )
        resent = actions.resend_unknown(session, campaign_id)
        assert (resent.queued, resent.campaign.status.value) == (3, "paused")
    cancelled = actions.cancel(db, campaign_id, reason="cancelled by hand", now=clock())
    assert (cancelled.campaign.status.value, cancelled.skipped, cancelled.unknown) == (
        "cancelled",
        3,
        0,
    )
    with pytest.raises(StateError, match="is cancelled"):
        actions.cancel(db, campaign_id, reason="again")


def test_cancelling_when_the_sender_died_marks_its_rows_in_flight_unknown(
    db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    campaign_id = draft(db, settings)
    sender = actions.sender_for(db, settings, MemoryBackend([], {}), clock=clock)
    actions.send(sender, campaign_id)
    with db.session() as session:
        # As a sender on another machine leaves it when it dies mid-batch.
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(
                status=CampaignStatus.SENDING,
                worker="elsewhere:1:abc",
                heartbeat_at=clock() - timedelta(hours=1),
            )
        )
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id)
            .values(status=DeliveryStatus.SENDING)
        )
    cancelled = actions.cancel(db, campaign_id, reason="cancelled by hand", now=clock())
    assert (cancelled.skipped, cancelled.unknown) == (0, 3)


def test_a_record_is_written_in_the_transaction_of_the_move_and_never_for_a_refused_one(
    db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    sent_id, kept_id = draft(db, settings), draft(db, settings)

    def record(action: str) -> actions.Record:
        return lambda session: audit(session, "ed@example.org", action, now=clock())

    def crash(session: Session) -> None:
        raise RuntimeError("the process died before its commit")

    sender = actions.sender_for(db, settings, MemoryBackend([], {}), clock=clock)
    with pytest.raises(RuntimeError):
        actions.send(sender, sent_id, record=crash)
    with pytest.raises(RuntimeError):
        actions.cancel(db, kept_id, reason="cancelled by hand", record=crash)
    with db.session() as session:
        assert get_campaign(session, sent_id).status is CampaignStatus.DRAFT
        assert get_campaign(session, kept_id).status is CampaignStatus.DRAFT
    actions.send(sender, sent_id, record=record("send"))
    with pytest.raises(StateError):
        actions.send(sender, sent_id, resume=True, record=record("resume"))
    with pytest.raises(StateError):
        actions.cancel(db, sent_id, reason="too late", record=record("cancel"))
    actions.cancel(db, kept_id, reason="cancelled by hand", record=record("cancel kept"))
    with db.session() as session:
        assert [e.action for e in recent_entries(session)] == ["cancel kept", "send"]


def test_edit_renders_a_draft_again_and_keeps_what_it_is_not_given(
    db: Database, settings: Settings, readers: None, tmp_path: Path
) -> None:
    campaign_id = draft(db, settings)
    other = tmp_path / "other.md"
    other.write_text("# The bridge opens\n\nCars cross the river from Monday.\n")
    with db.session() as session:
        create_list(session, "daily")
        edited = actions.edit(session, settings, campaign_id, subject="Ferry news", ctas=["none"])
        assert (edited.subject, edited.ctas, edited.source) == (
            "Ferry news",
            ["none"],
            str(ARTICLE),
        )
        assert (
            edited.rendered["subject"] == "Ferry news" and "donate" not in edited.rendered["html"]
        )
        assert "The ferry that would not sink" in edited.rendered["html"]  # the stored copy
        edited = actions.edit(
            session, settings, campaign_id, article=str(other), lists=["daily"], segment="tag:x"
        )
        assert (edited.subject, edited.source) == ("Ferry news", str(other))
        assert ([m.name for m in edited.lists], edited.segment) == (["daily"], "tag:x")
        assert "Cars cross the river" in edited.rendered["html"]
        # "": the article's title again.
        assert (
            actions.edit(session, settings, campaign_id, subject="").subject == "The bridge opens"
        )
        for given, problem in [
            ({"lists": []}, "needs at least one list"),
            ({"segment": "tag:"}, "segment"),
            ({"subject": "a\nb"}, "line break"),
        ]:
            with pytest.raises(InputError, match=problem):
                actions.edit(session, settings, campaign_id, **given)  # type: ignore[arg-type]
    with db.session() as session:
        kept = get_campaign(session, campaign_id)
        assert (kept.subject, [m.name for m in kept.lists]) == ("The bridge opens", ["daily"])


def test_only_a_draft_is_edited_and_the_refusal_says_what_to_do(
    db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    campaign_id = draft(db, settings)
    with db.session() as session:
        actions.schedule(session, settings, campaign_id, "2026-12-01T09:00", now=clock())
    with db.session() as session, pytest.raises(StateError, match="unschedule it first"):
        actions.edit(session, settings, campaign_id, subject="Too late")
    with db.session() as session:
        actions.cancel(db, campaign_id, reason="by hand")
    with db.session() as session, pytest.raises(StateError, match="compose a new campaign"):
        actions.edit(session, settings, campaign_id, subject="Too late")
    with db.session() as session:
        assert get_campaign(session, campaign_id).subject == "The ferry that would not sink"


# --- the command line and the API side by side ----------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(settings: Settings, db: Database, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the API's tests reach it: in-process, through its ASGI transport."""
    app = create_app(settings, db, clock=clock, backend=lambda s: MemoryBackend([], {}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://news.example.org", headers=AUTH
    ) as client:
        yield client


def state_of(db: Database, campaign_id: int) -> tuple[str, datetime | None, str | None]:
    with db.session() as session:
        c = get_campaign(session, campaign_id)
        return c.status.value, c.scheduled_at, c.local_time


def by_cli(cli: Cli, campaign_id: int, at: str, tz: str | None, local: bool) -> str | None:
    """The command's refusal (None when it scheduled)."""
    args = ["campaigns", "schedule", str(campaign_id), "--at", at]
    args += ["--tz", tz] if tz else []
    args += ["--local-time"] if local else []
    result = cli(*args, ok=False)
    if result.exit_code == 0:
        return None
    return result.stderr.strip().removeprefix("error: ")


async def by_api(
    api: httpx.AsyncClient, campaign_id: int, at: str, tz: str | None, local: bool
) -> str | None:
    """The API's refusal (None when it scheduled)."""
    body: dict[str, object] = {"at": at, "local_time": local} | ({"tz": tz} if tz else {})
    answer = await api.post(f"/api/campaigns/{campaign_id}/schedule", json=body)
    if answer.status_code == 200:
        return None
    assert answer.status_code in (404, 409, 422), answer.text
    return str(answer.json()["error"])


CASES = [
    # (at, tz, local_time, the refusal's words or None)
    ("2026-12-01T08:00:00+00:00", None, False, None),
    ("2026-12-01T08:00Z", None, False, None),
    ("2026-12-01T09:00", "America/New_York", False, None),
    ("2026-12-01T09:00", None, True, None),
    ("2020-01-01T09:00:00+00:00", None, False, "is in the past"),
    ("2026-11-30T12:00", None, True, "has already passed in Asia/Tokyo"),
    ("next tuesday", None, False, "cannot read the time 'next tuesday'"),
    ("next tuesday", None, True, "cannot read the time 'next tuesday'"),
    ("2026-12-01T09:00+01:00", None, True, "without an offset"),
    ("2026-12-01T09:00", "Asia/Tokyo", True, "drop --tz"),
    ("2027-03-28T02:30", "Europe/Berlin", False, "the clocks skip it"),
    ("2026-12-01T09:00", "Mars/Olympus", False, "unknown timezone 'Mars/Olympus'"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("at", "tz", "local", "refused"), CASES)
async def test_the_cli_and_the_api_schedule_alike(
    cli: Cli,
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    readers: None,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    at: str,
    tz: str | None,
    local: bool,
    refused: str | None,
) -> None:
    monkeypatch.setattr("mailer.cli.scheduling._now", clock)
    campaign_id = draft(db, settings)
    before = state_of(db, campaign_id)
    from_cli = by_cli(cli, campaign_id, at, tz, local)
    after_cli = state_of(db, campaign_id)
    with db.session() as session:
        if after_cli[0] == "scheduled":
            actions.unschedule(session, campaign_id, now=clock())
    assert state_of(db, campaign_id) == before
    from_api = await by_api(api, campaign_id, at, tz, local)
    assert state_of(db, campaign_id) == after_cli
    assert from_cli == from_api
    if refused is None:
        assert from_cli is None and after_cli[0] == "scheduled"
    else:
        assert from_cli is not None and refused in from_cli
        assert after_cli == before


@pytest.mark.anyio
async def test_the_cli_and_the_api_refuse_the_same_campaigns(
    cli: Cli, api: httpx.AsyncClient, db: Database, settings: Settings, readers: None, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("mailer.cli.scheduling._now", clock)
    cancelled = draft(db, settings)
    actions.cancel(db, cancelled, reason="cancelled by hand")
    at = "2026-12-01T08:00:00+00:00"
    for campaign_id, problem in [
        (cancelled, f"campaign {cancelled} is cancelled: schedule works only on a campaign"),
        (99, "99"),
    ]:
        from_cli = by_cli(cli, campaign_id, at, None, False)
        assert from_cli is not None and problem in from_cli
        assert await by_api(api, campaign_id, at, None, False) == from_cli


@pytest.mark.anyio
async def test_only_the_api_asks_for_an_offset_or_a_zone(
    cli: Cli, api: httpx.AsyncClient, db: Database, settings: Settings, readers: None, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A person's time without an offset is read in the configured zone; a program's
    is refused, since nothing tells which zone it meant."""
    monkeypatch.setattr("mailer.cli.scheduling._now", clock)
    campaign_id = draft(db, settings)
    assert by_cli(cli, campaign_id, "2026-12-01T09:00", None, False) is None
    assert state_of(db, campaign_id)[1] == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    refused = await by_api(api, campaign_id, "2026-12-01T09:00", None, False)
    assert refused is not None and "has no UTC offset" in refused


def test_the_cli_edits_a_draft_and_refuses_one_that_is_scheduled(
    cli: Cli, db: Database, settings: Settings, readers: None, clock: Clock
) -> None:
    campaign_id = draft(db, settings)
    said = cli("campaigns", "edit", str(campaign_id), "--subject", "Ferry news", "--cta", "none")
    assert f"campaign {campaign_id} is changed: Ferry news" in said.stdout
    with db.session() as session:
        assert get_campaign(session, campaign_id).ctas == ["none"]
    assert "nothing to change" in cli("campaigns", "edit", str(campaign_id), ok=False).stderr
    with db.session() as session:
        actions.schedule(session, settings, campaign_id, "2026-12-01T09:00", now=clock())
    refused = cli("campaigns", "edit", str(campaign_id), "--subject", "x", ok=False)
    assert refused.exit_code != 0 and "unschedule it first" in refused.stderr
