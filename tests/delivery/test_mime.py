from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.delivery.message import Recipient
from mailer.delivery.mime import MessageBuilder
from mailer.exceptions import HeaderInjection, InvalidMessage
from tests.support.messages import make_content, make_recipient

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(data, policy=policy.default))


def content_of(part: EmailMessage) -> str:
    """The decoded text of a part; line ends as the reader's \n."""
    return str(part.get_content()).replace("\r\n", "\n")


def build(recipient: Recipient | None = None, **content_changes: object) -> EmailMessage:
    builder = MessageBuilder(make_content(**content_changes), clock=lambda: NOW)
    return parse(builder.build(recipient or make_recipient(1)))


def test_a_message_has_every_header_a_newsletter_needs() -> None:
    message = build()
    assert message["From"] == "The Example Times <news@example.org>"
    assert message["To"] == "Reader 1 <reader1@example.com>"
    assert message["Reply-To"] == "editor@example.org"
    assert message["Subject"] == "The week, Reader1"
    assert message["Date"].datetime.timestamp() == NOW
    assert message["Message-ID"] == "<d1@example.org>"
    assert message["List-Id"] == "<weekly.news.example.org>"
    assert message["List-Unsubscribe"] == (
        "<https://news.example.org/u/token1>, <mailto:unsubscribe@news.example.org>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    assert message["X-Mailer-Delivery"] == "d1"
    assert message["X-Mailer-Campaign"] == "c-2024-01"
    assert message["MIME-Version"] == "1.0"
    # Each header once.
    names = message.keys()
    assert len(names) == len({name.lower() for name in names})


def test_the_body_is_multipart_alternative_text_then_html_with_tokens_filled() -> None:
    message = build()
    assert message.get_content_type() == "multipart/alternative"
    text, html = cast(list[EmailMessage], list(message.iter_parts()))
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    for part in (text, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert content_of(text).startswith("Hello Reader1,\n\nCaf\u00e9 news")
    assert "<p>Hello Reader1,</p>" in content_of(html)
    assert 'id=1">Read</a>' in content_of(html)
    assert "\u2615" in content_of(html)
    assert "%%" not in content_of(html) + content_of(text)


def test_lines_are_short_and_end_in_crlf() -> None:
    long_line = "<p>" + "word " * 400 + "%%first_name%%</p>"
    data = MessageBuilder(make_content(html=long_line)).build(make_recipient(1))
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n")


def test_non_ascii_subject_and_name_are_encoded() -> None:
    recipient = make_recipient(
        1, name="J\u00fcrgen M\u00fcller", substitutions={"%%first_name%%": "J\u00fcrgen"}
    )
    message = build(recipient, subject="Caf\u00e9 news for %%first_name%% \u2615")
    assert message["Subject"] == "Caf\u00e9 news for J\u00fcrgen \u2615"
    assert message["To"] == "J\u00fcrgen M\u00fcller <reader1@example.com>"


def test_a_subject_without_tokens_is_encoded_once_and_kept() -> None:
    builder = MessageBuilder(make_content(subject="Same for all"))
    assert parse(builder.build(make_recipient(1)))["Subject"] == "Same for all"
    assert parse(builder.build(make_recipient(2)))["Subject"] == "Same for all"


def test_the_callers_headers_override_the_defaults() -> None:
    recipient = make_recipient(
        1, headers={"Message-ID": "<own@example.org>", "Precedence": "list", "X-Extra": "yes"}
    )
    message = build(recipient)
    assert message["Message-ID"] == "<own@example.org>"
    assert message.get_all("Precedence") == ["list"]
    assert message["X-Extra"] == "yes"
    assert MessageBuilder(make_content()).message_id(recipient) == "<own@example.org>"


def test_a_recipient_header_overrides_the_shared_one() -> None:
    message = build(make_recipient(1, headers={"List-Id": "<other.news.example.org>"}))
    assert message.get_all("List-Id") == ["<other.news.example.org>"]


def test_message_ids_are_unique_per_delivery_and_stable_on_retry() -> None:
    builder = MessageBuilder(make_content())
    ids = {parse(builder.build(make_recipient(n)))["Message-ID"] for n in range(50)}
    assert len(ids) == 50
    again = MessageBuilder(make_content()).build(make_recipient(7))
    assert parse(again)["Message-ID"] == "<d7@example.org>"


def test_a_message_with_only_html_is_a_single_part() -> None:
    message = build(text="")
    assert message.get_content_type() == "text/html"
    assert "Reader1" in content_of(message)


def test_a_message_needs_a_part() -> None:
    with pytest.raises(InvalidMessage):
        MessageBuilder(make_content(html="", text=""))


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hi\r\nBcc: victim@example.com"},
        {"from_name": "News\r\nBcc: victim@example.com"},
        {"headers": {"X-Evil": "a\nBcc: victim@example.com"}},
        {"headers": {"Bcc: victim@example.com\r\nX": "a"}},
        {"campaign": "c1\r\nBcc: victim@example.com"},
        {"from_address": "news@example.org\r\nBcc: victim@example.com"},
    ],
)
def test_an_injection_in_the_shared_content_raises_before_any_message(
    changes: dict[str, object],
) -> None:
    with pytest.raises(HeaderInjection):
        MessageBuilder(make_content(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Ann\r\nBcc: victim@example.com"},
        {"email": "ann@example.com\r\nBcc: victim@example.com"},
        {"substitutions": {"%%first_name%%": "Ann\r\nBcc: victim@example.com"}},
        {"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: victim@example.com"}},
    ],
)
def test_an_injection_in_a_recipient_raises_for_that_message(changes: dict[str, object]) -> None:
    builder = MessageBuilder(make_content())
    with pytest.raises(HeaderInjection):
        builder.build(make_recipient(1, **changes))
    builder.build(make_recipient(2))  # the others are fine


