"""Calls-to-action: which ones a mailing gets, and what a template needs to show them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from mailer.articles.model import Appeal
from mailer.articles.sanitize import inline_text
from mailer.exceptions import NotFound
from mailer.rendering.utm import Utm
from mailer.settings import CtaSettings, Settings

__all__ = ["AmountButton", "CtaView", "choose_ctas", "cta_views", "with_appeal"]

APPEAL_NAME = "appeal"  # the utm_content of an article's own appeal's link

CONTENT_WIDTH = 552  # 600 px less the padding on each side


@dataclass(frozen=True)
class AmountButton:
    label: str  # "$25"
    url: str
    width: int  # for Outlook's VML button, which needs one


@dataclass(frozen=True)
class CtaView:
    """A call-to-action ready for a template: URLs absolute and tagged."""

    name: str
    heading: str
    text: str
    button_label: str
    url: str
    button_width: int
    amounts: tuple[AmountButton, ...]
    gifts: tuple[str, ...]
    placement: Literal["top", "bottom"] | int
    button_color: str
    button_text_color: str
    background_color: str
    text_color: str


def choose_ctas(
    settings: Settings,
    *,
    requested: Sequence[str] | None,
    article: Sequence[str] | None,
    list_default: Sequence[str] | None,
) -> list[str]:
    """The calls-to-action of a mailing, by name: those asked for when rendering, else
    the article's own, else the list's default, else the configured default. ``none``
    among the names means none at all; an unknown name is an error listing the known."""
    names = next(
        (n for n in (requested, article, list_default) if n is not None), settings.default_cta
    )
    chosen = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if "none" in chosen:
        return []
    for name in chosen:
        if name not in settings.cta:
            known = ", ".join(sorted(settings.cta))
            hint = f"known: {known}" if known else "none configured: add [cta.NAME] to mailer.toml"
            raise NotFound("call-to-action", name, hint)
    return chosen


def cta_views(settings: Settings, names: Sequence[str], utm: Utm) -> list[CtaView]:
    return [_view(name, settings.cta[name], utm) for name in names]


def with_appeal(
    views: list[CtaView], appeal: Appeal | None, utm: Utm
) -> tuple[list[CtaView], list[str]]:
    """The calls-to-action with the article's own appeal merged in, and warnings: a
    reader sees one appeal, never the article's and a configured one. With configured
    ones, the first shows the article's list of what gifts pay for (its link, heading
    and amounts stay); without, the article's appeal is the box, linking where the
    article did."""
    if appeal is None:
        return views, []
    gifts = tuple(text for text in (inline_text(g) for g in appeal.gifts) if text)
    if views:
        first = views[0]
        return [replace(first, gifts=gifts or first.gifts), *views[1:]], []
    defaults = CtaSettings(button_label="Donate", url="https://example.org")
    label = appeal.button_label or defaults.button_label
    warnings = []
    if not appeal.url:
        warnings.append(
            "the article's appeal has no link and no call-to-action is configured: its box "
            "has no button (add [cta.NAME] to mailer.toml)"
        )
    view = CtaView(
        name=APPEAL_NAME,
        heading=inline_text(appeal.heading),
        text=inline_text(appeal.text),
        button_label=label,
        url=utm.tag(appeal.url, APPEAL_NAME) if appeal.url else "",
        button_width=_button_width(label, minimum=160, padding=56),
        amounts=(),
        gifts=gifts,
        placement="bottom",
        button_color=defaults.button_color,
        button_text_color=readable_on(defaults.button_color),
        background_color=defaults.background_color,
        text_color=defaults.text_color,
    )
    return [view], warnings


def _view(name: str, cta: CtaSettings, utm: Utm) -> CtaView:
    amounts = tuple(
        AmountButton(
            label=(label := _amount_label(amount, cta.currency)),
            url=utm.tag(_with_param(cta.url, cta.amount_param, _number(amount)), name),
            width=_button_width(label, minimum=72, padding=32),
        )
        for amount in cta.amounts
    )
    return CtaView(
        name=name,
        heading=cta.heading,
        text=cta.text,
        button_label=cta.button_label,
        url=utm.tag(cta.url, name),
        button_width=_button_width(cta.button_label, minimum=160, padding=56),
        amounts=amounts,
        gifts=tuple(cta.gifts),
        placement=cta.placement,
        button_color=cta.button_color,
        button_text_color=readable_on(cta.button_color),
        background_color=cta.background_color,
        text_color=cta.text_color,
    )


def _number(amount: float) -> str:
    return str(int(amount)) if amount == int(amount) else f"{amount:.2f}"


def _amount_label(amount: float, currency: str) -> str:
    number = _number(amount)
    # "EUR 10" reads oddly; "$10" and "10 EUR" do not.
    return f"{number} {currency}" if currency.isalpha() else f"{currency}{number}"


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    extra = urlencode([(name, value)])
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _button_width(label: str, *, minimum: int, padding: int) -> int:
    # Outlook's VML buttons have a fixed width; about 10 px a character at 16 px bold.
    return max(minimum, min(CONTENT_WIDTH, len(label) * 10 + padding))


def readable_on(background: str) -> str:
    """White or near-black text, whichever reads better on ``background`` (#rgb/#rrggbb)."""
    value = background.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    # Contrast with white is (1.05)/(L+0.05), with black (L+0.05)/0.05: equal near 0.179.
    return "#ffffff" if luminance < 0.179 else "#1f1f1f"
