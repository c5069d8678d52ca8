"""An article's own donation appeal: the "DONATE / Your donations contribute to: ..." a
publisher ends a page with. It is the article's call-to-action, not its text, so it is
taken out of the blocks (whatever reader made them) and kept as an :class:`Appeal`;
rendering shows it as the call-to-action box, merged with a configured one.
"""

from __future__ import annotations

import re

from mailer.articles.model import Appeal, Block, Footnotes, Heading, ListBlock, Paragraph
from mailer.articles.sanitize import inline_text

__all__ = ["asks_for_money", "find_appeal"]

# Words that ask for money, in a few languages.
_ASKS = re.compile(
    r"\b(?:donate|donation|donations|donating|make a gift|give (?:today|now|monthly)"
    r"|support (?:us|our|independent)|become a (?:member|supporter|patron)|chip in"
    r"|contribute today|your (?:gift|support|contribution)s?|spenden?|jetzt spenden"
    r"|faire un don|faites un don|donar|dona ahora|doe agora|fai una donazione"
    r"|пожертвова\w*)\b",
    re.IGNORECASE,
)
_LINK = re.compile(r'<a\s[^>]*href="([^"]+)"', re.IGNORECASE)
# The appeal stands at the end: at most this many blocks and words from its start.
_MAX_BLOCKS = 8
_MAX_WORDS = 160
_HEADING_WORDS = 12
_ASK_WORDS = 30  # an appeal begins with a short ask, not a paragraph about donations


def asks_for_money(text: str) -> bool:
    """Whether a text asks for a donation ("Donate", "Support our work", ...)."""
    return bool(_ASKS.search(text))


def find_appeal(blocks: list[Block]) -> tuple[list[Block], Appeal | None]:
    """The blocks without the article's closing appeal, and the appeal (None when the
    article ends without one). Footnotes after the appeal stay."""
    end = len(blocks)
    while end and isinstance(blocks[end - 1], Footnotes):
        end -= 1
    start = _appeal_start(blocks, end)
    if start is None:
        return blocks, None
    return blocks[:start] + blocks[end:], _appeal(blocks[start:end])


def _appeal_start(blocks: list[Block], end: int) -> int | None:
    """Where the appeal ending at ``end`` starts: its earliest short ask within the
    last few blocks and words, and a heading just before it. None when there is no ask
    or the whole article is one."""
    start = None
    for i in range(end - 1, max(-1, end - 1 - _MAX_BLOCKS), -1):
        said = _text(blocks[i])
        if _ASKS.search(said) and len(said.split()) <= _ASK_WORDS:
            start = i
        if sum(len(_text(b).split()) for b in blocks[i:end]) > _MAX_WORDS:
            break
    if start is None or start == 0:
        return None
    # A heading just before the ask ("Support our work") belongs to it.
    if isinstance(blocks[start - 1], Heading) and start > 1:
        start -= 1
    return start


def _appeal(part: list[Block]) -> Appeal:
    """The appeal's heading, text, link, button and gifts from its blocks."""
    heading, url, label = "", "", ""
    text: list[str] = []
    gifts: list[str] = []
    for block in part:
        words = _text(block)
        if not url and (found := _LINK.search(_html(block))):
            url = found.group(1)
        if isinstance(block, ListBlock):
            gifts.extend(block.items)
        elif not heading and not text and _is_title(words):
            if words.isupper() and _ASKS.search(words) and len(words.split()) <= 3:
                label = words.capitalize()
            else:
                heading = _html(block)
        elif len(words.split()) <= 3 and _ASKS.search(words):
            label = label or words.capitalize()
        else:
            text.append(_html(block))
    return Appeal(
        heading=heading,
        text=" ".join(text),
        url=url,
        button_label=label,
        gifts=tuple(gifts),
        blocks=tuple(part),
    )


def _is_title(words: str) -> bool:
    """A short line that does not end like a sentence."""
    return len(words.split()) <= _HEADING_WORDS and not words.endswith((".", "!", "?", ":"))


def _html(block: Block) -> str:
    if isinstance(block, Heading | Paragraph):
        return block.html
    if isinstance(block, ListBlock):
        return "<br>".join(block.items)
    return ""


def _text(block: Block) -> str:
    return inline_text(_html(block))
