"""Which lines of a text copied from a web page are the article.

A browser's select-all copy (or a scraper's text) holds the whole page: skip links,
menus, sign-in prompts, share buttons, the article, related links, the footer. The
article is found by statistics, not by site: it is the densest run of prose (long lines
that read as sentences), grown over the short lines inside it (section headings, list
items) and cut where the page's furniture begins. Before the run stand the headline
(short, title-like, near the run, best followed by a byline or a date), perhaps a
standfirst, a byline and a date. Carefully written text (a title, a blank line, the
article) is simply all article.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from mailer.articles.appeal import asks_for_money
from mailer.articles.dates import find_date
from mailer.articles.model import Dropped

__all__ = [
    "Line",
    "PageText",
    "captioned",
    "is_caption",
    "is_credit",
    "is_furniture",
    "is_image_url",
    "read_page_text",
    "word_count",
]

_WORD = re.compile(r"\w+", re.UNICODE)
_DENSE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_BULLET = re.compile(r"^(?:[-*•+o▪·]|(\d{1,3})[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?…:;。！？][\"'”’»)\]]*(?:\s*\[?\d{1,3}\]?)?$")
_BYLINE = re.compile(
    r"^(?:by|von|par|por|di|door|av|af|przez|автор)\s+(?P<name>\S.{1,80})$", re.IGNORECASE
)
# Words of page furniture, in a few languages: a short line that is one of them, or
# begins with one, belongs to the page, not to the article.
_FURNITURE = (
    "skip to|skip navigation|jump to|menu|main menu|search|close|open|toggle|home|sign in"
    "|sign up|log in|login|log out|register|subscribe|subscription|my account|account"
    "|share|share this|tweet|email|e-mail|print|facebook|twitter|linkedin|whatsapp|pinterest"
    "|reddit|instagram|youtube|telegram|flipboard|copy link|advertisement|advertising|ad"
    "|sponsored|related|related articles|related stories|read more|read next|more from"
    "|more on|see also|recommended|trending|most popular|most read|popular|comments"
    "|comment|leave a comment|reply|cookie|cookies|accept|privacy|privacy policy|terms"
    "|terms of use|terms of service|contact|contact us|about us|all rights reserved"
    "|copyright|©|newsletter|newsletters|follow us|back to top|previous|next|load more"
    "|show more|you may also like|tags|topics|filed under|listen|watch|video|photos"
    "|gallery|loading|sections|edition|latest|top stories|anmelden|abonnieren|teilen"
    "|werbung|anzeige|impressum|datenschutz|weiterlesen|mehr zum thema|startseite"
    "|zurück|se connecter|connexion|partager|publicité|lire aussi|abonnez-vous|accueil"
    "|compartir|iniciar sesión|publicidad|suscríbete|leer más|inicio|condividi"
    "|pubblicità|accedi|leggi anche|compartilhar|entrar|assine|leia mais|delen|inloggen"
    "|поделиться|войти|реклама|читайте также"
)
_FURNITURE_LINE = re.compile(rf"^(?:{_FURNITURE})\b", re.IGNORECASE)
_FURNITURE_ANYWHERE = re.compile(
    r"\bsays:$|\bat \d{1,2}:\d\d\s*(?:am|pm)\b|^reply$|all rights reserved|©|\bcopyright\b"
    r"|\bcookies?\b.*\b(?:accept|consent|agree|use)\b"
    r"|\b(?:accept|use)\b.*\bcookies?\b|javascript|your browser|sign up for|subscribe to"
    r"|newsletter|click here|follow us|tous droits|alle rechte|derechos reservados",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"(?:^|[\s(\[|])(?:photo|photograph|image|picture|map|illustration|graphic|credit|"
    r"source|foto|bild|imagen|video|chart)s?(?:\s+(?:by|courtesy(?:\s+of)?|credit))?\s*[:/©]"
    r"|©|\b(?:getty images|reuters|afp|ap photo|shutterstock|istock|wikimedia|wikipedia|"
    r"epa|alamy)\b\s*\)?\s*$",
    re.IGNORECASE,
)
# What pages put after an article: a line of these ends it.
_END = re.compile(
    r"^(?:share this|share on|share the story|\d+\s+comments?|comments?(?:\s*\(\d+\))?$"
    r"|leave a (?:comment|reply)|post a comment|join the (?:conversation|discussion)"
    r"|\d+\s+responses?\s+to|related(?:\s+(?:articles?|stories|posts|content|coverage|"
    r"topics|reading|news))?:?$|you (?:may|might) also like|more from|more stories|more news"
    r"|recommended|we recommend|like this article|explore further|citation:|more information:"
    r"|read (?:more|next)|about the author|tags?:|topics:|filed under"
    r"|most (?:popular|read|viewed)|trending|what to read next|sponsored stories"
    r"|weitere artikel|mehr zum thema|das könnte sie auch|lire aussi|à lire aussi"
    r"|sur le même sujet|noticias relacionadas|te puede interesar|leia também"
    r"|articoli correlati|читайте также)",
    re.IGNORECASE,
)
_SOFT_END = re.compile(
    r"related|read|more|recommended|most|trending|what|weitere|mehr|lire|à lire|noticias"
    r"|te puede|leia|articoli|читайте",
    re.IGNORECASE,
)
# Comments begin: what follows is readers', not the article's.
_COMMENTS = re.compile(
    r"^(?:\d+\s+comments?|comments?(?:\s*\(\d+\))?$|leave a (?:comment|reply)"
    r"|post a comment|join the (?:conversation|discussion)|\d+\s+responses?\s+to"
    r"|kommentare|commentaires|comentarios)",
    re.IGNORECASE,
)
# The author's box after an article: "About Brigit Katz", "Über Moritz Bachmann".
_AUTHOR_BOX = re.compile(
    r"^(?:About|Über|À propos de|Sobre|Chi è) [A-Z][\w'.-]+(?: [A-Z][\w'.-]+){1,2}$"
)
_ASIDE = 9  # lines an aside of links inside an article may take before the text goes on
# Furniture in most of this many lines ends the article when less than this share of
# the text comes after it (a sign-up box inside an article has the article go on).
_CLUSTER = 4
# Advertising stands anywhere in an article, so seeing it again ends nothing.
_ADVERT = re.compile(
    r"^(?:advertisement|advertising|ad|sponsored|anzeige|werbung|publicité|publicidad"
    r"|pubblicità|publicidade|реклама)\b",
    re.IGNORECASE,
)
_ABOVE = 30  # lines above the article whose furniture, seen again, ends it
_AFTER_SHARE = 0.5
_FURNITURE_WEIGHT = -6.0
_END_AFTER_WORDS = 100  # prose words of the article before an end line counts as one
_IMAGE_URL = re.compile(r"^https?://\S+\.(?:jpe?g|png|gif|webp|avif|svg)(?:\?\S*)?$", re.I)
_CREDIT_WORDS = 8
_CAPTION_WEIGHT = -3.0
_PROSE_WORDS = 10  # a line with as many words that reads as a sentence is prose
_HEADLINE_WORDS = (3, 25)
_HEADLINE_REACH = 12
_APPEAL_AT = 3  # lines after the article an appeal may begin in
_APPEAL_LINES = 12  # lines before the prose a headline is looked for in


def word_count(text: str) -> int:
    """Words in a text; in scripts written without spaces (Chinese, Japanese), about
    one word for every two characters."""
    count = 0
    for token in _WORD.findall(text):
        dense = len(_DENSE.findall(token))
        count += 1 + (dense // 2 if dense > 2 else 0)
    return count


@dataclass
class Line:
    """One line of the text (or one paragraph, when the text is wrapped)."""

    text: str
    after_blank: bool  # a blank line stands before it
    words: int = 0

    def __post_init__(self) -> None:
        self.words = word_count(self.text)


@dataclass
class PageText:
    title: str = ""
    subtitle: str = ""
    byline: str = ""
    date: dt.date | None = None
    lines: list[Line] = field(default_factory=list)  # the article's, in order
    dropped: list[Dropped] = field(default_factory=list)


def read_page_text(text: str) -> PageText:
    """The article's lines in a text, with the headline, standfirst, byline and date
    found before them; what is left out is listed in ``dropped`` with why."""
    lines = _lines(text)
    page = PageText()
    if not lines:
        return page
    if _authored(lines):
        lines = _lines(text, authored=True)
        page.title = lines[0].text
        rest = lines[1:]
        if rest and (found := _BYLINE.match(rest[0].text)) and rest[0].words <= 12:
            page.byline = found.group("name").strip()
            rest = rest[1:]
        page.lines = rest
        return page
    repeated = Counter(line.text.casefold() for line in lines if line.words <= 8)
    weights = [
        _CAPTION_WEIGHT if captioned(lines, i) else _weight(line, repeated)
        for i, line in enumerate(lines)
    ]
    start, end = _densest(weights)
    end = _cut_at_end(lines, start, end, weights)
    end = _grow_end(lines, start, end, repeated)
    end = _with_appeal(lines, end)
    head = _headline(lines, start, end)
    if head is None:
        # No title-like line: the page's first line of text that could be one.
        head = next(
            (
                i
                for i in range(start)
                if 2 <= lines[i].words <= 25
                and not (is_furniture(lines[i].text) or repeated[lines[i].text.casefold()] > 1)
            ),
            None,
        )
    if head is not None:
        page.title = lines[head].text
        page.dropped.extend(
            Dropped(line.text, _why(line.text, "before the headline")) for line in lines[:head]
        )
        start = max(start, head + 1)
        start = _header(lines, head, start, end, page, repeated)
    else:
        page.dropped.extend(
            Dropped(line.text, _why(line.text, "before the article")) for line in lines[:start]
        )
    page.lines = lines[start:end]
    page.dropped.extend(
        Dropped(line.text, _why(line.text, "after the article")) for line in lines[end:]
    )
    return page


def _lines(text: str, *, authored: bool = False) -> list[Line]:
    """The text's non-blank lines; a wrapped paragraph (lines of similar length cut at
    spaces, as an editor wraps at 72 columns; in authored text, any paragraph that is
    not a list or a quote) is one line."""
    out: list[Line] = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        rows = [row.strip() for row in chunk.split("\n") if row.strip()]
        if not rows:
            continue
        if _wrapped(rows) or (authored and not _listed(rows)):
            out.append(Line(" ".join(rows), after_blank=True))
        else:
            out.extend(Line(row, after_blank=i == 0) for i, row in enumerate(rows))
    return out


def _listed(rows: list[str]) -> bool:
    return any(_BULLET.match(row) or row.startswith(">") or is_image_url(row) for row in rows)


def _wrapped(rows: list[str]) -> bool:
    if len(rows) < 2 or _listed(rows):
        return False
    body = rows[:-1]
    return all(35 <= len(row) <= 100 for row in body) and not all(
        _SENTENCE_END.search(row) for row in body
    )


def _authored(lines: list[Line]) -> bool:
    """Text written for the mailer: a title alone, then paragraphs, and nothing that
    looks like a web page around it."""
    first = lines[0]
    return (
        first.words > 0
        and len(first.text) <= 90
        and not _SENTENCE_END.search(first.text)
        and not is_furniture(first.text)
        and len(lines) > 1
        and lines[1].after_blank
        and not any(is_furniture(line.text) for line in lines)
    )


def is_furniture(text: str) -> bool:
    """Whether a line is one of a page's own: a menu entry, a button, a notice."""
    words = word_count(text)
    bare = _BULLET.sub("", text).strip()
    if words == 0:
        return True
    if words <= 6 and _FURNITURE_LINE.match(bare):
        return True
    return words <= 40 and bool(_FURNITURE_ANYWHERE.search(text))


