"""The admin's campaigns: the list (newest first, paged), a campaign's page with what
its state and the role allow, scheduling from a form (its problems shown in it), and
unschedule and cancel, each written to the audit log."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from mailer.accounts.audit import recent_entries
from mailer.campaigns import actions, ledger
from mailer.settings import Settings
from mailer.storage import Campaign, Database, Delivery
from mailer.storage.models import CampaignStatus, DeliveryStatus
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import ADMIN, post_form, shown
from tests.support.clock import Clock
from tests.support.examples import ARTICLE
from tests.support.web import Sent

pytestmark = pytest.mark.anyio


def draft(db: Database, settings: Settings, clock: Clock, readers: int = 2) -> int:
    """A draft to 'readers', a list of ``readers`` confirmed subscribers."""
    with db.session() as session:
        if session.scalar(select(Campaign.id).limit(1)) is None:
            create_list(session, "readers", title="The Morning Post")
            for n in range(readers):
                add_subscriber(session, f"reader{n}@example.org", "readers")
        campaign = actions.create(
            session, settings, article=str(ARTICLE), lists=["readers"], now=clock.now
        )
        return campaign.id


def status_of(db: Database, campaign_id: int) -> CampaignStatus:
    with db.session() as session:
        return session.get_one(Campaign, campaign_id).status


def actions_logged(db: Database) -> list[str]:
    with db.session() as session:
        return [e.action for e in recent_entries(session)]


@pytest.fixture
def campaign_id(db: Database, settings: Settings, clock: Clock) -> int:
    return draft(db, settings, clock)


async def test_the_list_shows_campaigns_newest_first_and_filters_by_status(
    as_viewer: httpx.AsyncClient, db: Database, settings: Settings, clock: Clock
) -> None:
    first, second = draft(db, settings, clock), draft(db, settings, clock)
    with db.session() as session:
        session.get_one(Campaign, first).status = CampaignStatus.CANCELLED
    page = await as_viewer.get("/admin/campaigns")
    assert page.status_code == 200
    assert page.text.index(f'/admin/campaigns/{second}"') < page.text.index(
        f'/admin/campaigns/{first}"'
    )
    assert 'href="/admin/campaigns/new"' in page.text
    only = await as_viewer.get("/admin/campaigns", params={"status": "cancelled"})
    assert f'/admin/campaigns/{first}"' in only.text
    assert f'/admin/campaigns/{second}"' not in only.text


async def test_the_list_pages_by_keyset(
    as_viewer: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mailer.web.admin.campaigns.PAGE", 2)
    ids = [draft(db, settings, clock) for _ in range(3)]
    page = await as_viewer.get("/admin/campaigns")
    assert f"/admin/campaigns?before={ids[1]}" in page.text
    older = await as_viewer.get("/admin/campaigns", params={"before": ids[1]})
    assert f'/admin/campaigns/{ids[0]}"' in older.text
    assert f'/admin/campaigns/{ids[2]}"' not in older.text
    assert "before=" not in older.text


async def test_a_viewer_sees_the_campaign_without_its_buttons(
    as_viewer: httpx.AsyncClient, campaign_id: int
) -> None:
    page = await as_viewer.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert "readers" in shown(page.text)
    assert "Send now" not in page.text
    assert "/schedule" not in page.text


async def test_an_admin_sees_what_a_draft_allows(
    as_admin: httpx.AsyncClient, campaign_id: int
) -> None:
    page = await as_admin.get(f"/admin/campaigns/{campaign_id}")
    for label in ("Send now", "Schedule", "Cancel"):
        assert label in page.text
    assert "Pause" not in page.text
    assert "Unschedule" not in page.text


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("schedule", "Scheduling a campaign"),
        ("unschedule", "Unscheduling a campaign"),
        ("cancel", "Cancelling a campaign"),
        ("send", "Sending a campaign"),
        ("resume", "Sending a campaign"),
        ("pause", "Pausing a campaign"),
        ("resend-unknown", "Sending a campaign"),
    ],
)
async def test_a_viewer_or_editor_is_refused_with_the_role_it_needs(
    as_viewer: httpx.AsyncClient,
    as_editor: httpx.AsyncClient,
    db: Database,
    campaign_id: int,
    path: str,
    action: str,
) -> None:
    for client in (as_viewer, as_editor):
        answer = await post_form(
            client,
            f"/admin/campaigns/{campaign_id}",
            f"/admin/campaigns/{campaign_id}/{path}",
            date="2026-12-01",
            time="09:00",
        )
        assert answer.status_code == 403
        assert f"{action} needs an admin's role" in shown(answer.text)
    assert status_of(db, campaign_id) is CampaignStatus.DRAFT
    assert not [a for a in actions_logged(db) if a.startswith("campaign.")]


async def schedule(client: httpx.AsyncClient, campaign_id: int, **fields: str) -> httpx.Response:
    page = f"/admin/campaigns/{campaign_id}"
    return await post_form(client, page, f"{page}/schedule", **fields)


async def test_scheduling_at_a_time_in_a_timezone(
    as_admin: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    answer = await schedule(
        as_admin, campaign_id, mode="at", date="2026-12-01", time="09:00", tz="Europe/Berlin"
    )
    assert answer.status_code == 303, answer.text
    with db.session() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.SCHEDULED
        assert campaign.scheduled_at is not None
        assert campaign.scheduled_at.isoformat().startswith("2026-12-01T08:00")
    page = await as_admin.get(answer.headers["location"])
    assert "is scheduled for 2026-12-01 09:00 Europe/Berlin" in shown(page.text)
    assert "Unschedule" in page.text
    with db.session() as session:
        entry = recent_entries(session)[0]
    assert (entry.actor, entry.action, entry.target) == (
        ADMIN,
        "campaign.schedule",
        f"campaign {campaign_id}",
    )


async def test_scheduling_in_each_readers_timezone(
    as_admin: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    answer = await schedule(
        as_admin, campaign_id, mode="local", date="2026-12-01", time="07:30", tz=""
    )
    assert answer.status_code == 303, answer.text
    with db.session() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.SCHEDULED
        assert campaign.local_time is not None and "07:30" in campaign.local_time


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"date": "2026-13-45", "time": "09:00", "tz": "UTC"}, "cannot read the time"),
        ({"date": "2020-01-01", "time": "09:00", "tz": "UTC"}, "past"),
        ({"date": "2026-12-01", "time": "09:00", "tz": "Mars/Olympus"}, "unknown timezone"),
        ({"date": "", "time": "09:00", "tz": "UTC"}, "give both a date and a time"),
    ],
)
async def test_a_bad_schedule_gives_the_form_back_with_the_problem(
    as_admin: httpx.AsyncClient,
    db: Database,
    campaign_id: int,
    fields: dict[str, str],
    problem: str,
) -> None:
    answer = await schedule(as_admin, campaign_id, mode="at", **fields)
    assert answer.status_code == 422
    assert 'class="problem" role="alert"' in answer.text
    assert problem in shown(answer.text)
    assert f'value="{fields["tz"]}"' in answer.text
    assert status_of(db, campaign_id) is CampaignStatus.DRAFT


async def test_unschedule_and_cancel(
    as_admin: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    await schedule(as_admin, campaign_id, mode="at", date="2026-12-01", time="09:00", tz="UTC")
    page = f"/admin/campaigns/{campaign_id}"
    answer = await post_form(as_admin, page, f"{page}/unschedule")
    assert answer.status_code == 303
    assert status_of(db, campaign_id) is CampaignStatus.DRAFT
    answer = await post_form(as_admin, page, f"{page}/cancel")
    assert answer.status_code == 303
    assert status_of(db, campaign_id) is CampaignStatus.CANCELLED
    shown_page = shown((await as_admin.get(page)).text)
    assert f"Campaign {campaign_id} cancelled" in shown_page
    assert f"cancelled by {ADMIN}" in shown_page
    assert actions_logged(db)[:3] == ["campaign.cancel", "campaign.unschedule", "campaign.schedule"]


async def test_a_move_the_state_does_not_allow_is_a_conflict(
    as_admin: httpx.AsyncClient, campaign_id: int
) -> None:
    page = f"/admin/campaigns/{campaign_id}"
    answer = await post_form(as_admin, page, f"{page}/pause")
    assert answer.status_code == 409
    assert "pause works only on a campaign that is sending" in shown(answer.text)


async def test_an_unknown_campaign_is_not_found(as_viewer: httpx.AsyncClient) -> None:
    assert (await as_viewer.get("/admin/campaigns/999")).status_code == 404


async def test_unknown_messages_are_explained_and_queued_again(
    as_admin: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    with db.session() as session:
        session.get_one(Delivery, sent.readers[0][2]).status = DeliveryStatus.UNKNOWN
        session.flush()
        ledger.recount(session.connection(), sent.campaign_id)
    page = f"/admin/campaigns/{sent.campaign_id}"
    text = shown((await as_admin.get(page)).text)
    assert "1 were in flight when a sender stopped" in text
    assert "Resend unknown" in text
    answer = await post_form(as_admin, page, f"{page}/resend-unknown")
    assert answer.status_code == 303
    assert status_of(db, sent.campaign_id) is CampaignStatus.PAUSED
    after = shown((await as_admin.get(page)).text)
    assert "1 messages queued again; Resume sends them." in after
    assert actions_logged(db)[0] == "campaign.resend_unknown"
