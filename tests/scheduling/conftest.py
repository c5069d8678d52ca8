"""The campaigns tests' project, for the daemon that sends its campaigns
(tests/support/campaign_fixtures.py)."""

from tests.support.campaign_fixtures import backend, clock, sent, settings, weekly

__all__ = ["backend", "clock", "sent", "settings", "weekly"]
