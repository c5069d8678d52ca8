"""mailer: newsletters for publishers.

Articles become email-safe HTML, are sent on a schedule to subscriber lists through
SendGrid or any SMTP server, and what happened to each message comes back to the
publisher. The package is laid out by the stages of the data's way:

- ``mailer.settings``: settings from ``mailer.toml`` and ``MAILER_*`` variables.
- ``mailer.storage``: the database (SQLAlchemy models, Alembic migrations).
- ``mailer.subscribers``: lists, subscribers, suppressions, CSV import and export.
- ``mailer.cli``: the ``mailer`` command.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
