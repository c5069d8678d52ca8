"""Batches sent by worker processes (send_processes): same ledger, same guarantees."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.backends import get_backend
from mailer.delivery.message import Outcome, RecipientResult
from mailer.exceptions import BackendError
from mailer.settings import load_settings
from mailer.storage import Database
from tests.support.examples import ARTICLE, DONATE

pytestmark = pytest.mark.slow


def test_worker_processes_send_every_message_once(
    db: Database, weekly: list[str], config_path: Path
) -> None:
    # The weekly fixture's settings have added the donation call-to-action already.
    assert DONATE in config_path.read_text()
    config_path.write_text("send_processes = 2\nsend_batch_size = 4\n" + config_path.read_text())
    settings = load_settings(config_path)
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
    outcome = CampaignSender(db, settings, get_backend(settings), batch_size=4).send(campaign_id)
    assert outcome.status.value == "sent"
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"sent": len(weekly)}
    messages = list(settings.outbox_dir.glob("*.eml"))
    assert len(messages) == len(weekly)


def test_backend_errors_cross_processes_whole() -> None:
    handed = RecipientResult("c.1", Outcome.SENT, provider_message_id="x")
    error = BackendError(
        "SendGrid", "API response 400: bad", status=400, body="{}", results=[handed]
    )
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert (copy.status, copy.body, copy.retryable, copy.results) == (400, "{}", False, [handed])