def test_a_substitution_with_a_line_break_in_the_body_is_fine() -> None:
    recipient = make_recipient(1, substitutions={"%%sub_id%%": "a\nb"})
    html = build(recipient).get_body(("html",))
    assert html is not None
    assert "id=a\nb" in content_of(cast(EmailMessage, html))


@pytest.mark.parametrize(
    "name", ["To", "subject", "Content-Type", "MIME-Version", "DKIM-Signature"]
)
def test_headers_the_builder_writes_cannot_be_given(name: str) -> None:
    with pytest.raises(InvalidMessage, match="not headers"):
        MessageBuilder(make_content(headers={name: "x"}))


def test_one_header_given_twice_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="twice"):
        MessageBuilder(make_content(headers={"X-A": "1", "x-a": "2"}))


def test_a_delivery_id_that_cannot_be_a_message_id_fails_that_message() -> None:
    with pytest.raises(InvalidMessage):
        MessageBuilder(make_content()).build(make_recipient(1, delivery_id="d 1"))


dotty = st.lists(
    st.one_of(st.text(max_size=90), st.sampled_from([".", "\n.", "..", "\r\n.x", "." * 80])),
    max_size=12,
).map("".join)
# What may stand in a header: no control characters (those fail the recipient alone).
printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)


@given(dotty, dotty, st.one_of(printable, st.just(".")).map(lambda v: "." + v), printable)
def test_no_line_of_a_message_begins_with_a_dot(
    html: str, text: str, value: str, name: str
) -> None:
    # What lets SMTP send a built message without dot-stuffing it. The value begins
    # with a dot and stands in the subject and at the start of a line of each part.
    content = make_content(html=html + "%%first_name%%", text=text + "%%first_name%%.")
    recipient = make_recipient(1, name=name, substitutions={"%%first_name%%": value})
    data = MessageBuilder(content, clock=lambda: NOW).build(recipient)
    assert not data.startswith(b".")
    assert b"\n." not in data
    assert data.endswith(b"\r\n")


def test_a_header_name_beginning_with_a_dot_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="may not begin with a dot"):
        MessageBuilder(make_content(headers={".X-Odd": "1"}))
