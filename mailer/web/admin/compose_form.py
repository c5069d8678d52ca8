"""The composer's form as values: where the article comes from, the subject, lists,
segment and calls-to-action; and the article read from it through mailer.articles, as
the CLI and the API read theirs. The same form edits a draft: filled from the campaign,
with one more way in, the article as it is saved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Literal, cast

from starlette.datastructures import FormData, UploadFile

from mailer.articles import Article, load_article, load_text
from mailer.exceptions import ArticleError, InputError
from mailer.storage.models import Campaign

__all__ = [
    "EDIT_SOURCES",
    "FORMATS",
    "SOURCES",
    "Draft",
    "draft_of",
    "input_of",
    "read_draft",
    "read_draft_article",
]

Source = Literal["paste", "markdown", "upload", "url", "keep"]
Format = Literal["markdown", "html", "text"]
#: The article's ways in, as the form offers them.
SOURCES: tuple[tuple[Source, str], ...] = (
    ("markdown", "Write in Markdown"),
    ("paste", "Paste text or HTML"),
    ("upload", "Upload a file"),
    ("url", "From a web address"),
)
#: An edit's ways in: the saved article too, rendered again as it is.
EDIT_SOURCES: tuple[tuple[Source, str], ...] = (("keep", "Keep the saved article"), *SOURCES)
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


def draft_of(campaign: Campaign) -> Draft:
    """A draft's form as it was composed: its article's input (the Markdown, the pasted
    text, the web address) where the admin composed it, else the saved article."""
    stored: Mapping[str, Any] = campaign.article
    given = stored.get("input") or {}
    source = given.get("source")
    subject = stored.get("given", {"subject": campaign.subject})["subject"] or ""
    return Draft(
        source=source if source in dict(SOURCES) and source != "upload" else "keep",
        markdown=str(given.get("markdown", "")),
        text=str(given.get("text", "")),
        format=str(given.get("format", "")),
        url=str(given.get("url", "")),
        subject=subject,
        lists=[m.name for m in campaign.lists],
        segment=campaign.segment,
        ctas=list(campaign.ctas),
    )


def input_of(draft: Draft) -> dict[str, str]:
    """What a campaign keeps of its article's input, for an edit to show again; an
    uploaded file is kept as the pasted text it is shown as."""
    kept = draft.kept()
    fields = {"markdown": ("markdown",), "paste": ("text", "format"), "url": ("url",)}
    return {"source": kept.source, **{k: getattr(kept, k) for k in fields.get(kept.source, ())}}


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
        source=source if source in dict(EDIT_SOURCES) else "markdown",
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


def read_draft_article(draft: Draft, *, public_only: bool = True) -> Article | None:
    """The article the draft's source gives (None: the saved one, kept); ArticleError or
    InputError says why not. A web address must be public unless ``public_only`` is
    false (the setting ``fetch_private_addresses``): the server fetches it, not the
    editor's browser."""
    if draft.source == "keep":
        return None
    if draft.source == "url":
        if not draft.url.startswith(("https://", "http://")):
            # load_article reads files too: the server's own files are not articles.
            raise InputError("the web address must start with https:// or http://")
        return load_article(draft.url, public_only=public_only)
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
