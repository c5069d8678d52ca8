"""Reading the times people type: ``2026-12-01T09:00`` in a timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from mailer.exceptions import InputError, quoted

__all__ = ["parse_wall_clock", "parse_when"]


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """An ISO date and time; without an offset it is wall-clock time in ``tz``. A time
    that does not exist there (skipped by a daylight-saving change) is refused, and one
    that happens twice means the first."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"cannot read the time {quoted(text)}: write it like 2026-12-01T09:00"
        ) from None
    if parsed.tzinfo is not None:
        return parsed
    local = parsed.replace(tzinfo=tz, fold=0)
    # A wall-clock time in a DST gap does not survive a round trip through UTC.
    round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if round_trip.replace(tzinfo=None) != parsed:
        raise InputError(f"{text} does not exist in {tz.key}: the clocks skip it (daylight saving)")
    return local


def parse_wall_clock(text: str) -> datetime:
    """A wall-clock time with no zone ("2026-12-01T09:00"), for local-time sends."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"cannot read the time {quoted(text)}: write it like 2026-12-01T09:00"
        ) from None
    if parsed.tzinfo is not None:
        raise InputError("a local-time send takes a wall-clock time without an offset")
    return parsed