def is_caption(text: str) -> bool:
    """A photo's caption or credit ("... Photo: NATO", "Map: Wikipedia")."""
    return word_count(text) <= 60 and bool(_CREDIT.search(text))


def is_credit(text: str) -> bool:
    """A photo credit standing alone ("Photo: Hau Dinh, AP")."""
    return word_count(text) <= _CREDIT_WORDS and is_caption(text)


def captioned(lines: list[Line], at: int) -> bool:
    """Whether a line is a photo's caption: a credit follows it."""
    return (
        at + 1 < len(lines)
        and not is_credit(lines[at].text)
        and is_credit(lines[at + 1].text)
        and lines[at].words <= 80
    )


def is_image_url(text: str) -> bool:
    return bool(_IMAGE_URL.match(text.strip()))


def _prose(line: Line) -> bool:
    return (
        line.words >= _PROSE_WORDS and bool(re.search(r"[.!?…。！？]", line.text))
    ) or line.words >= 20


def _weight(line: Line, repeated: Counter[str]) -> float:
    if is_furniture(line.text) or repeated[line.text.casefold()] > 1:
        return _FURNITURE_WEIGHT
    if _prose(line) and not is_caption(line.text):
        return float(line.words)
    return -(1.5 + 0.3 * line.words)


def _densest(weights: list[float]) -> tuple[int, int]:
    """The run of lines with the greatest sum of weights (Kadane's algorithm)."""
    best, best_at = float("-inf"), (0, 0)
    total, start = 0.0, 0
    for i, weight in enumerate(weights):
        if total <= 0:
            total, start = 0.0, i
        total += weight
        if total > best:
            best, best_at = total, (start, i + 1)
    return best_at


