"""Timezones by their IANA names, checked once for every place that takes one."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailer.exceptions import InputError, quoted

__all__ = ["known_zone", "zone"]


def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; InputError (a ValueError) names it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name too long to be a file name ("File name too long"), for one.
        raise InputError(
            f"unknown timezone {quoted(name)} (use an IANA name like Europe/Berlin)"
        ) from None


@lru_cache(maxsize=1024)
def known_zone(name: str) -> bool:
    try:
        zone(name)
    except InputError:
        return False
    return True
