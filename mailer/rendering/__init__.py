"""Rendering: articles to email-safe HTML and plain text, with calls-to-action.

A mailing is rendered once per campaign into a :class:`RenderedEmail` whose subject,
HTML and text hold per-recipient tokens; :meth:`RenderedEmail.substitutions` gives one
recipient's values and :class:`~mailer.rendering.substitution.Filler` puts them in.
"""

from __future__ import annotations

from mailer.rendering.render import (
    CLIP_BYTES,
    LIMIT_BYTES,
    WARN_BYTES,
    render_confirmation,
    render_email,
)
from mailer.rendering.rendered import RenderedEmail, RenderReport
from mailer.rendering.substitution import Filler, token

__all__ = [
    "CLIP_BYTES",
    "LIMIT_BYTES",
    "WARN_BYTES",
    "Filler",
    "RenderReport",
    "RenderedEmail",
    "render_confirmation",
    "render_email",
    "token",
]
