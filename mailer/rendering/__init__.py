"""Rendering: articles to email-safe HTML and plain text, with calls-to-action.

A mailing is rendered once per campaign into a :class:`RenderedEmail` whose subject,
HTML and text hold per-recipient tokens; :meth:`RenderedEmail.substitutions` gives one
recipient's values and :class:`~mailer.rendering.substitution.Filler` puts them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailer.lazy import lazy_names

if TYPE_CHECKING:
    from mailer.rendering.render import (
        CLIP_BYTES,
        LIMIT_BYTES,
        WARN_BYTES,
        render_confirmation,
        render_email,
    )
    from mailer.rendering.rendered import RenderedEmail, RenderReport
    from mailer.rendering.substitution import Filler, token

__getattr__ = lazy_names(
    __name__,
    {
        "CLIP_BYTES": "mailer.rendering.render",
        "LIMIT_BYTES": "mailer.rendering.render",
        "WARN_BYTES": "mailer.rendering.render",
        "render_confirmation": "mailer.rendering.render",
        "render_email": "mailer.rendering.render",
        "RenderedEmail": "mailer.rendering.rendered",
        "RenderReport": "mailer.rendering.rendered",
        "Filler": "mailer.rendering.substitution",
        "token": "mailer.rendering.substitution",
    },
)

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
