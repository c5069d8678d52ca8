"""What HTML is allowed into an article (nh3, the Rust ammonia sanitiser).

Two policies: :func:`clean_document` for a whole article body on its way to blocks, and
:func:`clean_inline` for the text inside one block. Both keep only ``http``, ``https``,
``mailto`` and ``tel`` URLs, so ``javascript:`` links and ``data:`` images (a huge inline
image would break Gmail's size limit on its own) lose their URL, and both drop every
attribute that is not listed, event handlers and ``style`` included.
"""

from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
import nh3

__all__ = ["INLINE_TAGS", "clean_document", "clean_inline", "inline_text"]

_SPACE = re.compile(r"\s+")

INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "br", "code", "del", "em", "i", "mark", "s", "small", "strong"}
    | {"sub", "sup", "u"}
)
# Lists may nest inside a list item.
_LIST_TAGS = frozenset({"ul", "ol", "li"})
_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "cite", "figure", "figcaption"}
    | {"img", "pre", "hr", "div", "section", "article", "main", "header", "footer", "span"}
    | {"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "dl", "dt", "dd"}
)
# Removed with everything inside them: never article text.
_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "form"}
    | {"button", "input", "select", "textarea", "nav", "aside", "svg", "math", "canvas"}
    | {"video", "audio", "head", "title", "meta", "link"}
)
_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "width", "height", "title"},
    "ol": {"start"},
}


@lru_cache(maxsize=64)  # one per article base URL: bounded
def _cleaner(base_url: str, tags: frozenset[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(tags),
        clean_content_tags=set(_DROPPED),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items() if tag in tags},
        allowed_classes={"section": {"footnotes"}} if "section" in tags else {},
        url_schemes=set(_SCHEMES),
        url_relative=("rewrite_with_base", base_url) if base_url else "pass_through",
        link_rel=None,
        strip_comments=True,
    )


def clean_document(html: str, base_url: str = "") -> str:
    """Sanitised article HTML with structure kept; relative URLs resolved against
    ``base_url`` when it is given."""
    return str(_cleaner(base_url, INLINE_TAGS | _BLOCK_TAGS | _LIST_TAGS).clean(html))


def clean_inline(html: str, *, lists: bool = False) -> str:
    """Sanitised inline HTML: the text of one paragraph, heading, caption or list item
    (with ``lists``, nested lists are kept)."""
    return str(_cleaner("", INLINE_TAGS | _LIST_TAGS if lists else INLINE_TAGS).clean(html))


def inline_text(inline_html: str) -> str:
    """The plain text of inline HTML (for titles, alt texts and comparisons)."""
    if not inline_html.strip():
        return ""
    text = lxml.html.fragment_fromstring(inline_html, create_parent="div").text_content()
    return _SPACE.sub(" ", text).strip()
