from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from mailer.delivery.message import Batch, Content, Recipient
from mailer.delivery.sendgrid_payload import PayloadBuilder, build_payload
from mailer.exceptions import HeaderInjection, InvalidMessage
from tests.support.messages import HTML, TEXT, make_batch, make_content, make_recipient


def test_the_whole_body_of_a_small_batch() -> None:
    batch = Batch(
        Content(
            subject="The week, %%first_name%%",
            html="<p>Hi %%first_name%%</p>",
            text="Hi %%first_name%%",
            from_address="news@example.org",
            from_name="The Example Times",
            reply_to="editor@example.org",
            headers={"List-Id": "<weekly.news.example.org>"},
            campaign="c7",
        ),
        [
            Recipient(
                "d1",
                "ann@example.com",
                "Ann",
                {"%%first_name%%": "Ann", "%%unused%%": "not sent"},
                {
                    "List-Unsubscribe": "<https://news.example.org/u/1>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ),
            Recipient("d2", "bob@example.com"),
        ],
    )
    assert build_payload(batch) == {
        "personalizations": [
            {
                "to": [{"email": "ann@example.com", "name": "Ann"}],
                "substitutions": {"%%first_name%%": "Ann"},
                "custom_args": {"mailer_delivery": "d1"},
                "headers": {
                    "List-Unsubscribe": "<https://news.example.org/u/1>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "X-Mailer-Delivery": "d1",
                    "Message-ID": "<d1@example.org>",
                },
            },
            {
                "to": [{"email": "bob@example.com"}],
                "custom_args": {"mailer_delivery": "d2"},
                # Each recipient's own, on the sender's domain.
                "headers": {"X-Mailer-Delivery": "d2", "Message-ID": "<d2@example.org>"},
            },
        ],
        "from": {"email": "news@example.org", "name": "The Example Times"},
        "reply_to": {"email": "editor@example.org"},
        "subject": "The week, %%first_name%%",
        "content": [
            {"type": "text/plain", "value": "Hi %%first_name%%"},
            {"type": "text/html", "value": "<p>Hi %%first_name%%</p>"},
        ],
        "headers": {"Precedence": "bulk", "List-Id": "<weekly.news.example.org>"},
        "categories": ["c7"],
        "custom_args": {"mailer_campaign": "c7"},
    }


def test_the_html_goes_once_per_request_whatever_the_recipients() -> None:
    body = json.dumps(build_payload(make_batch(1000)))
    assert body.count("Caf\\u00e9 news: the week in review") == 2  # text and HTML, once each


@pytest.mark.parametrize(
    "batch",
    [
        make_batch(1),
        make_batch(1000),
        make_batch(3, reply_to="", from_name="", campaign="", headers={}),
        make_batch(2, text=""),
        make_batch(2, html=""),
    ],
    ids=["one", "a thousand", "bare", "html only", "text only"],
)
def test_bodies_validate_against_sendgrids_openapi_spec(
    batch: Batch, mail_send_schema: Draft202012Validator
) -> None:
    mail_send_schema.validate(build_payload(batch))


def test_the_spec_check_catches_a_wrong_body(mail_send_schema: Draft202012Validator) -> None:
    body = build_payload(make_batch(1))
    body["personalizations"][0]["to"] = [{"name": "no address"}]
    assert not mail_send_schema.is_valid(body)
    assert not mail_send_schema.is_valid({**build_payload(make_batch(1)), "categories": ["a"] * 11})


def test_more_than_a_thousand_recipients_is_not_one_request() -> None:
    with pytest.raises(InvalidMessage, match="1 to 1,000"):
        build_payload(make_batch(1001))


def test_substitutions_over_10000_bytes_refuse_that_recipient() -> None:
    builder = PayloadBuilder(make_content())
    big = make_recipient(1, substitutions={"%%first_name%%": "\u00e9" * 5000})  # 10,000 bytes
    with pytest.raises(InvalidMessage, match="10,014 bytes; SendGrid takes at most 10,000"):
        builder.personalization(big)
    # Substitutions the content does not use are not sent, so they do not count.
    unused = make_recipient(2, substitutions={"%%other%%": "x" * 20_000})
    assert "substitutions" not in builder.personalization(unused)


def test_a_non_ascii_address_refuses_that_recipient_saying_where_it_can_go() -> None:
    builder = PayloadBuilder(make_content())
    with pytest.raises(InvalidMessage, match=r"SendGrid.s mail/send does not take.*SMTPUTF8"):
        builder.personalization(make_recipient(1, email="j\u00fcrgen@example.com"))


def test_a_huge_delivery_id_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="custom_args"):
        PayloadBuilder(make_content()).personalization(make_recipient(1, delivery_id="d" * 10_000))


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Ann\r\nBcc: victim@example.com"},
        {"email": "ann@example.com\nBcc: victim@example.com"},
        {"substitutions": {"%%first_name%%": "Ann\r\nBcc: victim@example.com"}},
        {"headers": {"X-Evil": "a\r\nBcc: victim@example.com"}},
    ],
)
def test_an_injection_refuses_that_recipient(changes: dict[str, object]) -> None:
    with pytest.raises(HeaderInjection):
        PayloadBuilder(make_content()).personalization(make_recipient(1, **changes))


def test_a_line_break_in_a_body_only_substitution_is_fine() -> None:
    recipient = make_recipient(1, substitutions={"%%sub_id%%": "a\nb"})
    PayloadBuilder(make_content()).personalization(recipient)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"subject": ""}, "subject"),
        ({"html": "", "text": ""}, "part"),
        ({"subject": "Hi\r\nBcc: x@example.com"}, "line break"),
        ({"headers": {"To": "x@example.com"}}, "not headers"),
        ({"headers": {"X-SG-ID": "1"}}, "not headers"),
        ({"campaign": "c" * 256}, "255"),
        ({"from_address": "not an address"}, "address"),
    ],
)
def test_a_content_sendgrid_would_refuse_raises(changes: dict[str, object], error: str) -> None:
    with pytest.raises(InvalidMessage, match=error):
        PayloadBuilder(make_content(**changes))


def test_content_values_are_sent_as_given() -> None:
    body = build_payload(make_batch(1))
    assert body["content"] == [
        {"type": "text/plain", "value": TEXT},
        {"type": "text/html", "value": HTML},
    ]
