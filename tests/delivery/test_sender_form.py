"""from_address as "The Weekly <news@example.org>": parsed by the standard library,
and every place that builds mail uses its address and its name."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from mailer.addresses import Mailbox, parse_mailbox
from mailer.delivery.mime import MessageBuilder
from mailer.delivery.sendgrid_payload import build_payload
from mailer.exceptions import ConfigError, HeaderInjection, InvalidMessage
from mailer.settings import load_settings
from tests.support.config import write_config
from tests.support.messages import make_batch, make_content, make_recipient


@pytest.mark.parametrize(
    ("text", "mailbox"),
    [
        ("news@example.org", Mailbox("", "news@example.org")),
        (" news@example.org ", Mailbox("", "news@example.org")),
        ("The Weekly <news@example.org>", Mailbox("The Weekly", "news@example.org")),
        ('"Doe, Ann" <ann@example.org>', Mailbox("Doe, Ann", "ann@example.org")),
        ("Caf\u00e9 Times <cafe@example.org>", Mailbox("Caf\u00e9 Times", "cafe@example.org")),
        ("=?utf-8?q?Caf=C3=A9?= <cafe@example.org>", Mailbox("Caf\u00e9", "cafe@example.org")),
        ("<news@example.org>", Mailbox("", "news@example.org")),
    ],
)
def test_both_forms_parse(text: str, mailbox: Mailbox) -> None:
    assert parse_mailbox(text) == mailbox


@pytest.mark.parametrize(
    "text",
    [
        "The Weekly <news@example.org",
        "a@example.org, b@example.org",
        "x <a@example.org> y",
        "W <a>",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidMessage, match="not an address or a name and <address>"):
        parse_mailbox(text)


def test_a_line_break_is_an_injection() -> None:
    with pytest.raises(HeaderInjection):
        parse_mailbox("W\r\nBcc: x@y.org <news@example.org>")


CASES = [
    # (from_address, from_name) -> the From header, SendGrid's "from"
    (
        ("news@example.org", "The Example Times"),
        "The Example Times <news@example.org>",
        {"email": "news@example.org", "name": "The Example Times"},
    ),
    (
        ("The Weekly <news@example.org>", ""),
        "The Weekly <news@example.org>",
        {"email": "news@example.org", "name": "The Weekly"},
    ),
    (
        ("The Weekly <news@example.org>", "Given Name"),
        "Given Name <news@example.org>",
        {"email": "news@example.org", "name": "Given Name"},
    ),
    (("news@example.org", ""), "news@example.org", {"email": "news@example.org"}),
]


@pytest.mark.parametrize(("given", "header", "payload_from"), CASES)
def test_the_from_header_and_sendgrids_from_for_both_forms(
    given: tuple[str, str], header: str, payload_from: dict[str, str]
) -> None:
    address, name = given
    content = make_content(from_address=address, from_name=name)
    assert content.from_address == "news@example.org"
    builder = MessageBuilder(content)
    raw = builder.build(make_recipient(1))
    lines = raw.split(b"\r\n")
    assert f"From: {header}".encode() in lines
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert message["Message-ID"] == "<d1@example.org>"
    body = build_payload(make_batch(1, from_address=address, from_name=name))
    assert body["from"] == payload_from
    assert body["personalizations"][0]["headers"]["Message-ID"] == "<d0@example.org>"


def test_settings_take_the_form_and_check_the_address(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "sqlite:///var/x.db", from_address='"The Weekly <news@daily.org>"'
    )
    settings = load_settings(path)
    assert settings.from_address == "The Weekly <news@daily.org>"
    assert settings.sender == Mailbox("The Weekly", "news@daily.org")
    plain = load_settings(write_config(tmp_path, "sqlite:///var/x.db"))
    assert plain.sender == Mailbox("The Example Times", "newsletter@example.org")
    for bad, reason in (
        ('"The Weekly <news@-daily.org>"', "invalid email address"),
        ('"The Weekly <news@daily.org"', "not an address or a name and <address>"),
    ):
        with pytest.raises(ConfigError, match=reason) as caught:
            load_settings(write_config(tmp_path, "sqlite:///var/x.db", from_address=bad))
        assert caught.value.key == "from_address"


def test_the_confirmation_mail_comes_from_the_address_with_its_name(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from mailer.web.confirmation import ConfirmationRequest, confirmation_batch

    path = write_config(
        tmp_path, "sqlite:///var/x.db", from_address='"The Weekly <news@daily.org>"'
    )
    request = ConfirmationRequest("ann@daily.org", "Ann", 1, "weekly", 5)
    batch = confirmation_batch(load_settings(path), request, datetime(2026, 1, 1, tzinfo=UTC))
    assert (batch.content.from_address, batch.content.from_name) == ("news@daily.org", "The Weekly")
    raw = MessageBuilder(batch.content).build(batch.recipients[0])
    assert b"\r\nFrom: The Weekly <news@daily.org>\r\n" in b"\r\n" + raw
    assert b"@daily.org>\r\n" in raw.split(b"Message-ID: ", 1)[1][:80]
