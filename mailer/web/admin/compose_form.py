"""The composer's form as values: where the article comes from, the subject, lists,
segment and calls-to-action; and the article read from it through mailer.articles, as
the CLI and the API read theirs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Literal, cast

from starlette.datastructures import FormData, UploadFile

from mailer.articles import Article, load_article, load_text
from mailer.exceptions import ArticleError, InputError

__all__ = ["FORMATS", "SOURCES", "Draft", "read_draft", "read_draft_article"]

Source = Literal["paste", "markdown", "upload", "url"]
Format = Literal["markdown", "html", "text"]
#: The article's ways in, as the form offers them.
SOURCES: tuple[tuple[Source, str], ...] = (
    ("markdown", "Write in Markdown"),
    ("paste", "Paste text or HTML"),
    ("upload", "Upload a file"),
    ("url", "From a web address"),
)
#: What pasted text is ("" : told from the text itself).
FORMATS: tuple[tuple[str, str], ...] = (
    ("", "Tell from the text"),
    ("markdown", "Markdown"),
    ("html", "HTML page"),
    ("text", "Plain text"),
)


@dataclass(frozen=True)
class Draft:
    """What the composer's form holds, as typed."""

    source: Source = "markdown"
    markdown: str = ""
    text: str = ""
    format: str = ""
    url: str = ""
    # An uploaded file: its name and bytes (shown again as pasted text, since a file
    # field cannot be filled in again).
    filename: str = ""
    upload: bytes = b""
    subject: str = ""
    lists: list[str] = field(default_factory=list)
    segment: str = ""
    ctas: list[str] = field(default_factory=list)

    @property
    def chosen_ctas(self) -> list[str] | None:
        """The calls-to-action asked for; None (none ticked): the article's own, the
        list's default, else the site's."""
        return list(self.ctas) if self.ctas else None

    def kept(self) -> Draft:
        """The draft to show again: an uploaded file becomes pasted text."""
        if self.source != "upload" or not self.upload:
            return self
        try:
            text = self.upload.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self
        kind = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
        suffix = PurePath(self.filename).suffix.lower()
        return replace(self, source="paste", text=text, format=kind.get(suffix, ""), upload=b"")


def _texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def _text(form: FormData, name: str) -> str:
    """A text field as typed: a textarea keeps its spaces and line breaks."""
    value = form.get(name, "")
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


async def read_draft(form: FormData) -> Draft:
    source = cast(Source, _text(form, "source").strip())
    upload = form.get("file")
    data, filename = b"", ""
    if isinstance(upload, UploadFile) and upload.filename:
        data, filename = await upload.read(), PurePath(upload.filename).name
    fmt = _text(form, "format").strip()
    return Draft(
        source=source if source in dict(SOURCES) else "markdown",
        markdown=_text(form, "markdown"),
        text=_text(form, "text"),
        format=fmt if fmt in dict(FORMATS) else "",
        url=_text(form, "url").strip(),
        filename=filename,
        upload=data,
        subject=" ".join(_text(form, "subject").split()),
        lists=list(dict.fromkeys(_texts(form, "list"))),
        segment=_text(form, "segment").strip(),
        ctas=list(dict.fromkeys(_texts(form, "cta"))),
    )


def read_draft_article(draft: Draft) -> Article:
    """The article the draft's source gives; ArticleError or InputError says why not."""
    if draft.source == "url":
        if not draft.url.startswith(("https://", "http://")):
            # load_article reads files too: the server's own files are not articles.
            raise InputError("the web address must start with https:// or http://")
        return load_article(draft.url)
    if draft.source == "upload":
        if not draft.upload:
            raise InputError("choose a file to upload (an HTML page, Markdown or text)")
        return load_text(draft.upload, name=draft.filename or "the uploaded file")
    if draft.source == "paste":
        kind = cast(Format, draft.format) if draft.format else None
        return load_text(draft.text, name="the pasted text", kind=kind)
    if not draft.markdown.strip():
        raise ArticleError("the Markdown editor", "is empty: write the article first")
    return load_text(draft.markdown, name="the Markdown editor", kind="markdown")
