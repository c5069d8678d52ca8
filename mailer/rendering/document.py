"""The last steps of the HTML part: make it email-safe, then inline its CSS (premailer).

Before inlining, one pass over the document resolves relative URLs, adds UTM parameters
to links, gives every image an ``alt``, removes what mail clients refuse or that breaks
the layout when blocked (scripts, forms, frames, external stylesheets), and notes what
the report needs. Premailer gets no ``base_url``: URLs are already absolute, and it must
not touch the per-recipient tokens in them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from premailer import Premailer

from mailer.rendering.substitution import TOKEN_PATTERN
from mailer.rendering.utm import Utm

__all__ = ["Findings", "finish_html"]

_REMOVED = ("script", "form", "iframe", "frame", "frameset", "object", "embed", "applet", "base")
_WEB_FONT = re.compile(r"@import|@font-face", re.IGNORECASE)


@dataclass
class Findings:
    """What the pass saw: the report's raw material."""

    links: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def finish_html(html: str, *, base_url: str, utm: Utm) -> tuple[str, Findings]:
    """The template's output, email-safe and with its CSS inlined."""
    findings = Findings()
    parser = lxml.etree.HTMLParser(remove_blank_text=False)
    tree = lxml.etree.fromstring(html, parser).getroottree()
    root = tree.getroot()
    for element in list(root.iter(*_REMOVED)):
        findings.warnings.append(f"removed a <{element.tag}> element: mail clients refuse it")
        _drop(element)
    for link in list(root.iter("link")):
        if "stylesheet" in (link.get("rel") or "").lower():
            findings.warnings.append(
                f"removed the external stylesheet {link.get('href')}: mail clients do not load it"
            )
        _drop(link)
    for style in root.iter("style"):
        if style.text and _WEB_FONT.search(style.text):
            findings.warnings.append(
                "a <style> imports a web font or stylesheet: keep a fallback font in the stack"
            )
    for anchor in root.iter("a"):
        _link(anchor, base_url, utm, findings)
    for image in root.iter("img"):
        _image(image, base_url, findings)
    inlined = Premailer(
        root,  # an element: premailer then works on its tree and returns it
        base_url=None,
        disable_link_rewrites=True,
        allow_network=False,
        remove_classes=False,
        strip_important=False,
        keep_style_tags=False,
        disable_validation=True,
        # Keep the pixel widths the templates give: Outlook sizes images and tables by
        # these attributes, and premailer would turn "width: 100%" into width="100%".
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    ).transform()
    text = lxml.etree.tostring(inlined, method="html", encoding="unicode", pretty_print=False)
    return text, findings


def _drop(element: lxml.etree._Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)  # with its content: nothing in these is text to keep


def _absolute(url: str, base_url: str, findings: Findings, what: str) -> str:
    if not url or url.startswith(("#", "mailto:", "tel:", "cid:")) or TOKEN_PATTERN.search(url):
        return url
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        return url
    absolute = urljoin(base_url, url)
    findings.warnings.append(f"relative {what} {url} resolved to {absolute}")
    return absolute


def _link(anchor: lxml.etree._Element, base_url: str, utm: Utm, findings: Findings) -> None:
    href = (anchor.get("href") or "").strip()
    content = anchor.attrib.pop("data-utm-content", "")
    untracked = anchor.attrib.pop("data-utm", "") == "off"
    if not href:
        return
    if href.lower().startswith(("javascript:", "data:", "vbscript:")):
        findings.warnings.append(f"removed a {href.split(':', 1)[0]}: link")
        del anchor.attrib["href"]
        return
    href = _absolute(href, base_url, findings, "link")
    if not untracked:
        href = utm.tag(href, content)
    anchor.set("href", href)
    if href.startswith(("http://", "https://")) and href not in findings.links:
        findings.links.append(href)


def _image(image: lxml.etree._Element, base_url: str, findings: Findings) -> None:
    src = (image.get("src") or "").strip()
    if src.lower().startswith("data:"):
        findings.warnings.append("removed an image embedded as data: (too large for email)")
        _drop(image)
        return
    image.set("src", _absolute(src, base_url, findings, "image"))
    if not (image.get("alt") or "").strip() and image.get("role") != "presentation":
        findings.images_without_alt.append(src)
    if image.get("alt") is None:
        image.set("alt", "")  # an empty alt at least keeps clients from showing the file name
    if not image.get("width"):
        findings.warnings.append(f"image {src} has no width attribute: Outlook shows it full size")
