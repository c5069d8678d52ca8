"""A subject tried on one reader before a campaign is made of it: the same compiling
(:class:`~mailer.rendering.expressions.ExpressionSet`) and filling
(:class:`~mailer.rendering.rendered.RenderedEmail`) as every message's subject."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mailer.exceptions import RenderError
from mailer.rendering.expressions import ExpressionSet
from mailer.rendering.rendered import RenderedEmail, RenderReport

__all__ = ["SubjectTry", "try_subject"]

_EXPRESSION = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
_COLUMN = re.compile(r"at column (\d+)")


@dataclass(frozen=True)
class SubjectTry:
    """What the reader's subject would be, or why there is none; ``column`` (from 1)
    is where the problem starts in the subject as typed."""

    text: str = ""
    problem: str = ""
    column: int | None = None


def try_subject(subject: str, subscriber: Any) -> SubjectTry:
    """``subject`` as ``subscriber`` (an object or mapping with the subscriber's fields)
    would get it."""
    expressions = ExpressionSet()
    try:
        tokens = expressions.in_text(subject, "subject")
    except RenderError as err:
        return SubjectTry(problem=str(err), column=_where(subject, str(err)))
    rendered = RenderedEmail(
        subject=tokens,
        html="",
        text="",
        report=RenderReport(size_bytes=0, text_bytes=0, limit_bytes=0),
        expressions=tuple(expressions.sources),
    )
    text, _, _ = rendered.fill({"subscriber": subscriber})
    return SubjectTry(text=" ".join(text.split()))


def _where(subject: str, message: str) -> int | None:
    """The column the error names, else that of the first expression that does not
    compile or fails on the sample reader."""
    said = _COLUMN.search(message)
    if said:
        return int(said.group(1))
    for found in _EXPRESSION.finditer(subject):
        try:
            ExpressionSet().add(found.group(1), "subject")
        except RenderError:
            return found.start() + 1
    return None
