from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mailer.articles import Article, Paragraph
from mailer.articles.markdown import parse_markdown
from mailer.exceptions import RenderError
from mailer.rendering import Filler, RenderedEmail, render_email
from mailer.rendering.expressions import (
    ENVIRONMENT,
    SubscriberView,
    compile_expression,
    to_text,
)
from mailer.settings import Settings
from tests.support.rendering import SAMPLE


def _article(text: str) -> Article:
    return parse_markdown(f"---\ntitle: T\ncta: none\n---\n{text}\n")


def test_subject_and_body_are_personalised_once_per_recipient(settings: Settings) -> None:
    rendered = render_email(
        _article(
            'Dear {{ subscriber.first_name or "friend" }}, from {{ subscriber.attr.country }}.'
        ),
        settings,
        subject='{{ subscriber.first_name or "Hello" }}: <news> & more',
    )
    # One render; tokens where the values go.
    assert rendered.subject == "%%f0%%: <news> & more"
    assert "Dear %%f1.h%%, from %%f2.h%%." in rendered.html
    assert "Dear %%f1%%, from %%f2%%." in rendered.text
    assert "<title>%%f0.h%%: &lt;news&gt; &amp; more</title>" in rendered.html
    values = rendered.substitutions(SAMPLE)
    assert values["%%f0%%"] == "Ann"
    assert values["%%f2%%"] == "DE"
    subject, html, text = rendered.fill(SAMPLE)
    assert subject == "Ann: <news> & more"
    assert "Dear Ann, from DE." in html and "Dear Ann, from DE." in text
    nameless = {**SAMPLE, "subscriber": {"email": "x@example.org"}}
    assert rendered.fill(nameless)[0] == "Hello: <news> & more"


def test_values_are_escaped_for_html_only(settings: Settings) -> None:
    rendered = render_email(
        _article("Hi {{ subscriber.name }}!"), settings, subject="{{ subscriber.name }}"
    )
    evil = {**SAMPLE, "subscriber": {"name": '<script>"x" & y</script>'}}
    values = rendered.substitutions(evil)
    assert values["%%f0%%"] == '<script>"x" & y</script>'
    assert values["%%f0.h%%"] == "&lt;script&gt;&#34;x&#34; &amp; y&lt;/script&gt;"
    subject, html, text = rendered.fill(evil)
    assert subject == '<script>"x" & y</script>'
    assert "<script>" not in html
    assert 'Hi <script>"x" & y</script>!' in text


class _OrmLike:
    """Like mailer.storage.models.Subscriber: attributes, and first_name a property."""

    email = "ann@example.org"
    name = "Ann Lee"
    attributes = {"country": "FR"}  # noqa: RUF012
    tags = ["donor"]  # noqa: RUF012
    timezone = "Europe/Paris"
    first_name = "Ann"
    subscriptions = "must not be reachable"


def test_subscriber_objects_and_mappings() -> None:
    for source in (
        _OrmLike(),
        {"email": "ann@example.org", "name": "Ann Lee", "attributes": {"country": "FR"}},
    ):
        view = {"subscriber": SubscriberView(source)}
        assert to_text(compile_expression("subscriber.first_name", "t")(view)) == "Ann"
        assert to_text(compile_expression("subscriber.attr.country", "t")(view)) == "FR"
        assert to_text(compile_expression("subscriber.attributes.country", "t")(view)) == "FR"
        assert to_text(compile_expression("subscriber.attributes.missing.deeper", "t")(view)) == ""
        assert to_text(compile_expression("subscriber.subscriptions", "t")(view)) == ""
    mapping = {"subscriber": SubscriberView({"name": "", "attributes": {"first_name": "Bo"}})}
    assert to_text(compile_expression("subscriber.first_name", "t")(mapping)) == "Bo"


def test_the_sandbox_keeps_article_authors_out(settings: Settings) -> None:
    rendered = render_email(
        _article("{{ subscriber.__class__.__mro__ }} {{ subscriber._source }}"), settings
    )
    values = rendered.substitutions(SAMPLE)
    assert values["%%f0%%"] == "" and values["%%f1%%"] == ""
    with pytest.raises(RenderError, match="SecurityError"):
        render_email(_article("{{ ''.__class__.__subclasses__() }}"), settings)


def test_expression_errors_name_where_they_are(settings: Settings) -> None:
    with pytest.raises(RenderError, match=r"^subject: \{\{ subscriber.name \+ \}\}: "):
        render_email(_article("x"), settings, subject="{{ subscriber.name + }}")
    broken = dataclasses.replace(_article("{{ 1 / 0 }}"), source="news.md")
    with pytest.raises(RenderError, match=r"^news.md: \{\{ 1 / 0 \}\}: ZeroDivisionError"):
        render_email(broken, settings)


