from __future__ import annotations

import email
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.addresses import has_control
from mailer.delivery.headers import (
    check_header,
    encode_header,
    format_address,
    list_headers,
    message_id,
)
from mailer.exceptions import HeaderInjection, InvalidMessage


def parse_header(line: bytes) -> str:
    message = email.message_from_bytes(line + b"\r\n", policy=policy.default)
    (name,) = message.keys()
    return str(message[name])


def test_a_short_ascii_header_is_written_as_it_is() -> None:
    assert encode_header("Subject", "Hello") == b"Subject: Hello\r\n"


def test_a_long_header_is_folded_at_spaces_and_unfolds_to_the_same_value() -> None:
    value = "<https://news.example.org/u/" + "t" * 30 + ">, <mailto:unsubscribe@news.example.org>"
    line = encode_header("List-Unsubscribe", value)
    assert line.count(b"\r\n ") == 1
    assert all(len(part) <= 78 for part in line.split(b"\r\n")[:-1])
    assert line.replace(b"\r\n ", b" ") == f"List-Unsubscribe: {value}\r\n".encode()


def test_a_header_line_past_998_characters_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="998"):
        encode_header("X-Long", "x" * 1000)


@pytest.mark.parametrize(
    "value",
    [
        "Caf\u00e9 \u2615 news",
        "\u00fc" * 100,  # many two-byte characters: words must not split one
        "\U0001f4f0" * 30 + " and some ASCII after it, long enough to need folding",
    ],
)
def test_a_non_ascii_header_round_trips_through_rfc_2047(value: str) -> None:
    line = encode_header("Subject", value)
    assert line.isascii()
    assert all(len(part) <= 78 for part in line.split(b"\r\n"))
    assert parse_header(line) == value


@pytest.mark.parametrize(
    "value",
    ["x\r\nBcc: victim@example.com", "x\nBcc: y", "x\rBcc: y", "nul\x00", "vt\x0bx", "fs\x1cx"],
)
def test_line_breaks_and_control_characters_are_refused(value: str) -> None:
    with pytest.raises(HeaderInjection) as caught:
        encode_header("Subject", value)
    assert isinstance(caught.value, ValueError)
    assert "Subject" in str(caught.value)


@pytest.mark.parametrize("name", ["Bcc: x", "X-Foo\r\n", "", "X Foo"])
def test_a_header_name_must_be_a_field_name(name: str) -> None:
    with pytest.raises(HeaderInjection):
        check_header(name, "value")


def test_a_tab_is_allowed() -> None:
    check_header("X-Tab", "a\tb")


def test_addresses_are_quoted_or_encoded_as_needed() -> None:
    assert format_address("a@example.org") == "a@example.org"
    assert format_address("a@example.org", "Ann") == "Ann <a@example.org>"
    assert format_address("a@example.org", "Doe, Ann") == '"Doe, Ann" <a@example.org>'
    encoded = format_address("a@example.org", "J\u00fcrgen")
    assert encoded.isascii()
    assert parse_header(encode_header("To", encoded)) == "J\u00fcrgen <a@example.org>"


@pytest.mark.parametrize(
    "address", ["a@example.org\r\nRCPT TO:<x@y>", "a b@example.org", "<a@example.org>", "nobody"]
)
def test_an_address_that_could_inject_or_is_not_one_is_refused(address: str) -> None:
    with pytest.raises(InvalidMessage):
        format_address(address)


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    with pytest.raises(InvalidMessage, match="SMTPUTF8"):
        format_address("j\u00fcrgen@example.org")


def test_a_non_ascii_address_header_is_utf8_where_allowed() -> None:
    # RFC 6532: the address stays UTF-8 (an encoded word may not stand for one), the
    # name is still encoded, and injection checks hold all the same.
    to = format_address("j\u00fcrgen@example.org", "J\u00fcrgen", utf8=True)
    line = encode_header("To", to, utf8=True)
    assert line == b"To: =?utf-8?b?SsO8cmdlbg==?= <j\xc3\xbcrgen@example.org>\r\n"
    with pytest.raises(HeaderInjection):
        format_address("j\u00fcrgen@example.org\r\nBcc: x@y", utf8=True)


def test_message_id_is_the_delivery_id_on_the_senders_domain() -> None:
    assert message_id("d42", "example.org") == "<d42@example.org>"
    with pytest.raises(InvalidMessage):
        message_id("d 42", "example.org")


def test_list_headers() -> None:
    headers = list_headers(
        "weekly.news.example.org",
        "https://news.example.org/u/abc",
        "unsubscribe@news.example.org",
        list_name="Weekly, the news",
    )
    assert headers == {
        "List-Id": '"Weekly, the news" <weekly.news.example.org>',
        "List-Unsubscribe": (
            "<https://news.example.org/u/abc>, <mailto:unsubscribe@news.example.org>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    mailto = list_headers("a.b", "https://x.example/u", "mailto:u@x.example?subject=unsubscribe")
    assert (
        mailto["List-Unsubscribe"]
        == "<https://x.example/u>, <mailto:u@x.example?subject=unsubscribe>"
    )
    assert mailto["List-Id"] == "<a.b>"


@pytest.mark.parametrize(
    ("list_id", "url", "mailto", "error"),
    [
        ("weekly", "https://x.example/u", "u@x.example", "dotted"),
        ("a.b", "http://x.example/u", "u@x.example", "https"),
        ("a.b", "https://x.example/u>, <https://evil.example", "u@x.example", "line break"),
        ("a.b", "https://x.example/u\r\nBcc: v@x", "u@x.example", "line break"),
        ("a.b", "https://x.example/u", "u@x.example\r\nBcc: v@x", "line break"),
    ],
)
def test_list_headers_refuses_what_would_break_them(
    list_id: str, url: str, mailto: str, error: str
) -> None:
    with pytest.raises(InvalidMessage, match=error):
        list_headers(list_id, url, mailto)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)))
def test_has_control_finds_what_the_pattern_finds(text: str) -> None:
    # The fast path (bytes.translate on ASCII) and the regex agree, tab allowed.
    expected = any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in text)
    assert has_control(text) is expected
    assert has_control(text + "\t") is expected
