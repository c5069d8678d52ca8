"""A mailing rendered once for a whole campaign, and what each recipient's copy needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mailer.rendering.expressions import (
    Evaluator,
    SubscriberView,
    compile_expression,
    evaluate_html,
    html_escape,
)
from mailer.rendering.substitution import TOKEN_PATTERN, Filler, token

__all__ = ["BASE_URL", "CONTEXT_URLS", "RenderReport", "RenderedEmail"]

# Per-recipient URLs the delivery layer computes and passes in the context.
CONTEXT_URLS = ("unsubscribe_url", "preferences_url", "confirm_url")
#: Where the web app's address (``base_url``) stands in a campaign's stored rendering:
#: its messages, test sends and archive page get the address in force when they are
#: made, not the one of the day it was created (:meth:`RenderedEmail.with_base_url`).
BASE_URL = token("base_url")


@dataclass(frozen=True)
class RenderReport:
    """What a publisher checks before sending: size against Gmail's clipping, images
    without alt text, every link, and warnings."""

    size_bytes: int  # the HTML part of the largest likely recipient copy
    text_bytes: int
    limit_bytes: int  # the most the renderer lets the HTML part be
    images_without_alt: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderReport:
        return cls(**data)


@dataclass(frozen=True)
class RenderedEmail:
    """Subject, HTML and text of a mailing with per-recipient tokens in them.

    ``substitutions(context)`` gives one recipient's token values, escaped for where each
    token stands; ``Filler(rendered.html).fill(values)`` then makes that recipient's copy
    (SendGrid does the filling itself from the same values). ``expressions`` are the
    sources of the ``{{ ... }}`` expressions, token ``%%fN%%`` being number N.
    """

    subject: str
    html: str
    text: str
    report: RenderReport
    expressions: tuple[str, ...] = ()
    _plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        present = TOKEN_PATTERN.findall(self.subject + self.html + self.text)
        object.__setattr__(self, "_plan", _Plan.build(self.expressions, frozenset(present)))

    @property
    def tokens(self) -> frozenset[str]:
        """Every token in the subject, HTML and text."""
        return self._plan.present

    def substitutions(self, context: Mapping[str, Any]) -> dict[str, str]:
        """Every token's value for one recipient. ``context`` has ``subscriber`` (an
        object or mapping with email, name, first_name, attributes, tags, timezone) and
        the recipient's URLs (``unsubscribe_url``, ``preferences_url``, and
        ``confirm_url`` for a confirmation mail) where the mailing uses them."""
        variables = {"subscriber": SubscriberView(context.get("subscriber") or {})}
        values: dict[str, str] = {}
        for raw, escaped, evaluator in self._plan.expressions:
            text, html_text = evaluate_html(evaluator, variables)
            values[raw] = text
            values[escaped] = html_text
        for name, raw, escaped in self._plan.urls:
            try:
                url = str(context[name])
            except KeyError:
                raise KeyError(f"the mailing needs {name} in the context") from None
            values[raw] = url
            values[escaped] = html_escape(url)
        return values

    def fill(self, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """One recipient's subject, HTML and text (for previews and tests; sending
        many keeps Fillers of its own)."""
        values = self.substitutions(context)
        subject, html, text = (
            Filler(part).fill(values) for part in (self.subject, self.html, self.text)
        )
        return subject, html, text

    def with_base_url(self, base_url: str) -> RenderedEmail:
        """The mailing with :data:`BASE_URL` written out as ``base_url``: once per
        campaign, so that no recipient's copy has anything more to fill."""
        if BASE_URL not in self._plan.present:
            return self
        return RenderedEmail(
            subject=self.subject.replace(BASE_URL, base_url),
            html=self.html.replace(BASE_URL, html_escape(base_url)),
            text=self.text.replace(BASE_URL, base_url),
            report=self.report,
            expressions=self.expressions,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "report": self.report.to_dict(),
            "expressions": list(self.expressions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderedEmail:
        return cls(
            subject=data["subject"],
            html=data["html"],
            text=data["text"],
            report=RenderReport.from_dict(data["report"]),
            expressions=tuple(data.get("expressions", ())),
        )


@dataclass(frozen=True)
class _Plan:
    """The work ``substitutions`` does for each recipient, decided once."""

    present: frozenset[str]
    expressions: tuple[tuple[str, str, Evaluator], ...]
    urls: tuple[tuple[str, str, str], ...]

    @classmethod
    def build(cls, sources: tuple[str, ...], present: frozenset[str]) -> _Plan:
        expressions = tuple(
            (token(f"f{n}"), token(f"f{n}.h"), compile_expression(source, f"expression {n}"))
            for n, source in enumerate(sources)
            if token(f"f{n}") in present or token(f"f{n}.h") in present
        )
        urls = tuple(
            (name, token(name), token(f"{name}.h"))
            for name in CONTEXT_URLS
            if token(name) in present or token(f"{name}.h") in present
        )
        return cls(present, expressions, urls)