def _header(
    lines: list[Line], head: int, start: int, end: int, page: PageText, repeated: Counter[str]
) -> int:
    """Where the text begins after the headline: the standfirst, byline, date and the
    furniture between them (share buttons, captions) are read or dropped on the way."""
    j = head + 1
    limit = min(end, max(start, head + 1) + 12)
    while j < limit:
        line = lines[j]
        text = line.text
        if (found := _BYLINE.match(text)) and line.words <= 15:
            page.byline = page.byline or _name(found.group("name"))
            page.date = page.date or find_date(text)
        elif line.words <= 15 and (date := find_date(text)):
            page.date = page.date or date
        elif (
            not page.byline
            and _looks_like_name(text)
            and j + 1 < end
            and find_date(lines[j + 1].text)
        ):
            page.byline = text
        elif (
            is_furniture(text)
            or repeated[text.casefold()] > 1
            or is_caption(text)
            or (line.words <= 5 and j < start)
        ):
            page.dropped.append(Dropped(text, _why(text, "between headline and text")))
        elif not page.subtitle and 6 <= line.words <= 70 and _meta_follows(lines, j + 1, end):
            page.subtitle = text
        elif j >= start:
            break
        else:
            page.dropped.append(Dropped(text, _why(text, "between headline and text")))
        j += 1
    return j


