"""Rendering a mailing once per campaign: templates, email-safe HTML, the text part, the
calls-to-action, and the cut that keeps the HTML under Gmail's clipping size."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from mailer.articles.model import Article, Block, Paragraph
from mailer.articles.sanitize import inline_text
from mailer.exceptions import InputError, RenderError
from mailer.rendering.ctas import CtaView, choose_ctas, cta_views, with_appeal
from mailer.rendering.document import Findings, finish_html
from mailer.rendering.expressions import ExpressionSet
from mailer.rendering.rendered import BASE_URL, CONTEXT_URLS, RenderedEmail, RenderReport
from mailer.rendering.substitution import TOKEN_PATTERN, token
from mailer.rendering.templates import (
    TemplateEnvironment,
    render_template,
    template_environment,
    template_exists,
)
from mailer.rendering.text import block_text, tidy_text
from mailer.rendering.utm import Utm, slugify
from mailer.rendering.views import article_view, personalise_block
from mailer.settings import Settings

__all__ = ["CLIP_BYTES", "LIMIT_BYTES", "WARN_BYTES", "render_confirmation", "render_email"]

CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past about this much HTML
LIMIT_BYTES = 100 * 1024  # the renderer's limit, with room for what clients add
WARN_BYTES = 90 * 1024
# How much longer than its token a per-recipient value may be, for the size estimate.
_URL_ALLOWANCE = 250
_VALUE_ALLOWANCE = 60
_PREHEADER_LENGTH = 140
_RAW_TOKEN = re.compile(r"%%([a-z0-9_.]+?)\.h%%")
# What templates, URL joins and UTM tagging see for BASE_URL: an address like any other
# (RFC 2606 keeps .invalid unused), made the token again once the rendering is done.
_STAND_IN = "https://base-url.invalid"


def render_email(
    content: Article | Sequence[Article],
    settings: Settings,
    *,
    subject: str | None = None,
    ctas: list[str] | None = None,
    list_name: str | None = None,
    list_default_cta: list[str] | None = None,
    template: str | None = None,
    archive_url: str | None = None,
    campaign: str | None = None,
    base_url: str | None = None,
) -> RenderedEmail:
    """A mailing of one article, or a digest of several (a sequence), rendered once.

    ``subject`` defaults to the article's title (for a digest: the publisher and the
    first title); it may hold ``{{ ... }}`` expressions on ``subscriber``. ``ctas`` names
    the calls-to-action (``["none"]`` for none); without it the article's front matter,
    then ``list_default_cta``, then ``settings.default_cta`` decide. ``template`` picks
    ``NAME.html`` (and ``NAME.txt`` if there is one) instead of ``article``/``digest``.
    ``archive_url`` is the campaign's web copy (the footer's view-in-browser link),
    ``campaign`` its ``utm_campaign`` (default: the subject as a slug). ``base_url``
    is the web app's address the masthead and other links to it start with (default
    ``settings.base_url``); a campaign passes :data:`BASE_URL` (its ``archive_url``
    starting with it, too), to have its messages get the address in force when they are
    sent.

    Raises RenderError for a failing template or expression, NotFound for an unknown
    call-to-action.
    """
    digest = not isinstance(content, Article)
    articles = [content] if isinstance(content, Article) else list(content)
    if not articles:
        raise InputError("a digest needs at least one article")
    job = _Job(
        settings,
        articles,
        digest=digest,
        subject=subject,
        list_name=list_name,
        archive_url=archive_url,
        campaign=campaign,
        base_url=base_url,
    )
    names = choose_ctas(
        settings,
        requested=ctas,
        article=None if digest else articles[0].cta,
        list_default=list_default_cta,
    )
    job.ctas = cta_views(settings, names, job.utm)
    declined = "none" in next((n for n in (ctas, articles[0].cta) if n is not None), ())
    if not digest and not declined:
        job.ctas, job.appeal_warnings = with_appeal(job.ctas, articles[0].appeal, job.utm)
    kind = "digest" if digest else "article"
    return job.render(*_template_names(job.environment, template, kind))


def render_confirmation(
    settings: Settings,
    list_name: str,
    confirm_url: str | None = None,
    *,
    template: str = "confirmation",
) -> RenderedEmail:
    """The mail that asks a new subscriber to confirm. Without ``confirm_url``, the
    link is the token of ``confirm_url``, to be given per recipient in the context."""
    job = _Job(
        settings,
        [],
        digest=False,
        subject=f"Please confirm your subscription to {list_name}",
        list_name=list_name,
        archive_url=None,
        campaign="confirmation",
    )
    url: str | Markup = confirm_url or Markup(token("confirm_url.h"))
    job.extra = {"confirm_url": url, "confirmation": True}
    return job.render(*_template_names(job.environment, template, "confirmation"))


def _template_names(
    environment: TemplateEnvironment, template: str | None, kind: str
) -> tuple[str, str]:
    base = (template or kind).removesuffix(".html").removesuffix(".txt")
    text = f"{base}.txt" if template_exists(environment, f"{base}.txt") else f"{kind}.txt"
    return f"{base}.html", text


@dataclass
class _Attempt:
    html: str
    text: str
    findings: Findings
    size: int


@dataclass
class _Job:
    """One rendering: what is decided once, and the attempts the size cut needs."""

    settings: Settings
    articles: list[Article]
    digest: bool
    subject: str | None
    list_name: str | None
    archive_url: str | None
    campaign: str | None
    base_url: str | None = None
    ctas: list[CtaView] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    _cut_warnings: list[str] = field(default_factory=list)
    appeal_warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deferred = self.base_url == BASE_URL
        self.web = _STAND_IN if self.deferred else self.base_url or self.settings.base_url
        if self.archive_url is not None and self.deferred:
            self.archive_url = self.archive_url.replace(BASE_URL, _STAND_IN)
        self.expressions = ExpressionSet()
        self.environment = template_environment(self.settings)
        source = self.subject if self.subject is not None else self._default_subject()
        personal = self.subject is not None or (
            len(self.articles) == 1 and self.articles[0].personalised
        )
        self.subject_tokens = (
            self.expressions.in_text(source, "subject") if personal else source
        ).strip()
        plain = re.sub(r"\{\{.*?\}\}", " ", source)
        slug = slugify(self.campaign or plain)[:60].strip("-")
        self.utm = Utm(self.settings.utm_source, self.settings.utm_medium, slug or "newsletter")
        # Expressions become tokens once, before any attempt.
        self.blocks = [
            [
                personalise_block(b, self.expressions, a.source or a.title) if a.personalised else b
                for b in a.blocks
            ]
            for a in self.articles
        ]

    def _default_subject(self) -> str:
        if not self.articles:
            return self.settings.publisher_name
        first = self.articles[0].title
        if self.digest and len(self.articles) > 1:
            return f"{self.settings.publisher_name}: {first} and {len(self.articles) - 1} more"
        return first

    def render(self, html_name: str, text_name: str) -> RenderedEmail:
        units = len(self.articles) if self.digest else len(self.blocks[0]) if self.blocks else 0
        attempt = self._attempt(html_name, text_name, keep=None)
        if attempt.size > LIMIT_BYTES and units:
            attempt = self._cut(html_name, text_name, attempt, units)
        warnings = list(attempt.findings.warnings)
        if attempt.size > WARN_BYTES:
            warnings.append(
                f"the HTML is {attempt.size / 1024:.0f} KB: close to where Gmail clips "
                f"messages ({CLIP_BYTES // 1024} KB)"
            )
        out = self._put_back
        report = RenderReport(
            size_bytes=attempt.size,
            text_bytes=len(attempt.text.encode()),
            limit_bytes=LIMIT_BYTES,
            images_without_alt=[out(src) for src in attempt.findings.images_without_alt],
            links=[out(link) for link in attempt.findings.links],
            warnings=[out(w) for w in (*self._cut_warnings, *self.appeal_warnings, *warnings)],
            truncated=bool(self._cut_warnings),
        )
        return RenderedEmail(
            subject=self.subject_tokens,
            html=out(attempt.html),
            text=out(attempt.text),
            report=report,
            expressions=tuple(self.expressions.sources),
        )

    def _put_back(self, text: str) -> str:
        """``text`` with the stand-in for the web app's address made the token again."""
        return text.replace(_STAND_IN, BASE_URL) if self.deferred else text

    def _cut(self, html_name: str, text_name: str, full: _Attempt, units: int) -> _Attempt:
        """Keep the first units (blocks of the article, items of a digest) that fit. The
        size is not linear in the units (CSS inlining), so: estimate from their share of
        the source, render, and shrink until it fits; two or three renders in practice."""
        empty = self._attempt(html_name, text_name, keep=0)
        if empty.size > LIMIT_BYTES:
            raise RenderError(
                html_name,
                f"the email is {empty.size // 1024} KB without any article text: the "
                f"templates alone pass the {LIMIT_BYTES // 1024} KB limit",
            )
        weights = self._weights()
        cuts = self._cut_points(units)
        fraction = (LIMIT_BYTES - empty.size) / max(full.size - empty.size, 1)
        kept_weight = [0.0]
        for weight in weights:
            kept_weight.append(kept_weight[-1] + weight)
        previous = units
        while True:
            budget = fraction * kept_weight[-1]
            kept = max((k for k in cuts if k < previous and kept_weight[k] <= budget), default=0)
            attempt = empty if kept == 0 else self._attempt(html_name, text_name, keep=kept)
            if attempt.size <= LIMIT_BYTES:
                break
            previous = kept
            fraction *= min(0.95, (LIMIT_BYTES - empty.size) / (attempt.size - empty.size))
        what = "items" if self.digest else "blocks"
        rest = (
            "the email links to the rest"
            if self._continue_url()
            else "there is no address to link the rest to: give the article a url "
            "(or an archive_url)"
        )
        self._cut_warnings.append(
            f"cut after {kept} of {units} {what} to stay under Gmail's clipping size "
            f"({full.size // 1024} KB in full); {rest}"
        )
        return attempt

    def _weights(self) -> list[float]:
        if self.digest:
            return [len(a.summary) + len(a.title) + 400.0 for a in self.articles]
        return [len(block_text(b)) + 60.0 for b in self.blocks[0]]

    def _cut_points(self, units: int) -> list[int]:
        """Numbers of units that may be kept: the article is cut after a paragraph."""
        if self.digest:
            return list(range(1, units))
        blocks = self.blocks[0]
        points = [k for k in range(1, units) if isinstance(blocks[k - 1], Paragraph)]
        return points or list(range(1, units))

    def _continue_url(self) -> str:
        if not self.digest and self.articles and self.articles[0].url:
            return self.utm.tag(self.articles[0].url)
        return self.archive_url or ""

    def _attempt(self, html_name: str, text_name: str, *, keep: int | None) -> _Attempt:
        context = self._context(keep)
        html_source = render_template(self.environment, html_name, context)
        base_url = (
            self.articles[0].url if len(self.articles) == 1 and self.articles[0].url else ""
        ) or self.web + "/"
        html, findings = finish_html(html_source, base_url=base_url, utm=self.utm)
        text = render_template(self.environment, text_name, context)
        # The text part takes the raw value of every token the templates wrote.
        text = tidy_text(_RAW_TOKEN.sub(r"%%\1%%", text))
        return _Attempt(html, text, findings, _estimated_size(html))

    def _context(self, keep: int | None) -> dict[str, Any]:
        truncated = keep is not None
        continue_url = self._continue_url() if truncated else ""
        articles = []
        for i, (article, blocks) in enumerate(zip(self.articles, self.blocks, strict=True)):
            if self.digest and keep is not None and i >= keep:
                break
            shown = blocks[:keep] if not self.digest and keep is not None else blocks
            view = article_view(
                article,
                blocks=shown,
                rewrite=self.utm.tag,
                summary=self._summary(article, blocks),
                truncated=truncated and not self.digest,
                continue_url=continue_url if not self.digest else "",
            )
            view["body"] = self._body(view["blocks"], shown) if not self.digest else []
            articles.append(view)
        top = [c for c in self.ctas if c.placement == "top"]
        bottom = [c for c in self.ctas if c.placement == "bottom"]
        after: dict[int, list[CtaView]] = {}
        for cta in self.ctas:
            if not isinstance(cta.placement, int):
                continue
            if self.digest and cta.placement < len(articles):
                after.setdefault(cta.placement, []).append(cta)
            elif self.digest or not any(
                item["kind"] == "cta" and item["cta"] is cta for item in articles[0]["body"]
            ):
                bottom.append(cta)  # after paragraph N, and there are fewer (or cut)
        return {
            "email": {
                "subject": _html_tokens(self.subject_tokens),
                "preheader": self._preheader(),
                "list_name": self.list_name or "",
                "archive_url": self.archive_url or "",
                "unsubscribe_url": Markup(token("unsubscribe_url.h")),
                "preferences_url": Markup(token("preferences_url.h")),
                "truncated": truncated,
                "continue_url": continue_url,
            },
            "publisher": {
                "name": self.settings.publisher_name,
                "postal_address": self.settings.postal_address,
                "url": self.web,
            },
            "article": articles[0] if articles and not self.digest else None,
            "articles": articles,
            "ctas": {"top": top, "bottom": bottom, "after": after},
            "personal": self._personal,
            "width": 600,
            "confirmation": False,
            **self.extra,
        }

    def _body(self, views: list[dict[str, Any]], blocks: list[Block]) -> list[dict[str, Any]]:
        """The article's blocks with the calls-to-action placed after paragraph N."""
        after: dict[int, list[CtaView]] = {}
        for cta in self.ctas:
            if isinstance(cta.placement, int):
                after.setdefault(cta.placement, []).append(cta)
        body: list[dict[str, Any]] = []
        paragraphs = 0
        for view, block in zip(views, blocks, strict=True):
            body.append(view)
            if isinstance(block, Paragraph):
                paragraphs += 1
                body.extend({"kind": "cta", "cta": cta} for cta in after.pop(paragraphs, []))
        return body

    def _summary(self, article: Article, blocks: list[Block]) -> str:
        if article.subtitle:
            return article.subtitle
        return next((b.html for b in blocks if isinstance(b, Paragraph)), "")

    def _preheader(self) -> Markup:
        if not self.articles:
            return Markup("")
        article = self.articles[0]
        if self.digest and len(self.articles) > 1:
            text = " · ".join(a.title for a in self.articles[1:4])
        elif article.preheader:
            text = article.preheader
            if article.personalised:
                return Markup(self.expressions.in_html(str(escape(text)), "preheader"))
        else:
            # Made from the text, whose expressions are tokens already.
            text = inline_text(self._summary(article, self.blocks[0]))
        if len(text) > _PREHEADER_LENGTH:
            text = text[: _PREHEADER_LENGTH - 1].rsplit(" ", 1)[0] + "…"
        return Markup(escape(text))

    def _personal(self, source: str) -> Markup:
        """``{{ personal('subscriber.first_name or "friend"') }}`` in a template: a
        per-recipient value where templates are rendered once."""
        return Markup(token(f"f{self.expressions.add(source, 'template')}.h"))


def _html_tokens(subject: str) -> str:
    return TOKEN_PATTERN.sub(
        lambda m: m.group(0) if m.group(0).endswith(".h%%") else m.group(0)[:-2] + ".h%%",
        subject,
    )


def _estimated_size(html: str) -> int:
    """The HTML's size in bytes for a recipient with long values: tokens grow when
    they are filled, unsubscribe links most."""
    size = len(html.encode())
    for found in TOKEN_PATTERN.findall(html):
        name = found.strip("%").removesuffix(".h")
        allowance = _URL_ALLOWANCE if name in CONTEXT_URLS else _VALUE_ALLOWANCE
        size += max(allowance - len(found), 0)
    return size
