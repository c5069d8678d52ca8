"""Markdown articles with YAML front matter (markdown-it-py, mdit-py-plugins, PyYAML).

Front matter keys: ``title``, ``subtitle``, ``author``, ``date``, ``preheader``, ``image``
(with ``image_alt`` and ``image_caption``), ``url``, ``tags``, ``cta`` and
``personalise`` (default true: ``{{ ... }}`` in the text are per-recipient expressions).
Other keys are ignored, so front matter written for a static site generator works as is.
Without a ``title``, a first ``# Heading`` is the title.

An image alone in a paragraph becomes an image block; its Markdown title is the caption:
``![Alt text](photo.jpg "The caption")``. Footnotes (``[^1]``) are numbered in the text
and listed at the end; bare ``https://`` addresses become links (linkify-it-py).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import urljoin

import yaml
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from mailer.articles.appeal import find_appeal
from mailer.articles.blocks import html_to_blocks
from mailer.articles.model import Article, Image
from mailer.exceptions import ArticleError, quoted

__all__ = ["parse_markdown"]

_EXPRESSION = re.compile(r"\{\{.+?\}\}", re.DOTALL)
# Private-use characters: nothing in Markdown gives them a meaning.
_HIDE_START, _HIDE_END = "\ue000", "\ue001"
_HIDDEN = re.compile(f"{_HIDE_START}(\\d+){_HIDE_END}")


def parse_markdown(text: str, *, source: str = "") -> Article:
    """The article in a Markdown text; ``source`` names it in errors."""
    md = _markdown()
    env: dict[str, Any] = {}
    text, expressions = _protect_expressions(text)
    tokens = md.parse(text, env)
    meta: dict[str, Any] = {}
    if tokens and tokens[0].type == "front_matter":
        meta = _front_matter(tokens[0], source)
        tokens = tokens[1:]
    title = _string(meta, "title", source)
    if not title:
        title, tokens = _leading_h1(tokens)
    if not title:
        raise ArticleError(
            source, "no title (set title: in the front matter, or start with # Title)"
        )
    url = _url(meta, source)
    body = _restore_expressions(md.renderer.render(tokens, md.options, env), expressions)
    blocks, appeal = find_appeal(html_to_blocks(body, base_url=url))
    return Article(
        title=title,
        blocks=tuple(blocks),
        subtitle=html.escape(_string(meta, "subtitle", source), quote=False),
        byline=_byline(meta.get("author"), source),
        date=_date(meta.get("date"), source),
        url=url,
        preheader=_string(meta, "preheader", source),
        image=_lead_image(meta, url, source),
        tags=_names(meta.get("tags"), "tags", source) or (),
        cta=_names(meta.get("cta"), "cta", source),
        personalised=meta.get("personalise", True) is not False,
        source=source,
        appeal=appeal,
    )


def _protect_expressions(text: str) -> tuple[str, list[str]]:
    """``{{ ... }}`` swapped for placeholders that Markdown leaves alone: otherwise
    ``subscriber.name`` would become a link and ``__class__`` bold text."""
    expressions: list[str] = []

    def hide(found: re.Match[str]) -> str:
        expressions.append(found.group(0))
        return f"{_HIDE_START}{len(expressions) - 1}{_HIDE_END}"

    # The front matter stays as it is: its YAML may hold expressions too (a preheader).
    head = ""
    if text.startswith("---"):
        end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
        if end is not None:
            head, text = text[: end.end() + 3], text[end.end() + 3 :]
    return head + _EXPRESSION.sub(hide, text), expressions


def _restore_expressions(rendered: str, expressions: list[str]) -> str:
    return _HIDDEN.sub(lambda m: html.escape(expressions[int(m.group(1))], quote=False), rendered)


@cache
def _markdown() -> MarkdownIt:
    md = (
        MarkdownIt("commonmark", {"html": True, "linkify": True})
        .use(front_matter_plugin)
        .use(footnote_plugin)
        .enable(["table", "strikethrough", "linkify"])
    )
    # Footnotes as plain numbers and a numbered list: links inside a message to its own
    # anchors do not work in every client, and "↩" back-links would be noise.
    md.add_render_rule("footnote_ref", _footnote_ref)
    md.add_render_rule("footnote_block_open", lambda *_: '<section class="footnotes"><ol>')
    md.add_render_rule("footnote_block_close", lambda *_: "</ol></section>")
    md.add_render_rule("footnote_open", lambda *_: "<li>")
    md.add_render_rule("footnote_close", lambda *_: "</li>")
    md.add_render_rule("footnote_anchor", lambda *_: "")
    return md


def _footnote_ref(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    meta = tokens[idx].meta
    number = int(meta["id"]) + 1
    return f"<sup>[{number}]</sup>"


def _front_matter(token: Token, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(token.content)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 2 if mark is not None else None  # after the opening ---
        raise ArticleError(
            source, f"front matter is not valid YAML: {err.problem}", line=line
        ) from err
    except yaml.YAMLError as err:
        raise ArticleError(source, f"front matter is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ArticleError(source, "front matter must be key: value lines", line=2)
    return data


def _leading_h1(tokens: list[Token]) -> tuple[str, list[Token]]:
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        return tokens[1].content.strip(), tokens[3:]
    return "", tokens


def _string(meta: dict[str, Any], key: str, source: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ArticleError(source, f"front matter {key}: must be text")
    return str(value).strip()


def _url(meta: dict[str, Any], source: str) -> str:
    url = _string(meta, "url", source)
    if url and not url.startswith(("http://", "https://")):
        raise ArticleError(
            source, f"front matter url: must be an absolute http(s) URL, not {quoted(url)}"
        )
    return url


def _byline(value: Any, source: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        names = [str(v).strip() for v in value if str(v).strip()]
        return (
            " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)
        )
    if isinstance(value, dict):
        raise ArticleError(source, "front matter author: must be a name or a list of names")
    return str(value).strip()


def _date(value: Any, source: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value).strip()).date()
    except ValueError:
        raise ArticleError(
            source, f"front matter date: not a date like 2024-05-31: {value!r}"
        ) from None


def _names(value: Any, key: str, source: str) -> tuple[str, ...] | None:
    """A name or a list of names (``cta: donate``, ``cta: [donate, share]``); ``none`` or
    an empty list is the empty tuple, a missing key ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        items = [str(part).strip() for part in value]
    else:
        raise ArticleError(source, f"front matter {key}: must be a name or a list of names")
    items = [item for item in items if item]
    if key == "cta" and items == ["none"]:
        return ()
    return tuple(items)


# A scheme, looked for as browsers do: with tabs, line breaks and other controls taken
# out first ("java\tscript:" is javascript:).
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")


def _lead_image(meta: dict[str, Any], base_url: str, source: str) -> Image | None:
    src = _string(meta, "image", source)
    if not src:
        return None
    scheme = _SCHEME.match(_IGNORED_IN_URLS.sub("", src))
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        raise ArticleError(
            source,
            f"front matter image: must be an http(s) URL or a path relative to the "
            f"article's url, not {quoted(src)}",
        )
    return Image(
        src=urljoin(base_url, src) if base_url else src,
        alt=_string(meta, "image_alt", source),
        caption=html.escape(_string(meta, "image_caption", source), quote=False),
    )