def _meta_follows(lines: list[Line], at: int, end: int) -> bool:
    """Whether a byline or a date (or share buttons) come next, before any prose."""
    for line in lines[at : min(end, at + 6)]:
        if _BYLINE.match(line.text) or (line.words <= 15 and find_date(line.text)):
            return True
        if _prose(line):
            return False
    return False


def _cut_at_end(lines: list[Line], start: int, end: int, weights: list[float]) -> int:
    """The densest run may reach over the comments or related stories below the
    article: it ends at the first line that says they begin (when no more article
    follows it at once), or at a long stretch of page furniture."""
    words = 0
    above = {line.text.casefold() for line in lines[max(0, start - _ABOVE) : start]}
    for i in range(start, end):
        line = lines[i]
        if words >= _END_AFTER_WORDS:
            bare = _BULLET.sub("", line.text)
            if line.words <= 10 and (_COMMENTS.match(bare) or _AUTHOR_BOX.match(bare)):
                return i
            if (
                line.words <= 10
                and _END.match(bare)
                and not any(
                    _prose(n) and not _BULLET.match(n.text) for n in lines[i + 1 : i + _ASIDE]
                )
            ):
                return i
            window = weights[i : i + _CLUSTER]
            if (
                weights[i] == _FURNITURE_WEIGHT
                and sum(w == _FURNITURE_WEIGHT for w in window) >= _CLUSTER - 1
                and sum(weights[i + _CLUSTER : end]) < _AFTER_SHARE * sum(weights[start:i])
            ):
                return i  # a cluster of furniture with little text after it: the page's
            if _another_article(lines, i) or (
                is_furniture(line.text)
                and line.text.casefold() in above
                and not _ADVERT.match(line.text)
                and sum(weights[i + 1 : end]) < _AFTER_SHARE * sum(weights[start:i])
            ):
                return i  # ... or the share buttons that stood above the article again
        if _prose(line):
            words += line.words
    return end


