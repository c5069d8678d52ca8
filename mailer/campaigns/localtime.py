"""Sending at a wall-clock time in each subscriber's own timezone.

A subscriber's zone is their own, else their list's, else the configured one. Each zone
reaches the time at its own instant; the ledger row of each subscriber waits until then
(``next_attempt_at``), so the campaign goes out in waves. A time that a daylight-saving
change skips in a zone (02:30 on the night clocks jump from 02:00 to 03:00) is sent at
the same distance after the jump (03:30); a time that happens twice goes at the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["instant", "wall_clock"]


def wall_clock(text: str) -> datetime:
    """The naive wall-clock time stored on a campaign ("2026-12-01T09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=None)


@lru_cache(maxsize=1024)
def instant(wall: datetime, zone: str) -> datetime:
    """When ``zone`` reaches ``wall``, in UTC."""
    # fold=0 takes the first of a repeated time and, in a gap, the offset before the jump,
    # which lands the same distance after it.
    return wall.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


def first_instant(wall: datetime, zones: Iterable[str]) -> datetime:
    return min(instant(wall, zone) for zone in set(zones))
