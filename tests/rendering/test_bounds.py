"""Expressions cannot make values large enough to exhaust memory: each is refused fast,
with its reason, before it allocates."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from mailer.exceptions import RenderError
from mailer.rendering.expressions import ExpressionSet, SubscriberView, compile_expression
from mailer.rendering.rendered import RenderedEmail, RenderReport
from mailer.rendering.substitution import token
from tests.support.cli import Cli

HOSTILE = [
    "'a' * 10**8",
    "'a' * 10**9",
    "10 ** (10 ** 10)",
    "[1] * 10**8",
    "(['a' * 100000] * 1000) | join",
    "'-'.join(['a' * 1000] * 1000)",
    "'a'.ljust(10**9)",
    "'x' | center(10**9)",
    "'{:>999999999}'.format(1)",
    "'%999999999s' % 1",
    "'%999999999s' | format(1)",
    "range(10**9) | list",
    "range(100000) | map('center', 100000) | join",
    "('a\\n' * 50000) | indent(100000)",
    "('a' * 100000) | replace('a', 'bb')",
    "'ab'.replace('a', 'a' * 100000)",
    "('a' * 50000) | wordwrap(1, wrapstring='x' * 100)",
    "[1] | batch(10**9, 'x') | list",
    "('a' * 99999) ~ ('a' * 99999) ~ ('a' * 99999)",
    "'a' * 99999 + 'b' * 99999",
]
LIMIT_BYTES = 8 * 1024 * 1024


@pytest.mark.parametrize("source", HOSTILE)
def test_a_hostile_expression_is_refused_without_allocating(source: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as caught:
            ExpressionSet().add(source, "subject")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LIMIT_BYTES, f"{source}: {peak / 1e6:.1f} MB"
    message = str(caught.value)
    assert message.startswith("subject: {{ ")
    # Jinja's own range says it its way: "larger than MAX_RANGE (100000)".
    assert "; the limit is 100,000" in message or "MAX_RANGE (100000)" in message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'ab' * 3", "ababab"),
        ("2 ** 64", str(2**64)),
        ("'%s-%05d' | format('a', 7)", "a-00007"),
        ("'{} {}'.format('a', 'b')", "a b"),
        ("[1, 2, 3] | join(', ')", "1, 2, 3"),
        ("range(3) | map('string') | join('-')", "0-1-2"),
        ("'x' | center(5)", "  x  "),
        ("'a b' | replace(' ', '_')", "a_b"),
        ("subscriber.name ~ '!' * 3", "Sam!!!"),
        ("('a' * 1000) | length", "1000"),
    ],
)
def test_ordinary_expressions_still_work(source: str, value: str) -> None:
    evaluate = compile_expression(source, "subject")
    assert str(evaluate({"subscriber": SubscriberView({"name": "Sam"})})) == value


def test_a_campaign_stored_before_the_limits_sends_and_archives_fast() -> None:
    # A subject such as {{ 'a'*10**8 }} was accepted once; each message and each visit of
    # the archive then made 100 MB. Now its value is refused at once: it prints nothing.
    rendered = RenderedEmail(
        subject="x " + token("f0"),
        html="<p>" + token("f0.h") + "</p>",
        text=token("f0"),
        report=RenderReport(size_bytes=0, text_bytes=0, limit_bytes=0),
        expressions=("'a'*10**8",),
    )
    tracemalloc.start()
    try:
        subject, html, text = rendered.fill({"subscriber": {"email": "a@example.org"}})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (subject, html, text) == ("x ", "<p></p>", "")
    assert peak < LIMIT_BYTES


def test_create_and_render_refuse_it_with_the_reason(
    cli: Cli, config_path: Path, tmp_path: Path
) -> None:
    cli("lists", "create", "weekly")
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: T\n---\n\nHello {{ 'a'*10**9 }} there.\n")
    rendered = cli("render", str(article), "-o", str(tmp_path / "out"), ok=False)
    assert rendered.exit_code == 1
    assert "the value this would make has 1,000,000,000 characters" in rendered.stderr
    assert len(rendered.stderr.strip().splitlines()) == 1
    plain = tmp_path / "b.md"
    plain.write_text("---\ntitle: T\n---\n\nHello.\n")
    created = cli("campaigns", "create", "--article", str(plain), "-l", "weekly",
                  "--subject", "x {{ 'a'*10**8 }}", ok=False)  # fmt: skip
    assert created.exit_code == 1
    assert "subject: {{ 'a'*10**8 }}: the value this would make has 100,000,000" in created.stderr
    assert len(created.stderr.strip().splitlines()) == 1


def test_numbers_that_are_values_are_not_widths() -> None:
    evaluate = compile_expression("'%d points' | format(subscriber.attr.points)", "subject")
    view = SubscriberView({"attributes": {"points": 2_500_000}})
    assert evaluate({"subscriber": view}) == "2500000 points"
    evaluate = compile_expression("'{} points'.format(subscriber.attr.points)", "subject")
    assert evaluate({"subscriber": view}) == "2500000 points"


def test_an_expression_has_at_most_2000_characters() -> None:
    # ~ joins its parts unseen by the sandbox: the source's length bounds their number.
    source = " ~ ".join(["('a' * 99999)"] * 200)
    with pytest.raises(RenderError, match="an expression has at most 2,000 characters"):
        ExpressionSet().add(source, "article.md")


def test_all_expressions_together_print_at_most_a_million_characters() -> None:
    expressions = ExpressionSet()
    tracemalloc.start()
    try:
        with pytest.raises(RenderError, match=r"would print 1,0.*; the limit is 1,000,000"):
            for n in range(20):
                expressions.add(f"'x' * {99980 + n}", "article.md")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LIMIT_BYTES


def test_one_reader_gets_at_most_a_million_characters_from_expressions() -> None:
    # Values differ by reader: the cap holds when the mail is filled, too.
    sources = tuple(f"subscriber.attr.bio * {n + 1000}" for n in range(30))
    rendered = RenderedEmail(
        subject="x",
        html="".join(token(f"f{n}.h") for n in range(len(sources))),
        text="",
        report=RenderReport(size_bytes=0, text_bytes=0, limit_bytes=0),
        expressions=sources,
    )
    values = rendered.substitutions({"subscriber": {"attributes": {"bio": "b" * 90}}})
    assert 900_000 < sum(len(v) for k, v in values.items() if k.endswith(".h%%")) <= 1_000_000