def test_code_is_not_evaluated(settings: Settings) -> None:
    rendered = render_email(_article("Write `{{ subscriber.name }}` in a template."), settings)
    assert "<code>{{ subscriber.name }}</code>" in rendered.html
    assert not rendered.expressions


def test_pages_from_the_web_are_not_personalised(settings: Settings) -> None:
    page = Article(title="T", blocks=(Paragraph("Angular says {{ vm.title }}"),))
    rendered = render_email(page, settings)
    assert "Angular says {{ vm.title }}" in rendered.html
    assert not rendered.expressions


def test_templates_can_ask_for_per_recipient_values(
    article: Article, cta_settings: Settings
) -> None:
    override = cta_settings.base_dir / "templates" / "partials"
    override.mkdir(parents=True)
    (override / "header.html").write_text(
        '<tr><td class="masthead">Hello '
        "{{ personal('subscriber.first_name or \"you\"') }}</td></tr>"
    )
    rendered = render_email(article, cta_settings)
    assert "Hello Ann</td>" in rendered.fill(SAMPLE)[1]


def test_the_context_must_give_the_urls_the_mailing_uses(
    article: Article, cta_settings: Settings
) -> None:
    rendered = render_email(article, cta_settings)
    with pytest.raises(KeyError, match="unsubscribe_url"):
        rendered.substitutions({"subscriber": {}})


def test_a_rendered_email_can_be_stored_and_used_later(
    article: Article, cta_settings: Settings
) -> None:
    rendered = render_email(article, cta_settings)
    stored = RenderedEmail.from_dict(json.loads(json.dumps(rendered.to_dict())))
    assert stored == rendered
    assert stored.substitutions(SAMPLE) == rendered.substitutions(SAMPLE)
    values = stored.substitutions(SAMPLE)
    assert Filler(stored.html).fill(values) == rendered.fill(SAMPLE)[1]


def test_an_expression_failing_for_one_recipient_prints_nothing(settings: Settings) -> None:
    rendered = render_email(_article("Score: {{ 10 // subscriber.attr.n }}."), settings)
    ok = rendered.fill({"subscriber": {"attributes": {"n": 5}}, **_URLS})[2]
    failing = rendered.fill({"subscriber": {"attributes": {"n": 0}}, **_URLS})[2]
    assert "Score: 2." in ok and "Score: ." in failing


_URLS = {"unsubscribe_url": "https://x.org/u", "preferences_url": "https://x.org/p"}

EXPRESSIONS = [
    "subscriber.first_name",
    'subscriber.first_name or "friend"',
    "subscriber.name and subscriber.first_name",
    "not subscriber.tags",
    'subscriber.attr.country if subscriber.attr.country else "nowhere"',
    'subscriber.attr.country == "DE"',
    '"donor" in subscriber.tags',
    '"Hi " ~ subscriber.first_name ~ "!"',
    'subscriber.first_name | default("you", true) | upper',
    "subscriber.name | title | trim",
    'subscriber.attributes["country"]',
    "subscriber.attr.missing.deeper",
    "subscriber.timezone",
    "subscriber.tags | length",
    "subscriber.first_name if subscriber.attr.vip",
    "subscriber.email.split('@')[1]",  # not on the fast path: Jinja itself
]

_text = st.one_of(st.none(), st.text(max_size=12))
_subscribers = st.fixed_dictionaries(
    {},
    optional={
        "email": st.emails(),
        "name": st.one_of(st.just(""), st.text(max_size=20)),
        "attributes": st.dictionaries(
            st.sampled_from(["country", "vip", "first_name"]),
            st.one_of(_text, st.booleans(), st.integers()),
        ),
        "tags": st.lists(st.sampled_from(["donor", "press", "x"]), max_size=3),
        "timezone": st.one_of(st.none(), st.just("Europe/Berlin")),
    },
)


@hypothesis_settings(max_examples=150, deadline=None, derandomize=True)
@given(subscriber=_subscribers, expression=st.sampled_from(EXPRESSIONS))
def test_the_fast_path_gives_what_jinja_gives(subscriber: dict[str, Any], expression: str) -> None:
    variables = {"subscriber": SubscriberView(subscriber)}
    jinja = ENVIRONMENT.compile_expression(expression, undefined_to_none=False)
    assert _outcome(lambda: compile_expression(expression, "t")(variables)) == _outcome(
        lambda: jinja(**variables)
    )


def _outcome(evaluate: Any) -> str:
    try:
        return to_text(evaluate())
    except Exception as err:
        return f"raised {type(err).__name__}"