def _another_article(lines: list[Line], at: int) -> bool:
    """Whether another article's head begins at a line: a title-like line followed by
    its byline or dated line (a teaser of the site's next story)."""
    line = lines[at]
    if _BULLET.match(line.text) or not 3 <= line.words <= 20 or not _title_cased(line.text):
        return False
    if line.text.endswith((".", ",", ";", ":")):
        return False
    for n in lines[at + 1 : at + 3]:
        if _BULLET.match(n.text) or n.words > 8:
            return False
        if find_date(n.text) or _BYLINE.match(n.text):
            return True
    return False


def _grow_end(lines: list[Line], start: int, end: int, repeated: Counter[str]) -> int:
    """The densest run stops at its last long line; short sentences after it (a closing
    remark, a note) are still the article's until furniture begins."""
    while end < len(lines):
        line = lines[end]
        if (
            is_furniture(line.text)
            or _END.match(line.text)
            or repeated[line.text.casefold()] > 1
            or line.words < 4
            or not _SENTENCE_END.search(line.text)
        ):
            break
        end += 1
    return end


def _with_appeal(lines: list[Line], end: int) -> int:
    """The article's own appeal for donations stands right after it, in short lines
    the densest run leaves out: it is the article's (its call-to-action)."""
    if not any(
        asks_for_money(line.text) for line in lines[max(0, end - _APPEAL_AT) : end + _APPEAL_AT]
    ):
        return end
    stop = end
    while stop < min(len(lines), end + _APPEAL_LINES):
        text = lines[stop].text
        if (is_furniture(text) and not asks_for_money(text)) or _END.match(text):
            break
        if not (asks_for_money(text) or _BULLET.match(text) or _SENTENCE_END.search(text)):
            break  # a heading of the page's own ("About us")
        stop += 1
    return stop


def _headline(lines: list[Line], start: int, end: int) -> int | None:
    """The line at the start of the prose most like a headline: short, no closing full
    stop, title-like, near the prose, best followed by a byline or a date."""
    best, best_score = None, 0.0
    for i in range(min(end, start + 3) - 1, max(-1, start - 1 - _HEADLINE_REACH), -1):
        line = lines[i]
        low, high = _HEADLINE_WORDS
        text = line.text
        if not low <= line.words <= high or is_furniture(text) or is_caption(text):
            continue
        if _BULLET.match(text) or _BYLINE.match(text) or find_date(text):
            continue
        if text.endswith((".", ",", ";", ":")):
            continue
        score = 3.0 - 0.15 * abs(start - i)
        if _title_cased(text):
            score += 1.0
        if any(_BYLINE.match(n.text) or find_date(n.text) for n in lines[i + 1 : i + 4]):
            score += 2.0
        if score > best_score:
            best, best_score = i, score
    return best


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() and w.isalpha() for w in words)


def _title_cased(text: str) -> bool:
    words = [w for w in text.split() if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) >= 0.6


def _name(byline: str) -> str:
    """The author of a byline, without the date or role that follows it."""
    return re.split(r"\s+[|•·]\s+|\s+-\s+|,\s+(?=\w+\s+\d)|\s+(?:on|am|le|el)\s+\d", byline)[
        0
    ].strip()


def _why(text: str, where: str) -> str:
    if is_furniture(text):
        return f"page furniture {where}"
    if is_caption(text):
        return "a photo caption or credit"
    return f"page text {where}"
