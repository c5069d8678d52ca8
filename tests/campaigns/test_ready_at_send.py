"""Settings that cannot send real mail, found when a campaign starts: it pauses with the
reason before anything is claimed (mailer run starts campaigns with no person to ask)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.settings import load_settings
from mailer.storage import Database
from mailer.storage.models import CampaignStatus
from tests.support.clock import Clock
from tests.support.config import SENDER
from tests.support.examples import ARTICLE


def test_a_campaign_whose_settings_went_bad_pauses_saying_why(
    db: Database, config_path: Path, weekly: list[str], clock: Clock
) -> None:
    # The weekly fixture's settings (with the donation call-to-action), on SMTP.
    text = config_path.read_text()
    text = text.replace(
        'backend = "outbox"', 'backend = "smtp"\nsmtp_url = "smtp://127.0.0.1:2525"'
    )
    text = text.replace('from_address = "newsletter@example.org"', f'from_address = "{SENDER}"')
    config_path.write_text(text)
    settings = load_settings(config_path)
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
    # Then someone empties the postal address, and mailer run starts the campaign.
    config_path.write_text(config_path.read_text().replace("1 Example Street, Springfield", ""))
    later = load_settings(config_path)
    sent: list[EmailMessage] = []
    sender = CampaignSender(db, later, MemoryBackend(sent, {}), clock=clock, sleep=clock.sleep)
    outcome = sender.send(campaign_id)
    assert outcome.status is CampaignStatus.PAUSED
    assert outcome.reason.startswith("postal_address: is empty")
    assert sent == []
    with db.session() as session:
        view = campaign_view(session, campaign_id)
        assert view.campaign.status is CampaignStatus.PAUSED
        assert view.campaign.status_reason.startswith("postal_address: is empty")
    assert set(view.counts) == {"pending"}
