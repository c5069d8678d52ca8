from __future__ import annotations

import quopri

from hypothesis import given
from hypothesis import strategies as st

from mailer.delivery.qp import QuotedPrintableFiller, encode_quoted_printable
from mailer.rendering.substitution import Filler

TOKENS = ["%%a%%", "%%b_1%%", "%%c.d%%"]
# Text as a newsletter has it: any characters, runs of spaces, long lines, tokens.
pieces = st.one_of(
    st.text(max_size=120),
    st.sampled_from(TOKENS),
    st.sampled_from([" ", "  ", "\n", "\r\n", "=", ".", "..", "\n.", "\t", "x" * 80, "." * 80]),
)
texts = st.lists(pieces, max_size=30).map("".join)
values = st.dictionaries(st.sampled_from(TOKENS[:2]), st.text(max_size=100))


def decode(data: bytes) -> str:
    return quopri.decodestring(data).decode("utf-8").replace("\r\n", "\n")


def normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@given(texts, values)
def test_filling_encoded_pieces_decodes_to_the_filled_text(text: str, subs: dict[str, str]) -> None:
    encoded = QuotedPrintableFiller(text).fill(subs)
    expected = normalized(
        Filler(normalized(text)).fill({k: normalized(v) for k, v in subs.items()})
    )
    assert decode(encoded) == expected
    lines = encoded.split(b"\r\n")
    assert all(len(line) <= 76 for line in lines)
    assert b"\n" not in encoded.replace(b"\r\n", b"")
    assert all(not line.endswith((b" ", b"\t")) for line in lines)
    # SMTP sends it without dot-stuffing.
    assert not encoded.startswith(b".") and b"\n." not in encoded


@given(texts)
def test_plain_encoding_round_trips(text: str) -> None:
    encoded = encode_quoted_printable(text)
    assert decode(encoded) == normalized(text)
    assert not encoded.startswith(b".") and b"\n." not in encoded


def test_a_leading_dot_is_escaped_even_where_the_line_is_full() -> None:
    dots = "." * 200 + "\n." + "=" * 30 + "\n."
    encoded = encode_quoted_printable(dots)
    assert decode(encoded) == dots
    lines = encoded.split(b"\r\n")
    assert all(len(line) <= 76 and not line.startswith(b".") for line in lines)
    assert lines[0].startswith(b"=2E")


def test_a_token_standing_many_times_is_filled_everywhere() -> None:
    filler = QuotedPrintableFiller("<a href='%%a%%'>1</a> <a href='%%a%%'>2</a>")
    assert decode(filler.fill({"%%a%%": "https://x.example/?q=1"})) == (
        "<a href='https://x.example/?q=1'>1</a> <a href='https://x.example/?q=1'>2</a>"
    )


def test_a_token_without_a_value_stays() -> None:
    assert decode(QuotedPrintableFiller("Hi %%a%%!").fill({})) == "Hi %%a%%!"
