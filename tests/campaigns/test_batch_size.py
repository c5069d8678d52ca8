"""Batches are as large as the backend hands over best unless send_batch_size says."""

from __future__ import annotations

from pathlib import Path

from mailer.campaigns import actions
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.delivery.sendgrid import SendGridBackend
from mailer.settings import load_settings
from mailer.storage import Database
from mailer.subscribers.importer import import_file
from mailer.subscribers.lists import create_list
from tests.support.clock import Clock
from tests.support.config import SENDER, write_config
from tests.support.examples import ARTICLE, DONATE
from tests.support.sendgrid import FakeSendGrid


def test_a_sendgrid_campaign_of_2500_goes_in_3_requests(
    db: Database, database_url: str, tmp_path: Path, sendgrid_server: FakeSendGrid,
    clock: Clock,
) -> None:  # fmt: skip
    config = write_config(
        tmp_path, database_url, backend='"sendgrid"', sendgrid_api_key='"SG.test-key"',
        sendgrid_host=f'"{sendgrid_server.host}"', from_address=f'"{SENDER}"',
    )  # fmt: skip
    config.write_text(config.read_text() + DONATE)
    settings = load_settings(config)
    members = tmp_path / "members.csv"
    members.write_text("email\n" + "".join(f"r{i}@example.org\n" for i in range(2500)))
    with db.session() as session:
        create_list(session, "weekly")
    import_file(db, members, "weekly")
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
    backend = SendGridBackend.from_settings(settings)
    sender = CampaignSender(db, settings, backend, clock=clock, sleep=clock.sleep)
    assert sender.send(campaign_id).counts["sent"] == 2500
    # Four requests are in flight at once: they may arrive in any order.
    sizes = sorted(len(r.json()["personalizations"]) for r in sendgrid_server.requests)
    assert sizes == [500, 1000, 1000]


def test_other_backends_take_500_and_the_setting_wins(db: Database, config_path: Path) -> None:
    settings = load_settings(config_path)
    assert CampaignSender(db, settings, MemoryBackend([], {})).batch_size == 500
    config_path.write_text("send_batch_size = 200\n" + config_path.read_text())
    settings = load_settings(config_path)
    assert CampaignSender(db, settings, MemoryBackend([], {})).batch_size == 200
