"""mailer: newsletters for publishers.

Articles become email-safe HTML, are sent on a schedule to subscriber lists through
SendGrid or any SMTP server, and what happened to each message comes back to the
publisher. The package is laid out by the stages of the data's way, in layers from the ground
up (the README's "How it is built" names them; ``tests/test_layers.py`` holds them):

- ``exceptions``, ``addresses``, ``timezones``, ``tokens``, ``lazy``: the ground.
- ``settings``: ``mailer.toml`` and ``MAILER_*`` variables, with their parsers.
- ``storage``: the database (SQLAlchemy models, Alembic migrations).
- ``articles``: Markdown, web pages, plain text and feeds into one Article.
- ``subscribers``: lists, subscribers, suppressions, CSV import and export.
- ``rendering``: email-safe HTML and text from an article and the templates.
- ``delivery``: transport only: messages, DKIM, the backends.
- ``campaigns``: a campaign's life and its send ledger; ``events``: what providers tell us.
- ``scheduling``: timers, digests and the ``mailer run`` daemon.
- ``web``: the FastAPI app; ``checks``: ``mailer check``; ``cli``: the ``mailer`` command.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
