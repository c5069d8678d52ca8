"""Fixtures for the delivery tests: an empty memory outbox, a real SMTP server on
loopback (aiosmtpd) and a validator of SendGrid's mail/send bodies. The TLS and DKIM
keys and the fake SendGrid are the root conftest's; the helpers are in tests/support."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jsonschema import Draft202012Validator

from mailer.delivery import memory
from tests.support.smtp import SmtpServer, start_smtp
from tests.support.spec import mail_send_validator


@pytest.fixture(autouse=True)
def _empty_memory_outbox() -> Iterator[None]:
    memory.outbox.clear()
    memory.refusals.clear()
    yield
    memory.outbox.clear()
    memory.refusals.clear()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.controller.stop()


@pytest.fixture(scope="session")
def mail_send_schema() -> Draft202012Validator:
    """A validator of request bodies for POST /v3/mail/send, from SendGrid's own OpenAPI
    description, kept in tests/data."""
    return mail_send_validator()
