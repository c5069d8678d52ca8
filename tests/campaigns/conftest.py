"""A project with a list of subscribers, a clock that tests move, and a memory backend
(tests/support/campaign_fixtures.py)."""

from tests.support.campaign_fixtures import backend, clock, sent, settings, weekly

__all__ = ["backend", "clock", "sent", "settings", "weekly"]
