"""The admin web app under ``/admin``: pages rendered on the server with Jinja2 (the
templates in ``templates/admin``, the publisher's own first), plain forms, and a little
JavaScript of our own for live updates. Every page needs a sign-in; every change is a
POST with the sign-in's CSRF token, goes through the same actions as the CLI and the
API, and is written to the audit log."""

from mailer.web.admin.routes import install, router

__all__ = ["install", "router"]
